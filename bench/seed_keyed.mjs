// Runs a seeding script (the shared seed.mjs: node seed_keyed.mjs SEED_SCRIPT URL COUNT) with an
// X-Api-Key header (TB_API_KEY) on each of its requests, for a server with API keys configured.
import { pathToFileURL } from 'node:url';

const [script, ...args] = process.argv.slice(2);
const key = process.env.TB_API_KEY ?? '';
const plainFetch = globalThis.fetch;
globalThis.fetch = (url, init = {}) =>
  plainFetch(url, key ? { ...init, headers: { ...(init.headers ?? {}), 'X-Api-Key': key } } : init);
process.argv = [process.argv[0], script, ...args];
await import(pathToFileURL(script).href);
