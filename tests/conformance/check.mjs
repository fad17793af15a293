// The conformance test: every response the end-to-end tests recorded (TB_E2E_RECORD, one JSON
// line per exchange) must be one the OpenAPI document describes. Fails on the first file with
// no exchanges too: a check of nothing proves nothing.
// Usage: node check.mjs api/openapi.yaml RECORD.jsonl
import { existsSync, readFileSync } from 'node:fs';
import { check, loadDocument } from './conformance.mjs';

const [docFile, recordFile] = process.argv.slice(2);
const api = loadDocument(docFile);
if (!existsSync(recordFile)) {
  console.error(`no exchanges recorded in ${recordFile}: run the end-to-end tests first (ctest runs them before this test)`);
  process.exit(1);
}
const lines = readFileSync(recordFile, 'utf8').split('\n').filter((l) => l.length > 0);
const failures = [];
const seen = new Map();  // "METHOD /path STATUS" -> count
for (const [i, line] of lines.entries()) {
  let exchange;
  try {
    exchange = JSON.parse(line);
  } catch (e) {
    failures.push(`line ${i + 1}: not JSON (${e.message})`);
    continue;
  }
  const key = `${exchange.method} ${exchange.target.split('?')[0]} ${exchange.status}`;
  seen.set(key, (seen.get(key) ?? 0) + 1);
  failures.push(...check(api, exchange));
}
// One line per kind of problem (the same problem with another body is the same kind), with
// the first body that showed it.
const kinds = new Map();
for (const f of failures) {
  const kind = f.split('; body ')[0];
  if (!kinds.has(kind)) kinds.set(kind, { example: f, count: 0 });
  kinds.get(kind).count++;
}
const distinct = [...kinds.values()].map(({ example, count }) => (count > 1 ? `${example} (${count} times)` : example));
for (const [key, n] of [...seen].sort()) console.log(`${String(n).padStart(6)}  ${key}`);
console.log(`${lines.length} responses checked against ${docFile}`);
if (lines.length === 0) {
  console.error('no exchanges recorded');
  process.exit(1);
}
if (distinct.length > 0) {
  console.error(`${distinct.length} kinds of response the document does not describe:`);
  for (const f of distinct.slice(0, 50)) console.error('  ' + f);
  process.exit(1);
}
