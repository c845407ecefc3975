-- wrk-chat.lua: POST a small chat body to /v1/chat/completions.
-- Environment: BENCH_MODEL (the model name for this target), BENCH_AUTH
-- (an API key to send), BENCH_STREAM
-- (1: "stream":true and the header x-bench-stream: 1, which the bench's
-- nginx backend uses to pick its fixed SSE answer: nginx cannot look into
-- the body). done() prints one machine-readable line for bench/run.
local model = os.getenv("BENCH_MODEL") or "bench-model"
local stream = os.getenv("BENCH_STREAM") == "1"

wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
if stream then
	wrk.headers["x-bench-stream"] = "1"
end
-- BENCH_AUTH: an API key for every request (bench/run's BENCH_KEY)
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then
	wrk.headers["Authorization"] = "Bearer " .. auth
end
wrk.body = '{"model":"' .. model .. '","messages":[{"role":"user",' ..
    '"content":"Say hello in one word."}],"max_tokens":8' ..
    (stream and ',"stream":true' or '') .. '}'

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("BENCH requests=%d duration_us=%d bytes=%d " ..
	    "p50_us=%d p99_us=%d max_us=%d mean_us=%.1f " ..
	    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
	    summary.requests, summary.duration, summary.bytes,
	    latency:percentile(50), latency:percentile(99), latency.max, latency.mean,
	    e.connect, e.read, e.write, e.status, e.timeout))
end
