-- wrk script for bench/write_vs_hello.py: one script for all three scenarios, so wrk does the same
-- per-request work for each and the ratios compare the server, not the load generator.
--
--   wrk -t THREADS ... -s bench/wrk_scan.lua URL -- MODE QR_TOKENS_FILE BEARERS_FILE THREADS OFFSET
--
-- MODE hello:  GET /healthz
-- MODE admit:  POST /api/v1/inspections, each request on the next unused enterprise (expect 201);
--              OFFSET skips the enterprises earlier runs used
-- MODE refuse: POST /api/v1/inspections, always the first enterprise, which is at its cap (expect 409)
-- MODE /PATH:  POST /PATH with the body of admit (bench/floor.py's steps)
-- BEARERS_FILE has one line per inspector: "TOKEN USERNAME_OF_A_COLLEAGUE".

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local function lines(path)
  local found = {}
  for line in io.lines(path) do
    if line ~= "" then table.insert(found, line) end
  end
  return found
end

function init(args)
  mode = args[1]
  if mode ~= "hello" then
    qr_tokens = lines(args[2])
    bearers = {}
    for _, line in ipairs(lines(args[3])) do
      local token, colleague = line:match("^(%S+) (%S+)$")
      table.insert(bearers, {"Bearer " .. token, colleague})
    end
  end
  step = tonumber(args[4]) or 1  -- each thread has its own Lua state, so the count arrives as an argument
  -- this thread takes requests id, id + step, id + 2*step, ... so threads never share an enterprise
  n = (tonumber(args[5]) or 0) + id
end

function request()
  if mode == "hello" then
    return wrk.format("GET", "/healthz")
  end
  local qr = (mode == "refuse") and qr_tokens[1] or qr_tokens[(n % (#qr_tokens - 1)) + 2]
  local who = bearers[(n % #bearers) + 1]
  n = n + step
  local body = '{"qr_token": "' .. qr .. '", "kind": "routine", "inspectors": ["' .. who[2] ..
               '"], "items": ["SCJG-001"]}'
  local path = (mode:sub(1, 1) == "/") and mode or "/api/v1/inspections"
  return wrk.format("POST", path,
                    {["Content-Type"] = "application/json", ["Authorization"] = who[1]}, body)
end

function done(summary, latency, requests)
  -- one machine-readable line for the Python driver
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "non_2xx": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"timeout": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, latency:percentile(50), latency:percentile(99)))
end
