-- Replay pre-signed requests with wrk, each exactly once, then stop.
--
-- wrk -t T -c C -d LIMIT -s replay.lua URL -- REQUESTS_FILE T
--
-- REQUESTS_FILE holds whole HTTP/1.1 requests (request line, headers, body), each preceded by
-- its length in bytes and a newline. Thread i (0-based) sends requests i, i+T, i+2T, ...; once
-- it has as many answers as requests it prints WRK-THREAD-DONE (its start and end, wall clock)
-- and stops; the driver (benchmarks._support.wrk_post_all) then interrupts wrk, whose done()
-- prints one JSON line: answers by status and wrk's latency percentiles. If a connection asks
-- for a request after its thread's share is sent, it gets a GET of /healthz (answered 200, not
-- counted).

local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  local file = assert(io.open(path, "rb"))
  local data = file:read("*a")
  file:close()
  requests = {}
  local position, index = 1, 0
  while position <= #data do
    local newline = string.find(data, "\n", position, true)
    local length = tonumber(string.sub(data, position, newline - 1))
    if index % nthreads == id then
      table.insert(requests, string.sub(data, newline + 1, newline + length))
    end
    position = newline + 1 + length
    index = index + 1
  end
  next_request = 1
  verified = id ~= 0
  answered = 0
  filler = wrk.format("GET", "/healthz")
  statuses = ""
  counts = {}
  started = now()
  if #requests == 0 then
    finish()
  end
end

-- Wall-clock time (wrk gives Lua none finer than a second): read once at a thread's start and
-- once at its end, so it costs nothing per request.
function now()
  local pipe = io.popen("date +%s.%N")
  local value = pipe:read("*l")
  pipe:close()
  return value
end

-- wrk runs for its whole -d; the driver stops it (SIGINT) once every thread has said this.
function finish()
  io.write(string.format("WRK-THREAD-DONE %d %s %s\n", id, started, now()))
  io.flush()
  wrk.thread:stop()
end

function request()
  if not verified then  -- wrk calls thread 0's request() once before connecting, to check it
    verified = true
    return filler
  end
  if next_request <= #requests then
    local raw = requests[next_request]
    next_request = next_request + 1
    return raw
  end
  return filler
end

function response(status, headers, body)
  if status == 200 then
    return -- a filler's answer
  end
  counts[status] = (counts[status] or 0) + 1
  answered = answered + 1
  local parts = {}
  for code, n in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', code, n))
  end
  statuses = table.concat(parts, ", ")  -- read by done(), even if the time limit ends the thread
  if answered >= #requests then
    finish()
  end
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    local text = thread:get("statuses") or ""
    for code, n in string.gmatch(text, '"(%d+)": (%d+)') do
      merged[code] = (merged[code] or 0) + tonumber(n)
    end
  end
  local parts = {}
  for code, n in pairs(merged) do
    table.insert(parts, string.format('"%s": %d', code, n))
  end
  io.write(string.format(
    'WRK-RESULT {"statuses": {%s}, "duration_us": %d, "requests": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d,'
      .. ' "max_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    table.concat(parts, ", "), summary.duration, summary.requests, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout))
end
