-- wrk script for bench_tracker.sh: every request is an announce of a distinct (release, peer port,
-- peer id) drawn from bounded sets, so the tracker's peer tables grow to at most
-- HASHES x PORTS entries. Env: BENCH_HASHES (hex info hashes, comma-separated), BENCH_PORTS (default
-- 2000), BENCH_CLOSE=1 to send "Connection: close". Prints one "RESULT requests rps p50_ms p99_ms
-- errors closed" line: errors are connect/write failures, timeouts and non-2xx replies; closed counts
-- connections the server ended after a reply (wrk's read errors: opentracker closes every one).
local hashes, ports, close = {}, tonumber(os.getenv("BENCH_PORTS") or "2000"), os.getenv("BENCH_CLOSE") == "1"

local function pct(hex)
  return (hex:gsub("..", function(b) return "%" .. b end))
end

for h in (os.getenv("BENCH_HASHES") or ""):gmatch("[0-9a-f]+") do
  hashes[#hashes + 1] = pct(h)
end

function init(args)
  math.randomseed(os.time())
  if close then
    wrk.headers["Connection"] = "close"
  end
end

function request()
  local port = math.random(1, ports)
  local id = string.format("-BN0001-%012d", math.random(0, 999999999999))
  local path = string.format(
    "/announce?info_hash=%s&peer_id=%s&port=%d&uploaded=0&downloaded=0&left=%d&compact=1&numwant=50",
    hashes[math.random(1, #hashes)], id, port, math.random(0, 1) * 1000)
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %.1f %.3f %.3f %d %d\n", summary.requests,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.connect + e.write + e.status + e.timeout, e.read))
end
