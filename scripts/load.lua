-- wrk script for scripts/load.sh: optional POST body or random posts, and
-- one parseable RESULT line per run.

local body = os.getenv("PARLEY_POST_BODY")
if body and body ~= "" then
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
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
