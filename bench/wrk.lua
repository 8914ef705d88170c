-- wrk's script for bench/pages.py: one page (or the comment form) and its headers.
--
--   wrk ... -s bench/wrk.lua URL -- PATH [Header: value ...]
--   wrk ... -s bench/wrk.lua URL -- PATH --comment STAMP RUN [Header: value ...]
--   wrk ... -s bench/wrk.lua URL -- PATH --search RUN COUNT WORD... [Header: value ...]
--
-- With --comment, every request POSTs a comment as a browser without JavaScript would,
-- each from its own client address (X-Forwarded-For, read behind QUIRE_PROXY_HOPS=1),
-- so that neither the per-address limit nor the duplicate check is what gets measured.
-- RUN (1 to 255) keeps the addresses of one run apart from those of every other.
-- With --search, every request asks PATH?q= for three of the WORDs, never the same three
-- in the runs of one benchmark (RUN again), so that no answer comes from the page cache.
-- At the end it prints one line of JSON for the driver to read.

local path, headers, body, run, words = "/", {}, nil, 0, {}

function init(args)
  path = args[1]
  local i = 2
  if args[2] == "--comment" then
    body = "name=Reader&website=&topic=&stamp=" .. args[3]
      .. "&body=Thanks%2C+this+helped+me+size+the+connection+pool."
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    run = tonumber(args[4])
    i = 5
  elseif args[2] == "--search" then
    run = tonumber(args[3])
    local count = tonumber(args[4])
    for j = 1, count do
      words[j] = args[4 + j]
    end
    i = 5 + count
  end
  while args[i] do
    local name, value = args[i]:match("^([^:]+):%s*(.*)$")
    headers[name] = value
    i = i + 1
  end
end

-- Each thread numbers its requests, and its client addresses, on its own.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

-- Answers by status, counted in each thread (a table of status -> count).
statuses = {}

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

local counter = 0

function request()
  counter = counter + 1
  if #words > 0 then
    -- Two threads at most: each takes every other number of its run's own range.
    local n, k = #words, run * 8192 + (counter - 1) * 2 + ((id or 1) - 1)
    local query = words[k % n + 1] .. "+" .. words[math.floor(k / n) % n + 1]
      .. "+" .. words[math.floor(k / (n * n)) % n + 1]
    return wrk.format("GET", path .. "?q=" .. query, headers)
  end
  if body == nil then
    return wrk.format("GET", path, headers)
  end
  headers["X-Forwarded-For"] = string.format(
    "10.%d.%d.%d", run, (id or 0) * 32 + math.floor(counter / 250) % 32, counter % 250 + 1
  )
  return wrk.format("POST", path, headers, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  local counted = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      counted[status] = (counted[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(counted) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p95_us": %d, '
      .. '"p99_us": %d, "max_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, '
      .. '"status": %d, "timeout": %d}, "statuses": {%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    table.concat(parts, ", ")
  ))
end
