-- Runs a wrk script (TB_BENCH_SCRIPT) with an X-Api-Key header (TB_API_KEY) on every request it
-- makes, so the shared scripts (../shared/bench/wrk), which send none, load a server that has API
-- keys configured. Every target gets the same bytes: a server without keys ignores the header.
local key = os.getenv("TB_API_KEY") or ""
local script = assert(os.getenv("TB_BENCH_SCRIPT"), "TB_BENCH_SCRIPT: the wrk script to run")
local format = wrk.format
wrk.format = function(method, path, headers, body)
  local with_key = {}
  for k, v in pairs(headers or wrk.headers) do with_key[k] = v end
  if key ~= "" then with_key["X-Api-Key"] = key end
  return format(method, path, with_key, body)
end
dofile(script)
