#!/bin/bash
# path-errors.sh: every error of the request path, each an OpenAI-shaped
# {"error":{"message","type","param","code"}} with the fitting status.
#
# Invalid JSON, not an object, model missing or not a string (400);
# unknown namespace, known namespace but unknown model (404); a backend
# that refuses connections (502 naming it); the backend's own 4xx/5xx
# passed through as they are; the agent lost mid-request (streamed: an SSE
# error event then the end; waiting: 502); no agent linked (503); the first
# byte too late (504 first_byte_timeout) and a stream stalled too long (SSE
# error event stream_idle_timeout), the backend being told to stop in both.
. "$(dirname "$0")/path-lib.sh"
path_setup

DEAD_PORT=$(freeport)   # nothing listens there
TM_BACKENDS=("{ name: deadbe, url: \"http://127.0.0.1:$DEAD_PORT/v1\", models: [dead-model], discover: false }")
FIRST_BYTE=1s
STREAM_IDLE=1s
path_up
wait_until 10 path_linked lab:dead-model || fail "lab:dead-model not listed"
M='"model":"lab:qwen3:0.6b"'

# last_event_code FILE: EV = the last "data:" event of the SSE in FILE,
# EV_CODE = its error.code if it is an OpenAI-shaped error ("" if not).
last_event_code()
{
	EV=$(grep '^data: ' "$1" | tail -n 1 | sed 's/^data: //')
	printf '%s' "$EV" >"$T/ev.json"
	EV_CODE=$(oai_error_shape "$T/ev.json") || EV_CODE=
}
CHAT=/v1/chat/completions

# ---- the request itself
expect_oai 400 invalid_json POST $CHAT --data-binary '{"model":"lab:qwen3:0.6b",'
expect_oai 400 invalid_json POST $CHAT --data-binary 'not json at all'
expect_oai 400 invalid_json POST $CHAT --data-binary '["lab:qwen3:0.6b"]'
expect_oai 400 missing_model POST $CHAT --data-binary '{"messages":[]}'
expect_oai 400 invalid_model POST $CHAT --data-binary '{"model":42}'
expect_oai 400 invalid_model POST $CHAT --data-binary '{"model":null}'
expect_oai 400 invalid_model POST $CHAT --data-binary '{"model":["lab:qwen3:0.6b"]}'
expect_oai 404 model_not_found POST $CHAT --data-binary '{"model":"nosuchns:qwen3:0.6b"}'
expect_oai 404 model_not_found POST $CHAT --data-binary '{"model":"qwen3"}'
expect_oai 404 model_not_found POST $CHAT --data-binary '{"model":"lab:no-such-model"}'
expect_oai 404 model_not_found POST /v1/embeddings --data-binary '{"model":"lab:no-such-model","input":"x"}'
expect_oai 404 model_not_found GET /v1/models/nosuchns:x
expect_oai 405 - GET $CHAT

# ---- a backend that refuses connections
expect_oai 502 - POST $CHAT --data-binary '{"model":"lab:dead-model","messages":[]}'
[[ $(jbody 'j["error"]["message"]') == *deadbe* ]] || fail "the 502 does not name the backend deadbe: $BODY"
log "ok: the 502 names the backend: $(jbody 'j["error"]["message"]')"
expect_oai 502 - POST $CHAT --data-binary '{"model":"lab:dead-model","stream":true}'

# ---- the backend's own errors, passed through
for st in 503 400 429 500; do
	direct=$(curl -s --max-time 3 -H "x-mock-fail: status:$st" --data-binary "{$M}" "$MOCK_URL$CHAT")
	expect_oai "$st" mock_injected POST $CHAT --data-binary "{$M}" -H "x-mock-fail: status:$st"
	check [ "$BODY" = "$direct" ] "backend $st: its body passed through as it is"
	expect_oai "$st" mock_injected POST $CHAT --data-binary "{$M,\"stream\":true}" -H "x-mock-fail: status:$st"
done

# ---- the backend cuts its answer: streamed, an error event; not, a broken transfer
req POST $CHAT --data-binary "{$M,\"stream\":true}" -N -H 'x-mock-fail: cut:2'
check [ "$CODE:$CURL_RC" = "200:0" ] "backend cut a stream: 200, a clean end"
grep -q '"tok1 "' "$T/body" || fail "backend cut a stream: tok1 missing: $BODY"
last_event_code "$T/body"
[ -n "$EV_CODE" ] || fail "backend cut a stream: no error event at the end: $EV"
log "ok: backend cut a stream: ends with $EV"
req POST $CHAT --data-binary "{$M}" -H 'x-mock-fail: cut:2'
check [ "$CURL_RC" != 0 ] "backend cut a plain answer: the client sees a broken transfer (curl rc $CURL_RC, status $CODE)"

