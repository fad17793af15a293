// The conformance check's own test: responses the service really sends pass it, and each kind
// of deliberately wrong response fails it (a wrong type, a missing member, an extra member, a
// status or Content-Type the document does not list, a missing CORS header, a bad event).
// Usage: node self_test.mjs api/openapi.yaml
import assert from 'node:assert/strict';
import { check, loadDocument } from './conformance.mjs';

const api = loadDocument(process.argv[2]);
const cors = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET,POST,PATCH,DELETE,OPTIONS',
  'access-control-allow-headers': 'Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token',
};
const json = { ...cors, 'content-type': 'application/json', 'x-request-id': '01a22347-5329-71df-b6d0-43d6a6d6c59f' };
const ticket = { 'Theatre-Seat': '1-A9', Movie: 'Dune', Price: 12.99, PreviousPrice: 15.99,
  LastPriceChangeTimestamp: '2026-11-28T16:00:00.123Z', DiscountPercentage: 18.76, IsDiscounted: true };
const initiated = { eventType: 'PriceChangeInitiated', eventId: '0b6b3e1e-8f0e-4d0a-9d3c-4f1e2a3b4c5d',
  theatreSeat: '1-A9', movie: 'Dune', oldPrice: 15.99, newPrice: 12.99, timestamp: '2026-11-28T16:00:00.123Z',
  updatedItem: ticket };
const ex = (method, target, status, body, headers = json) =>
  ({ method, target, status, headers, body: typeof body === 'string' ? body : JSON.stringify(body) });

const good = [
  ex('GET', '/ticket?Theatre-Seat=1-A9', 200, ticket),
  ex('GET', '/tickets?limit=1', 200, { tickets: [ticket], nextCursor: 'c1312d4139' }),
  ex('POST', '/ticket', 201, { message: 'Ticket created successfully', 'Theatre-Seat': '1-A9', Movie: 'Dune' }),
  ex('POST', '/ticket', 409, { error: 'Ticket already exists' }),
  ex('GET', '/events?after=0', 200, { events: [{ seq: 1, status: 'dead', event: initiated, reason: 'why' }], nextAfter: 1 }),
  ex('OPTIONS', '/ticket', 204, ''),
  ex('PUT', '/ticket', 405, { error: 'Method Not Allowed' }, { ...json, allow: 'GET,POST,PATCH,DELETE,OPTIONS' }),
  ex('GET', '/nowhere', 404, { error: 'Not Found' }),
  ex('GET', '/docs', 200, '<!doctype html>', { ...cors, 'content-type': 'text/html; charset=utf-8', 'x-request-id': 'r-1' }),
  ex('GET', '/assets/console.js', 200, '"use strict";', { ...cors, 'content-type': 'text/javascript; charset=utf-8', 'x-request-id': 'r-2' }),
  ex('GET', '/assets/missing.js', 404, { error: 'Not Found' }),
  ex('GET', '/ticket?Theatre-Seat=1-A9', 503, { error: 'Failed to retrieve ticket' }, { ...json, 'retry-after': '1' }),
];
for (const e of good) assert.deepEqual(check(api, e), [], `${e.method} ${e.target} ${e.status} should pass`);

const { 'access-control-allow-origin': _, ...noOrigin } = json;
const bad = {
  'a price as a string': ex('GET', '/ticket?Theatre-Seat=1-A9', 200, { ...ticket, Price: '12.99' }),
  'a negative price': ex('GET', '/ticket?Theatre-Seat=1-A9', 200, { ...ticket, Price: -1 }),
  'a ticket without its seat': ex('GET', '/ticket?Theatre-Seat=1-A9', 200, { Movie: 'Dune' }),
  'a 201 without its message': ex('POST', '/ticket', 201, { 'Theatre-Seat': '1-A9', Movie: 'Dune' }),
  'an extra member in a reply': ex('POST', '/ticket', 201,
    { message: 'Ticket created successfully', 'Theatre-Seat': '1-A9', Movie: 'Dune', stack: 'at main()' }),
  'an unlisted status': ex('GET', '/movies', 418, { error: "I'm a teapot" }),
  'a 409 with another message': ex('POST', '/ticket', 409, { error: 'conflict' }),
  'an error that is not {"error"}': ex('GET', '/ticket?Theatre-Seat=x', 404, 'Ticket not found'),
  'a missing CORS header': ex('GET', '/movies', 200, { movies: [] }, noOrigin),
  'HTML where JSON is described': ex('GET', '/movies', 200, '<p>movies</p>', { ...cors, 'content-type': 'text/html' }),
  'a 503 without Retry-After': ex('GET', '/ticket?Theatre-Seat=1-A9', 503, { error: 'Failed to retrieve ticket' }),
  'a 500 with internal text': ex('GET', '/ticket?Theatre-Seat=1-A9', 500, { error: 'SQLITE_BUSY: database is locked' }),
  'a 405 without Allow': ex('PUT', '/ticket', 405, { error: 'Method Not Allowed' }),
  'a 200 for an unlisted method': ex('PUT', '/ticket', 200, ticket),
  'a 200 for an unlisted path': ex('GET', '/secret', 200, { ok: true }),
  'a 200 for an asset not listed': ex('GET', '/assets/secret.js', 200, 'x', { ...cors, 'content-type': 'text/javascript' }),
  'an event of an unknown type': ex('GET', '/events', 200,
    { events: [{ seq: 1, status: 'delivered', event: { ...initiated, eventType: 'PriceChanged' } }], nextAfter: 1 }),
  'an event time without Z': ex('GET', '/events', 200,
    { events: [{ seq: 1, status: 'delivered', event: { ...initiated, timestamp: '2026-11-28T16:00:00+01:00' } }], nextAfter: 1 }),
  'an unknown event status': ex('GET', '/events', 200,
    { events: [{ seq: 1, status: 'lost', event: initiated }], nextAfter: 1 }),
  'a body on a 204': ex('OPTIONS', '/ticket', 204, '{}'),
  'nextCursor as a number': ex('GET', '/tickets?limit=1', 200, { tickets: [], nextCursor: 5 }),
};
for (const [what, e] of Object.entries(bad)) {
  const problems = check(api, e);
  assert.ok(problems.length > 0, `${what} should fail the check`);
  console.log(`rejected, as it should be: ${what}: ${problems[0].slice(0, 140)}`);
}
console.log(`${good.length} described responses passed, ${Object.keys(bad).length} wrong ones failed`);
