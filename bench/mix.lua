-- wrk -t2 -c64 -d10s --latency -s mix.lua http://127.0.0.1:PORT [-- COUNT PREFIX WIDTH WRITE_PCT]
-- 90/10 read/write mix on the seeded seats <PREFIX><zero-padded 1..COUNT> (seed.mjs: S-00001..S-10000):
--   (100 - WRITE_PCT)%  GET   /ticket?Theatre-Seat=<random seeded seat>
--   WRITE_PCT%          PATCH /ticket {"Theatre-Seat":<random seeded seat>,"updateKey":"Price","updateValue":<5.00-24.99>}
-- Same request shapes as ../shared/bench/wrk/get_ticket.lua and patch_ticket.lua; never adds rows.
-- Settings (script arg > env var > default):
--   COUNT     / TICKET_COUNT  (10000)
--   PREFIX    / TICKET_PREFIX ("S-")
--   WIDTH     / TICKET_WIDTH  (5)
--   WRITE_PCT / WRITE_PCT     (10)      share of PATCH requests, 0..100
--               UPDATE_KEY    ("Price")
--               TICKET_PATH   ("/ticket")
-- Prints one "RESULT scenario=mix ..." line at the end (same fields as the shared scripts, plus
-- writes=<PATCH requests issued> write_pct=<setting>).
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local gets, count, fmt, prefix, key, path = {}, 0
local headers = { ["Content-Type"] = "application/json" }
writes, write_pct = 0, 10 -- globals: done() reads them through thread:get
function init(args)
  count = tonumber(args[1] or os.getenv("TICKET_COUNT") or 10000)
  prefix = args[2] or os.getenv("TICKET_PREFIX") or "S-"
  fmt = "%s%0" .. tonumber(args[3] or os.getenv("TICKET_WIDTH") or 5) .. "d"
  write_pct = tonumber(args[4] or os.getenv("WRITE_PCT") or 10)
  key = os.getenv("UPDATE_KEY") or "Price"
  path = os.getenv("TICKET_PATH") or "/ticket"
  for i = 1, count do  -- pre-built GETs: per-request Lua cost is one table lookup
    gets[i] = wrk.format("GET", path .. "?Theatre-Seat=" .. urlencode(string.format(fmt, prefix, i)))
  end
  math.randomseed(os.time() + 7919 * (tid or 0))
end

function request()
  if math.random(100) > write_pct then
    return gets[math.random(count)]
  end
  writes = writes + 1
  local body = string.format('{"Theatre-Seat":"%s","updateKey":"%s","updateValue":%d.%02d}',
    string.format(fmt, prefix, math.random(count)), key, math.random(5, 24), math.random(0, 99))
  return wrk.format("PATCH", path, headers, body)
end

function done(summary, latency, requests)
  local s = summary.duration / 1e6
  local e = summary.errors
  local w, pct = 0, threads[1] and tonumber(threads[1]:get("write_pct")) or 0
  for _, t in ipairs(threads) do w = w + (tonumber(t:get("writes")) or 0) end
  io.write(string.format(
    "RESULT scenario=mix requests=%d rps=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx3xx=%d socket_errors=%d writes=%d write_pct=%d\n",
    summary.requests, summary.requests / s, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.status, e.connect + e.read + e.write + e.timeout, w, pct))
end
