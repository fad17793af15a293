// The console and the API reference in a real browser: Debian's Chromium, headless, driven by
// playwright-core, against a real `ticket-booking serve` on loopback holding 10,000 tickets.
// It measures the console's first useful render (and fails above 1 s), pages through the
// listing, creates a ticket, changes its price, sees the discount badge and both events, sees
// the service's own errors (409, 400, 404, 401), and checks that /docs lists every endpoint of
// api/openapi.yaml. No request may leave loopback; screenshots go to OUT_DIR.
// Usage: node console_test.mjs BINARY api/openapi.yaml OUT_DIR
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(new URL('../tools/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const yaml = require('js-yaml');

const [binary, documentFile, outDir] = process.argv.slice(2);
const firstRenderLimitMs = 1000;
const ticketCount = 10_000;
const scratch = mkdtempSync(join(tmpdir(), 'tb-browser-'));
mkdirSync(outDir, { recursive: true });

// --- the service -----------------------------------------------------------------------------
function startServer() {
  const server = spawn(binary, ['serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', join(scratch, 'data')],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`serve did not listen in time: ${log}`)), 20_000);
    server.stderr.on('data', (chunk) => {
      log += chunk;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve({ server, base: `http://127.0.0.1:${m[1]}` });
      }
    });
    server.on('exit', (code) => reject(new Error(`serve exited (${code}): ${log}`)));
  });
}

// 10,000 tickets: 25 screens of 20 rows (A-T) of 20 seats, five movies, prices from 9.49 up.
async function seed(base) {
  const movies = ['Dune: Part Two', 'Past Lives', 'Oppenheimer', 'The Zone of Interest', 'Perfect Days'];
  const rows = 'ABCDEFGHIJKLMNOPQRST';
  const bodies = [];
  for (let screen = 1; bodies.length < ticketCount; screen++) {
    for (const row of rows) {
      for (let n = 1; n <= 20; n++) {
        const price = `${9 + (screen % 4) * 2 + (row < 'F' ? 3 : 0)}.${n % 2 ? '49' : '99'}`;
        bodies.push(`{"Theatre-Seat":"${screen}-${row}${n}","Movie":"${movies[(screen - 1) % movies.length]}","Price":${price}}`);
      }
    }
  }
  const send = async (method, body) => {
    const r = await fetch(`${base}/ticket`, { method, headers: { 'Content-Type': 'application/json' }, body });
    assert.ok(r.status === 201 || r.status === 200, `${method} ${body}: ${r.status} ${await r.text()}`);
    await r.arrayBuffer().catch(() => {});
  };
  const started = Date.now();
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < bodies.length) await send('POST', bodies[next++]);
  }));
  // A few price drops, so the first page shows discounts and the feed has history.
  for (const [seat, price] of [['1-A3', '9.25'], ['1-B7', '8.75'], ['1-C12', '10.25'], ['1-D5', '7.99']]) {
    await send('PATCH', `{"Theatre-Seat":"${seat}","updateKey":"Price","updateValue":${price}}`);
  }
  console.log(`seeded ${bodies.length} tickets in ${Date.now() - started} ms`);
}

// --- the browser -----------------------------------------------------------------------------
async function openBrowser() {
  const profile = mkdtempSync(join(scratch, 'profile-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1680, height: 1000 },
    deviceScaleFactor: 1,
  });
}