# ---- the first byte too late: 504, and the backend is told
t0=$(now_ms)
expect_oai 504 first_byte_timeout POST $CHAT --data-binary "{$M}" -H 'x-mock-fail: slow-first-byte:4000' \
    -H 'X-Request-Id: fbt-1'
t=$(( $(now_ms) - t0 ))
[ "$t" -ge 900 ] && [ "$t" -lt 2500 ] || fail "504 after $t ms, first_byte_timeout is 1 s"
log "ok: 504 after $t ms"
wait_until 3 mock_abort_of fbt-1 >/dev/null || fail "the mock never saw the request fbt-1 aborted"
expect_oai 504 first_byte_timeout POST $CHAT --data-binary "{$M,\"stream\":true}" -H 'x-mock-fail: hang'

# ---- a stream stalled too long: an SSE error event, then the end
req POST $CHAT --data-binary "{$M,\"stream\":true}" -N -H 'x-mock-chunks: 3' -H 'x-mock-pause-ms: 2500' \
    -H 'X-Request-Id: idle-1'
check [ "$CODE:$CURL_RC" = "200:0" ] "stalled stream: 200, ended cleanly (curl rc $CURL_RC)"
grep -q '"tok0 "' "$T/body" || fail "stalled stream: tok0 missing: $BODY"
grep -q '"tok1 "' "$T/body" && fail "stalled stream: tok1 arrived after the error"
last_event_code "$T/body"
check [ "$EV_CODE" = stream_idle_timeout ] "stalled stream: error event code stream_idle_timeout ($EV)"
wait_until 3 mock_abort_of idle-1 >/dev/null || fail "the mock never saw the stalled request idle-1 aborted"

# ---- the agent lost mid-request
curl -s -N --max-time 15 -o "$T/lost.sse" -w '%{http_code} %{exitcode}' -H 'x-mock-chunks: 30' \
    -H 'x-mock-pause-ms: 200' --data-binary "{$M,\"stream\":true}" "$API$CHAT" >"$T/lost.sse.code" &
S1=$!
curl -s --max-time 15 -o "$T/lost.wait" -D "$T/lost.wait.head" -w '%{http_code} %{exitcode}' \
    -H 'x-mock-fail: hang' --data-binary "{$M}" "$API$CHAT" >"$T/lost.wait.code" &
S2=$!
wait_until 5 grep -qs '"tok2 "' "$T/lost.sse" || fail "the stream to cut did not start"
tk=$(now_ms)
kill -9 "${TM_PIDS[tm]}"
wait "$S1" "$S2"
tw=$(( $(now_ms) - tk ))
unset 'TM_PIDS[tm]'
log "agent killed; both clients done $tw ms later"
check [ "$(cat "$T/lost.sse.code")" = "200 0" ] "agent lost, streamed: 200 and a clean end ($(cat "$T/lost.sse.code"))"
last_event_code "$T/lost.sse"
[ -n "$EV_CODE" ] || fail "agent lost, streamed: the last event is not an OpenAI error: $(tail -c 300 "$T/lost.sse")"
log "ok: agent lost, streamed: ends with $EV"
grep -q 'DONE' "$T/lost.sse" && fail "agent lost, streamed: [DONE] after a lost agent"
check [ "$(cat "$T/lost.wait.code")" = "502 0" ] "agent lost, waiting: 502 ($(cat "$T/lost.wait.code"))"
oai_error_shape "$T/lost.wait" >/dev/null || fail "agent lost, waiting: not an OpenAI error: $(cat "$T/lost.wait")"
log "ok: agent lost, waiting: $(cat "$T/lost.wait")"
[ "$tw" -lt 3000 ] || fail "the clients waited $tw ms after the agent died"

# ---- no agent linked for a configured namespace
wait_until 5 sh -c "! curl -s --max-time 2 '$API/v1/models' | grep -q qwen3" ||
    fail "lab:qwen3:0.6b still listed after the agent died"
expect_oai 503 - POST $CHAT --data-binary "{$M}"
expect_oai 503 - POST $CHAT --data-binary "{$M,\"stream\":true}"

# ---- and back
tm_start tm
wait_until 15 path_linked lab:qwen3:0.6b || fail "the agent did not relink"
req POST $CHAT --data-binary "{$M}"
check [ "$CODE" = 200 ] "a request succeeds once the agent is back"

path_pass
