#!/usr/bin/env bash
# SIGTERM during a slow upload: the listener closes at once, the request
# in flight still gets a complete HTTP answer, then the master exits 0.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
tl_setup

write_config "$T/tokilake.yaml"
start_and_wait "$T/tokilake.yaml" 2
kids=$(children | tr '\n' ' ')

# ~300 KB of valid JSON, sent at 50 KB/s: about 6 s on the wire.
{
	printf '{"model":"x:y","messages":[{"role":"user","content":"'
	head -c 300000 /dev/zero | tr '\0' 'a'
	printf '"}]}'
} >"$T/upload.json"

t_start=$(now_ms)
curl -s -o "$T/upload.body" -w '%{http_code}' --max-time 30 --limit-rate 50k \
    -H 'Content-Type: application/json' --data-binary @"$T/upload.json" \
    "http://127.0.0.1:$HTTP_PORT/v1/chat/completions" >"$T/upload.code" 2>"$T/upload.err" &
upload=$!
TL_PIDS+=("$upload")

sleep 1
alive "$upload" || fail "the upload ended before SIGTERM: $(cat "$T/upload.code")"
kill -TERM "$MASTER"
t_term=$(now_ms)
log "SIGTERM sent $((t_term - t_start)) ms into the upload"

# New connections are refused quickly (curl exit 7), not left hanging in a
# listen queue nobody accepts from.
refused()
{
	curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$HTTP_PORT/healthz" 2>/dev/null
	[ $? -eq 7 ]
}
wait_until 3 refused || fail "new connections still accepted (or hanging) 3 s after SIGTERM"
log "listener closed ${WAITED} ms after SIGTERM (new connections refused)"
alive "$upload" || log "note: the upload finished before the listener check"

wait "$upload"
curl_rc=$?
t_done=$(now_ms)
code=$(cat "$T/upload.code")
body=$(cat "$T/upload.body" 2>/dev/null)
log "upload finished $((t_done - t_term)) ms after SIGTERM: curl rc $curl_rc, status $code, body ${body:0:200}"
[ "$curl_rc" -eq 0 ] || fail "in-flight upload cut by SIGTERM: curl rc $curl_rc ($(cat "$T/upload.err")), status $code"
[[ $code =~ ^[1-5][0-9][0-9]$ ]] && [ "$code" != 000 ] || fail "in-flight upload: no HTTP status ($code)"
[[ $body == '{'* ]] || fail "in-flight upload: answer is not JSON: ${body:0:200}"
[ $((t_done - t_term)) -ge 2000 ] || log "note: the upload finished only $((t_done - t_term)) ms after SIGTERM (expected ~5 s at 50 KB/s)"

master_gone() { ! alive "$MASTER"; }
wait_until 12 master_gone || fail "master still running 12 s after the upload finished"
wait "$MASTER"
rc=$?
log "master exited with status $rc, $(($(now_ms) - t_term)) ms after SIGTERM"
[ "$rc" -eq 0 ] || fail "master exit status $rc after SIGTERM (want 0)"
wait_until 2 none_alive $kids || fail "children still alive after the master exited: $kids"
port_in_use "$HTTP_PORT" && fail "port $HTTP_PORT still listening after exit"

pass "listener closed, in-flight request answered ($code), master exit 0"