const { server, base } = await startServer();
let context;
try {
  await seed(base);
  context = await openBrowser();
  const origin = new URL(base).origin;
  const outside = [];      // requests that tried to leave the server: must stay empty
  const listings = [];     // every GET /tickets the pages made
  const apiKeys = [];      // X-Api-Key of every write and event-feed request
  await context.route('**/*', (route) => {
    const request = route.request();
    const url = new URL(request.url());
    if (url.origin !== origin) {
      outside.push(request.url());
      return route.abort();
    }
    if (url.pathname === '/tickets') listings.push(url.search);
    if (request.method() !== 'GET' || url.pathname === '/events') apiKeys.push(request.headers()['x-api-key'] ?? null);
    return route.continue();
  });
  const page = context.pages()[0] ?? await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // What the pages' Content-Security-Policy stopped before it reached the network.
  const blocked = [];
  const watchPolicy = (p) => p.on('console', (m) => {
    if (/Content Security Policy/.test(m.text())) blocked.push(m.text());
  });
  watchPolicy(page);

  // First useful render: navigation start to the first seat grid on screen, as the page's own
  // clock sees it, over five loads (each a fresh navigation reading the listing anew). The bound
  // holds for their median: on these shared 2-core machines one load can wait hundreds of ms for
  // a core (the breakdown printed shows where), which says nothing about the page.
  const loads = [];
  for (let i = 0; i < 5; i++) {
    const started = Date.now();
    await page.goto(`${base}/`);
    await page.locator('.seat[data-seat]').first().waitFor({ state: 'visible' });
    const wall = Date.now() - started;
    const timing = await page.evaluate(() => {
      const at = (name) => performance.getEntriesByType('resource').find((e) => e.name.includes(name));
      const listing = at('/tickets?');
      return {
        render: Number(document.documentElement.dataset.firstRender),
        html: Math.round(performance.getEntriesByType('navigation')[0].responseEnd),
        listing: `${Math.round(listing.startTime)}-${Math.round(listing.responseEnd)}`,
      };
    });
    loads.push(timing.render);
    console.log(`load ${i + 1}: first useful render ${timing.render} ms after navigation start (page ${timing.html} ms, ` +
      `GET /tickets?limit=250 ${timing.listing} ms; ${wall} ms from goto)`);
  }
  const sorted = [...loads].sort((a, b) => a - b);
  const firstRender = sorted[2];
  console.log(`first useful render with ${ticketCount} tickets: median ${firstRender} ms, best ${sorted[0]} ms ` +
    `(loads: ${loads.join(', ')} ms)`);
  assert.ok(firstRender > 0 && firstRender < firstRenderLimitMs, `first useful render took ${firstRender} ms`);
  await page.locator('#page-info', { hasText: 'Page 1 · tickets 1–250 (more after) · 5 movies in all' }).waitFor();
  // A discount from the seeding, on its seat: 14.49 -> 9.25 for 1-A3, (14.49 - 9.25) / 14.49.
  const seeded = page.locator('.seat[data-seat="1-A3"]');
  assert.equal(await seeded.locator('.price').textContent(), '9.25');
  assert.equal(await seeded.locator('.badge').textContent(), '−36.16%');

  // Paging: the next page comes by cursor, and back.
  await page.click('#next-page');
  await page.locator('#page-info', { hasText: 'Page 2 · tickets 251–500' }).waitFor();
  await page.click('#prev-page');
  await page.locator('#page-info', { hasText: 'Page 1 · tickets 1–250' }).waitFor();

  // Create a ticket (screen 0 sorts first: it lands on page 1), then change its price.
  const notice = page.locator('#notice');
  await page.fill('#create-form [name=seat]', '0-A1');
  await page.fill('#create-form [name=movie]', 'Premiere Night');
  await page.fill('#create-form [name=price]', '15.99');
  await page.click('#create-form button[type=submit]');
  await notice.filter({ hasText: 'Ticket created successfully' }).waitFor();
  const seat = page.locator('.seat[data-seat="0-A1"]');
  await seat.waitFor();
  assert.equal(await seat.locator('.price').textContent(), '15.99');
  await seat.click();
  assert.equal(await page.inputValue('#price-form [name=seat]'), '0-A1');
  await page.fill('#price-form [name=price]', '12.99');
  await page.click('#price-form button[type=submit]');
  await notice.filter({ hasText: 'Ticket updated successfully' }).waitFor();
  await seat.locator('.badge', { hasText: '−18.76%' }).waitFor();
  assert.equal(await seat.locator('.price').textContent(), '12.99');
  // Both events, paired, in the feed.
  const change = page.locator('.event', { hasText: '0-A1' });
  await change.locator('[data-step=initiated]').waitFor();
  await change.locator('[data-step=processed]', { hasText: '−18.76%' }).waitFor();
  assert.match(await change.locator('.change').textContent(), /^15\.99 → 12\.99$/);

  // The service's own errors, shown as they are; the page stays usable after each.
  await page.fill('#create-form [name=seat]', '0-A1');  // the same seat again
  await page.fill('#create-form [name=movie]', 'Premiere Night');
  await page.click('#create-form button[type=submit]');
  await notice.filter({ hasText: '409 Ticket already exists' }).waitFor();
  await page.fill('#price-form [name=price]', '-1');
  await page.click('#price-form button[type=submit]');
  await notice.filter({ hasText: '400 Price must be a non-negative number' }).waitFor();
  await page.fill('#price-form [name=price]', 'cheap');
  await page.click('#price-form button[type=submit]');
  await notice.filter({ hasText: '400 Price must be a non-negative number' }).waitFor();
  await page.fill('#create-form [name=seat]', '');  // no seat: the service says so, not the page
  await page.click('#create-form button[type=submit]');
  await notice.filter({ hasText: '400 Theatre-Seat is required' }).waitFor();
  await page.fill('#delete-form [name=seat]', 'no-such-seat');
  await page.click('#delete-form button[type=submit]');
  await notice.filter({ hasText: '404 Ticket not found' }).waitFor();

  // An API key goes with the writes and the feed. A refused write (the service's 401, here
  // answered for it: this build has no keys) reads plainly and changes nothing on the page.
  await page.fill('#api-key', 'operator-key');
  await page.locator('#api-key').dispatchEvent('change');
  apiKeys.length = 0;
  await page.waitForRequest((r) => r.url().includes('/events?'));  // the feed, with the key now
  await page.route(`${base}/ticket`, (route) => {
    apiKeys.push(route.request().headers()['x-api-key'] ?? null);
    return route.fulfill({
      status: 401,
      headers: { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*' },
      body: '{"error":"Missing or invalid API key"}',
    });
  });
  await page.fill('#delete-form [name=seat]', '0-A1');
  await page.click('#delete-form button[type=submit]');
  await notice.filter({ hasText: 'Refused (401 Missing or invalid API key): this service requires an API key' }).waitFor();
  await page.unroute(`${base}/ticket`);
  assert.ok(apiKeys.length >= 2 && apiKeys.every((k) => k === 'operator-key'), `X-Api-Key sent: ${apiKeys}`);
  await seat.waitFor();  // still there

  // Delete it for real: gone from the grid.
  await page.click('#delete-form button[type=submit]');
  await notice.filter({ hasText: 'Ticket deleted successfully' }).waitFor();
  await seat.waitFor({ state: 'detached' });

  // The picture of the console: the seeded price drops, a fresh change in the feed.
  await page.fill('#price-form [name=seat]', '1-E9');
  await page.fill('#price-form [name=price]', '11.25');
  await page.click('#price-form button[type=submit]');
  await page.locator('.seat[data-seat="1-E9"] .badge').waitFor();
  await page.locator('.event', { hasText: '1-E9' }).locator('[data-step=processed]').waitFor();
  await page.evaluate(() => {
    document.getElementById('notice').hidden = true;
    document.getElementById('create-form').reset();
    window.scrollTo(0, 0);
  });
  await page.screenshot({ path: join(outDir, 'console.png') });

  // A dead event shows in red with its reason. The service parks one only when its handling can
  // never succeed, which nothing here provokes: this one answer of the feed is made up.
  await page.route((url) => url.pathname === '/events', (route) => route.fulfill({
    status: 200,
    headers: { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*' },
    body: JSON.stringify({ events: [{ seq: 1_000_000, status: 'dead', reason: 'handler failed 10 times: disk I/O error',
      event: { eventType: 'PriceChangeInitiated', eventId: 'c0ffee00-0000-4000-8000-000000000001', theatreSeat: '9-Z9',
        movie: 'Perfect Days', oldPrice: 12.5, newPrice: 11, timestamp: new Date().toISOString(), updatedItem: {} } }],
    nextAfter: 1_000_000 }),
  }), { times: 1 });
  const dead = page.locator('.event.dead', { hasText: '9-Z9' });
  await dead.waitFor({ timeout: 10_000 });
  assert.equal(await dead.locator('.reason').textContent(), 'Dead: handler failed 10 times: disk I/O error');
  assert.match(await dead.locator('.step.dead').first().textContent(), /PriceChangeInitiated · dead/);

  assert.deepEqual(pageErrors, [], 'errors in the console page');
  assert.ok(listings.length >= 4, `listings: ${listings}`);
  for (const query of listings) assert.match(query, /[?&]limit=\d+/, `an unpaged GET /tickets${query}`);

  // The reference: every endpoint of the document, rendered by the embedded Redoc.
  const docs = await context.newPage();
  docs.on('pageerror', (e) => pageErrors.push(e.message));
  watchPolicy(docs);
  await docs.goto(`${base}/docs`);
  await docs.locator('h1', { hasText: 'ticket-booking' }).waitFor({ timeout: 15_000 });
  const rendered = await docs.locator('#redoc').innerText();
  const doc = yaml.load(readFileSync(documentFile, 'utf8'), { schema: yaml.JSON_SCHEMA });
  let endpoints = 0;
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      endpoints++;
      assert.ok(rendered.includes(operation.summary), `/docs lacks ${method.toUpperCase()} ${path} (${operation.summary})`);
      // Redoc writes each operation's method and path in its panel.
      const panel = docs.locator(`[data-section-id="tag/${operation.tags[0]}/operation/${operation.operationId}"]`);
      assert.match(await panel.innerText(), new RegExp(`${method}\\s*${path.replace(/[{}.]/g, '\\$&')}`, 'i'),
        `${method} ${path} in its panel`);
    }
  }
  console.log(`/docs lists all ${endpoints} endpoints of the document`);
  await docs.screenshot({ path: join(outDir, 'docs.png') });
  assert.deepEqual(pageErrors, [], 'errors in the pages');
  assert.deepEqual(outside, [], 'requests that left the server');
  // The one thing a page tries to fetch from elsewhere is the image in Redoc's sidebar credit,
  // which the policy of /docs blocks; anything else is a new outside dependency.
  const unexpected = blocked.filter((b) => !b.includes('https://cdn.redoc.ly/redoc/logo-mini.svg'));
  assert.deepEqual(unexpected, [], 'fetches the Content-Security-Policy blocked');
  console.log(`screenshots: ${join(outDir, 'console.png')}, ${join(outDir, 'docs.png')}`);
} finally {
  await context?.close();
  server.kill('SIGTERM');
  await new Promise((resolve) => (server.exitCode !== null ? resolve() : server.on('exit', resolve)));
  rmSync(scratch, { recursive: true, force: true });
}
