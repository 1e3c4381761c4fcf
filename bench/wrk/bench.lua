-- One endpoint under wrk, configured by environment variables (set by bench/run.py):
--   BENCH_METHOD  GET or POST
--   BENCH_AUTH    the Authorization header value, if any (Basic or Bearer)
--   BENCH_BODY    a form body for POST; "{token}" in it is replaced per request
--   BENCH_TOKENS  a file of single-use values (codes, refresh tokens), one a line: each request
--                 takes the next one, so none is ever sent twice; when they run out, requests carry
--                 "exhausted" and fail (and are counted as errors), never a reused value.
-- done() prints one line "BENCH_RESULT {json}" for run.py; non-2xx responses are counted here.

local method = os.getenv("BENCH_METHOD") or "GET"
local auth = os.getenv("BENCH_AUTH")
local body = os.getenv("BENCH_BODY")
local tokens_file = os.getenv("BENCH_TOKENS")

wrk.method = method
if auth and auth ~= "" then
  wrk.headers["Authorization"] = auth
end
if body and body ~= "" then
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.body = body
end

non2xx = 0
exhausted = 0
local tokens = {}
local next_token = 1

if tokens_file and tokens_file ~= "" then
  for line in io.lines(tokens_file) do
    if line ~= "" then
      tokens[#tokens + 1] = line
    end
  end

  request = function()
    local value = tokens[next_token]
    if value == nil then
      exhausted = exhausted + 1
      value = "exhausted"
    else
      next_token = next_token + 1
    end
    return wrk.format(nil, nil, nil, (body:gsub("{token}", value)))
  end
end

response = function(status, headers, response_body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local bad, used_up = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
    used_up = used_up + thread:get("exhausted")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"timeout":%d,"non2xx":%d,"exhausted":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, bad, used_up))
end
