-- wrk script for scripts/load.sh: optional POST body or random posts, and
-- one parseable RESULT line per run.

-- PARLEY_POST_BODY posts that body; "{n}" in it becomes a tag that differs
-- from request to request, and from run to run (the clock), so that
-- submissions are not duplicates of each other.
local body = os.getenv("PARLEY_POST_BODY")
if body and body ~= "" then
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  local n, stamp = 0, os.time()
  request = function()
    n = n + 1
    return wrk.format(nil, nil, nil, (body:gsub("{n}", stamp .. "-" .. tostring(tid or 0) .. "-" .. n)))
  end
end

-- Each wrk thread runs its own copy of this script: number them.
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

-- PARLEY_ANY_POST=N reads a random post of /post/00000 … /post/N-1.
local posts = tonumber(os.getenv("PARLEY_ANY_POST") or "")
if posts then
  request = function()
    return wrk.format(nil, string.format("/api/comments?post=/post/%05d", math.random(0, posts - 1)))
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f requests=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.requests,
    e.connect + e.read + e.write + e.status + e.timeout))
end
