// The operators' console (GET /). Plain browser JavaScript, no build step: it talks to the same
// API as curl and shows the service's own answers. Listings are read a page at a time
// (GET /tickets?limit=&cursor=), never unpaged; prices stay exact decimals (their JSON text is
// kept and sent back as it is, never through a float).
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const eventPollMs = 1000;        // how often the feed asks GET /events for news
  const eventPollRefusedMs = 5000; // slower while the feed is refused (no or a wrong API key)
  const eventsShown = 100;         // the feed keeps the latest price changes only
  const widestRow = 40;            // seat numbers above this are listed, not drawn as gaps

  const state = {
    pageSize: 250,
    cursors: [''],   // cursors[i] opens page i ('' : the first)
    page: 0,
    nextCursor: null,
    tickets: [],
    selected: null,
    movies: null,
    eventsAfter: 0,
    changes: new Map(),  // PriceChangeInitiated eventId -> {initiated, processed, status, reason, seq}
    rendered: false,
  };

  // --- exact decimals ------------------------------------------------------------------------
  // A number from the service, kept as the text it came in: 15.99 stays "15.99".
  class Decimal {
    constructor(text) { this.text = text; }
    toString() { return this.text; }
  }
  // JSON.parse hands a reviver each number's source text (Chromium 114+, Firefox 135+); older
  // engines fall back to the parsed value, which is exact for the usual prices.
  const parseJson = (text) => JSON.parse(text, (key, value, context) =>
    typeof value === 'number' ? new Decimal(context && context.source !== undefined ? context.source : String(value)) : value);
  const decimalPattern = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
  // What the page sends for a typed price: a JSON number when it reads as one, else the text as
  // a JSON string, so the service answers it exactly as it answers curl.
  const priceJson = (typed) => (decimalPattern.test(typed) ? typed : JSON.stringify(typed));
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const text = (v) => (v === undefined || v === null ? '' : v instanceof Decimal ? v.text : String(v));

  // --- the API -------------------------------------------------------------------------------
  const apiKey = () => $('api-key').value.trim();

  // One request. Never throws: answers {status, data} or {status, error} with a message fit for
  // an operator (the service's own `error`, or what went wrong on the way).
  async function api(method, path, body, needsKey = false) {
    const headers = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (needsKey && apiKey()) headers['X-Api-Key'] = apiKey();
    let response;
    try {
      response = await fetch(path, { method, headers, body });
    } catch {
      return { status: 0, error: 'The service did not answer: is it running?' };
    }
    let raw = '';
    try { raw = await response.text(); } catch { /* an answer cut short: handled below */ }
    let data = null;
    try { data = raw ? parseJson(raw) : null; } catch { /* not JSON: handled below */ }
    if (response.ok) {
      return data !== null || response.status === 204 ? { status: response.status, data }
        : { status: response.status, error: 'The service sent an answer the console cannot read' };
    }
    const message = data && typeof data.error === 'string' ? data.error : response.statusText || 'request failed';
    return { status: response.status, error: message };
  }

  // What an operator reads when a request fails.
  function failure(r) {
    if (r.status === 401) {
      return `Refused (401 ${r.error}): this service requires an API key. Enter a valid key in the API key field at the top and try again.`;
    }
    if (r.status === 0) return r.error;
    return `${r.status} ${r.error}`;
  }

  let noticeTimer = null;
  function notice(message, ok) {
    const n = $('notice');
    n.textContent = message;
    n.className = `notice ${ok ? 'ok' : 'error'}`;
    n.hidden = false;
    clearTimeout(noticeTimer);
    if (ok) noticeTimer = setTimeout(() => { n.hidden = true; }, 6000);
  }

  // --- seats ---------------------------------------------------------------------------------
  // `1-A9`: screen 1, row A, seat 9. Anything else is listed under "other seats".
  const seatPattern = /^([^-]+)-([A-Za-z]+)(\d+)$/;
  const rowOrder = (a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);

  function seatButton(t, label) {
    const seat = t['Theatre-Seat'];
    const discounted = t.IsDiscounted === true;
    const price = text(t.Price);
    const discount = discounted ? `<span class="badge" title="DiscountPercentage">−${esc(text(t.DiscountPercentage))}%</span>` : '';
    const title = `${seat} · ${text(t.Movie) || 'no movie'} · ${price ? 'price ' + price : 'no price'}` +
      (t.PreviousPrice !== undefined && t.PreviousPrice !== null ? ` · was ${text(t.PreviousPrice)}` : '');
    return `<button type="button" class="seat${discounted ? ' discounted' : ''}${seat === state.selected ? ' selected' : ''}"` +
      ` data-seat="${esc(seat)}" title="${esc(title)}"><span class="num">${esc(label)}</span>` +
      `<span class="price">${price ? esc(price) : '—'}</span>${discount}</button>`;
  }

  function screenGrid(screen, seats) {
    const rows = new Map();
    let widest = 0;
    for (const s of seats) {
      if (!rows.has(s.row)) rows.set(s.row, new Map());
      rows.get(s.row).set(s.number, s.ticket);
      widest = Math.max(widest, s.number);
    }
    const columns = Math.min(widest, widestRow);
    let html = `<div class="screen"><div class="screen-label">Screen ${esc(screen)}</div>` +
      `<div class="seat-grid" style="grid-template-columns: 28px repeat(${columns}, 56px)">`;
    const extra = [];
    for (const row of [...rows.keys()].sort(rowOrder)) {
      const bySeat = rows.get(row);
      html += `<div class="row-label">${esc(row)}</div>`;
      for (let n = 1; n <= columns; n++) {
        const t = bySeat.get(n);
        html += t ? seatButton(t, `${row}${n}`) : '<div class="seat gap" aria-hidden="true"></div>';
      }
      for (const [n, t] of bySeat) if (n > columns) extra.push(seatButton(t, `${row}${n}`));
    }
    html += '</div>';
    if (extra.length) html += `<div class="others">${extra.join('')}</div>`;
    return html + '</div>';
  }

  function renderTickets() {
    const byMovie = new Map();
    for (const t of state.tickets) {
      const movie = text(t.Movie) || '(no movie)';
      if (!byMovie.has(movie)) byMovie.set(movie, { screens: new Map(), others: [] });
      const group = byMovie.get(movie);
      const m = seatPattern.exec(t['Theatre-Seat']);
      if (!m) { group.others.push(t); continue; }
      const [, screen, row, number] = m;
      if (!group.screens.has(screen)) group.screens.set(screen, []);
      group.screens.get(screen).push({ row: row.toUpperCase(), number: Number(number), ticket: t });
    }
    let html = '';
    for (const movie of [...byMovie.keys()].sort()) {
      const group = byMovie.get(movie);
      const count = group.others.length + [...group.screens.values()].reduce((n, s) => n + s.length, 0);
      html += `<article class="movie"><div class="movie-head"><h3>${esc(movie)}</h3>` +
        `<span class="muted">${count} seat${count === 1 ? '' : 's'} on this page</span></div>`;
      for (const screen of [...group.screens.keys()].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))) {
        html += screenGrid(screen, group.screens.get(screen));
      }
      if (group.others.length) {
        html += `<div class="others">${group.others.map((t) => seatButton(t, t['Theatre-Seat'])).join('')}</div>`;
      }
      html += '</article>';
    }
    $('movies').innerHTML = html ||
      '<div class="empty-state">No tickets yet. Create one with the form on the right.</div>';
    const first = state.page * state.pageSize;
    const movies = state.movies === null ? '' : ` · ${state.movies} movie${state.movies === 1 ? '' : 's'} in all`;
    $('page-info').textContent = state.tickets.length
      ? `Page ${state.page + 1} · tickets ${first + 1}–${first + state.tickets.length}${state.nextCursor ? ' (more after)' : ''}${movies}`
      : `No tickets on this page${movies}`;
    $('prev-page').disabled = state.page === 0;
    $('next-page').disabled = !state.nextCursor;
    if (!state.rendered) {
      state.rendered = true;
      performance.mark('first-useful-render');
      document.documentElement.dataset.firstRender = String(Math.round(performance.now()));
    }
  }

  // Loads the current page of tickets; one page, never the whole listing.
  async function loadPage() {
    const cursor = state.cursors[state.page];
    const query = `limit=${state.pageSize}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r = await api('GET', `/tickets?${query}`);
    if (r.error) {
      notice(`Could not load the tickets: ${failure(r)}`, false);
      if (!state.rendered) $('page-info').textContent = 'The tickets could not be loaded.';
      return;
    }
    state.tickets = r.data.tickets;
    state.nextCursor = typeof r.data.nextCursor === 'string' ? r.data.nextCursor : null;
    renderTickets();
  }

  async function loadMovies() {
    const r = await api('GET', '/movies');
    if (r.error) return;
    state.movies = r.data.movies.length;
    if (state.rendered) renderTickets();
  }

  function select(seat) {
    state.selected = seat;
    for (const b of document.querySelectorAll('.seat.selected')) b.classList.remove('selected');
    for (const b of document.querySelectorAll('.seat[data-seat]')) if (b.dataset.seat === seat) b.classList.add('selected');
    const t = state.tickets.find((x) => x['Theatre-Seat'] === seat);
    $('price-form').seat.value = seat;
    $('price-form').price.value = t ? text(t.Price) : '';
    $('delete-form').seat.value = seat;
    $('price-form').price.focus();
  }

  // --- writes --------------------------------------------------------------------------------
  // Runs one write with its form's button disabled; the page stays usable whatever happens.
  async function write(form, run) {
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const r = await run();
      if (r.error) {
        notice(failure(r), false);
        return;
      }
      notice(r.data.message + (r.detail ? ` ${r.detail}` : ''), true);
      await Promise.all([loadPage(), loadMovies(), pollEvents()]);
    } finally {
      button.disabled = false;
    }
  }

  const member = (key, json) => `${JSON.stringify(key)}:${json}`;

  $('create-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const f = e.target;
    const fields = [member('Theatre-Seat', JSON.stringify(f.seat.value.trim()))];
    if (f.movie.value.trim()) fields.push(member('Movie', JSON.stringify(f.movie.value.trim())));
    if (f.price.value.trim()) fields.push(member('Price', priceJson(f.price.value.trim())));
    write(f, async () => {
      const r = await api('POST', '/ticket', `{${fields.join(',')}}`, true);
      if (!r.error) {
        r.detail = `Seat ${r.data['Theatre-Seat']}.`;
        f.reset();
      }
      return r;
    });
  });

  $('price-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const f = e.target;
    const fields = [member('Theatre-Seat', JSON.stringify(f.seat.value.trim())), member('updateKey', '"Price"')];
    if (f.price.value.trim()) fields.push(member('updateValue', priceJson(f.price.value.trim())));
    write(f, async () => {
      const r = await api('PATCH', '/ticket', `{${fields.join(',')}}`, true);
      if (!r.error) {
        const item = r.data.updatedItem;
        r.detail = `Seat ${r.data['Theatre-Seat']}: ${text(item.PreviousPrice) || '—'} → ${text(item.Price)}` +
          (item.IsDiscounted === true ? ` (−${text(item.DiscountPercentage)}%).` : '.');
      }
      return r;
    });
  });

  $('delete-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const f = e.target;
    write(f, async () => {
      const r = await api('DELETE', '/ticket', `{${member('Theatre-Seat', JSON.stringify(f.seat.value.trim()))}}`, true);
      if (!r.error) {
        r.detail = `Seat ${r.data['Theatre-Seat']}.`;
        if (state.selected === r.data['Theatre-Seat']) state.selected = null;
        f.reset();
      }
      return r;
    });
  });

  // --- the price-change feed -----------------------------------------------------------------
  const clock = (iso) => {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString();
  };

  function take(entry) {
    const e = entry.event || {};
    if (e.eventType === 'PriceChangeInitiated') {
      const c = state.changes.get(e.eventId) || {};
      Object.assign(c, { initiated: e, status: entry.status, reason: entry.reason, seq: entry.seq });
      state.changes.set(e.eventId, c);
    } else if (e.eventType === 'PriceChangeProcessed') {
      const c = state.changes.get(e.causationId) || { seq: entry.seq };
      c.processed = e;
      c.processedStatus = entry.status;
      if (entry.status === 'dead') c.processedReason = entry.reason;
      state.changes.set(e.causationId, c);
    }
    while (state.changes.size > eventsShown) state.changes.delete(state.changes.keys().next().value);
  }

  function renderEvents() {
    const items = [...state.changes.entries()].sort((a, b) => b[1].seq - a[1].seq).map(([id, c]) => {
      const i = c.initiated;
      const p = c.processed;
      const seat = i ? i.theatreSeat : p.theatreSeat;
      const movie = text(i ? i.movie : p.movie);
      const dead = c.status === 'dead' || c.processedStatus === 'dead';
      const change = i ? `${text(i.oldPrice) || '—'} → ${text(i.newPrice)}` : `→ ${text(p.finalPrice)}`;
      const steps = [
        i ? `<span class="step ${c.status === 'dead' ? 'dead' : 'done'}" data-step="initiated">PriceChangeInitiated · ${esc(c.status)}</span>`
          : '<span class="step">PriceChangeInitiated · earlier</span>',
        p ? `<span class="step ${c.processedStatus === 'dead' ? 'dead' : 'done'}" data-step="processed">PriceChangeProcessed${p.isDiscounted === true ? ` · −${esc(text(p.discountPercentage))}%` : ''}</span>`
          : `<span class="step ${c.status === 'dead' ? 'dead' : 'waiting'}">${c.status === 'dead' ? 'never processed' : 'PriceChangeProcessed · waiting'}</span>`,
      ];
      const reason = c.reason || c.processedReason;
      return `<li class="event${dead ? ' dead' : ''}" data-event-id="${esc(id)}">` +
        `<div class="top"><span><span class="seat-id">${esc(seat)}</span> <span class="muted">${esc(movie)}</span></span>` +
        `<time>${esc(clock(i ? i.timestamp : p.processedAt))}</time></div>` +
        `<div class="change">${esc(change)}</div><div class="steps">${steps.join('')}</div>` +
        (dead && reason ? `<div class="reason">Dead: ${esc(reason)}</div>` : '') + '</li>';
    });
    $('events').innerHTML = items.join('') || '<li class="muted">No price changes yet.</li>';
  }

  let polling = null;   // the poll in flight, shared by whoever asks meanwhile
  let pollTimer = null;
  function pollEvents() {
    if (!polling) polling = pollOnce().finally(() => { polling = null; });
    return polling;
  }
  async function pollOnce() {
    clearTimeout(pollTimer);
    let wait = eventPollMs;
    for (;;) {
      const r = await api('GET', `/events?after=${state.eventsAfter}&limit=1000`, undefined, true);
      if (r.error) {
        $('live').textContent = 'paused';
        $('live').classList.add('off');
        $('events-info').textContent = r.status === 401
          ? 'The event feed needs an API key: enter it in the API key field at the top.'
          : `The event feed is not answering: ${failure(r)}`;
        wait = eventPollRefusedMs;
        break;
      }
      $('live').textContent = 'live';
      $('live').classList.remove('off');
      $('events-info').textContent = 'Each price change with its handling, newest first.';
      for (const entry of r.data.events) take(entry);
      state.eventsAfter = Number(text(r.data.nextAfter));
      if (r.data.events.length < 1000) break;
    }
    renderEvents();
    pollTimer = setTimeout(pollEvents, wait);
  }

  // --- wiring --------------------------------------------------------------------------------
  $('movies').addEventListener('click', (e) => {
    const b = e.target.closest('.seat[data-seat]');
    if (b) select(b.dataset.seat);
  });
  $('next-page').addEventListener('click', () => {
    if (!state.nextCursor) return;
    state.cursors[state.page + 1] = state.nextCursor;
    state.page += 1;
    loadPage();
  });
  $('prev-page').addEventListener('click', () => {
    if (state.page === 0) return;
    state.page -= 1;
    loadPage();
  });
  $('refresh').addEventListener('click', () => { loadPage(); loadMovies(); });
  $('page-size').addEventListener('change', (e) => {
    state.pageSize = Number(e.target.value);
    state.cursors = [''];
    state.page = 0;
    loadPage();
  });
  // The key lives for this browser tab only.
  $('api-key').value = sessionStorage.getItem('ticket-booking.api-key') || '';
  $('api-key').addEventListener('change', (e) => {
    sessionStorage.setItem('ticket-booking.api-key', e.target.value.trim());
    pollEvents();
  });

  state.pageSize = Number($('page-size').value);
  // The seats first: the movie count and the feed start once the grid is on screen.
  loadPage().then(() => {
    loadMovies();
    pollEvents();
  });
})();
