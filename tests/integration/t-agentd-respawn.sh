#!/usr/bin/env bash
# kill -9 of agentd: the master forks a new one within 1 s, the workers
# reconnect and /v1/models answers 200 again within 2 s; while agentd is
# down a request that needs it waits (http.agentd_wait) and gets 200, or a
# 503 past the wait, never a hang.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
tl_setup

write_config "$T/tokilake.yaml"
start_and_wait "$T/tokilake.yaml" 2
wait_for_http "http://127.0.0.1:$HTTP_PORT/v1/models" 200 3 || fail "/v1/models not 200 at start"

agentd=$(pids_of agentd)
workers=$(pids_of worker | tr '\n' ' ')

# /v1/models on new connections all along, each bounded at 3 s.
load_start /v1/models
sleep 0.3
log_mark
t0=$(now_ms)
kill -9 "$agentd"
wait_until 3 new_pid_not_in "$agentd" agentd ||
    fail "no new agentd within 3 s after kill -9 $agentd"
seen_ms=$(($(now_ms) - t0))
wait_until 2 respawned_ready agentd "$t0" ||
    fail "no \"started agentd (pid $NEW_PID\" and \"is ready\" lines in the master's log"
respawn_ms=$STARTED_MS
log "agentd $agentd killed; new agentd $NEW_PID forked after ${STARTED_MS} ms, ready after ${READY_MS} ms (seen by pgrep after ${seen_ms} ms)"
[ "$respawn_ms" -le 1000 ] || fail "agentd respawn took ${respawn_ms} ms (limit 1000)"
[ "$READY_MS" -le 1000 ] || fail "the new agentd was ready only after ${READY_MS} ms (limit 1000)"

# Each worker logs "agentd link up" when it has reconnected.
relinked()
{
	local w t
	relink_ms=0
	for w in $workers; do
		t=$(log_ms "\[$w\] worker [0-9]+ info: agentd link up") || return 1
		[ $((t - t0)) -gt "$relink_ms" ] && relink_ms=$((t - t0))
	done
	return 0
}
wait_until 3 relinked || fail "workers did not all log \"agentd link up\" within 3 s of the kill"
log "every worker relinked to agentd ${relink_ms} ms after the kill (master's log)"
[ "$relink_ms" -le 2000 ] || fail "workers relinked only after ${relink_ms} ms (limit 2000)"
wait_for_http "http://127.0.0.1:$HTTP_PORT/v1/models" 200 2 ||
    fail "/v1/models not 200 within 2 s of the workers relinking"
sleep 0.5
load_stop "200 503"
log "requests around the kill: $LOAD_TOTAL ($(load_summary)slowest ${LOAD_MAX_MS} ms)"
[ "$LOAD_BAD" -eq 0 ] || fail "/v1/models around an agentd kill: only 200 or 503 allowed, got $(load_summary)"
[ "$LOAD_MAX_MS" -lt 2000 ] || fail "a /v1/models request took ${LOAD_MAX_MS} ms while agentd restarted"

# A 503 while agentd is down must be OpenAI-shaped: catch one if we can by
# asking right after a second kill.
agentd=$(pids_of agentd)
kill -9 "$agentd"
CURL_MAX_TIME=3 req GET /v1/models
case $CODE in
200) log "ok: /v1/models right after a kill: 200 (agentd back already)" ;;
503) is_openai_error || fail "503 while agentd is down is not OpenAI-shaped: $BODY"
     log "ok: /v1/models right after a kill: 503 $BODY" ;;
*) fail "/v1/models right after an agentd kill: $CODE (curl rc $CURL_RC) $BODY" ;;
esac
wait_until 3 new_pid_not_in "$agentd" agentd || fail "no new agentd after the second kill"
wait_for_http "http://127.0.0.1:$HTTP_PORT/v1/models" 200 2 || fail "/v1/models not 200 after the second restart"

# Every worker must reach the new agentd, not just one: ask enough times
# on new connections that both workers are hit.
bad=0
for i in $(seq 1 20); do
	req GET /v1/models
	[ "$CODE" = 200 ] || bad=$((bad + 1))
done
[ "$bad" -eq 0 ] || fail "$bad of 20 /v1/models after agentd restart were not 200 (last: $CODE $BODY)"
[ "$(pids_of worker | tr '\n' ' ')" = "$workers" ] ||
    fail "workers changed on an agentd kill: $workers -> $(pids_of worker | tr '\n' ' ')"
wait_until 2 roles_known 2 || fail "not 2 workers + 1 agentd: $(children | tr '\n' ' ')"

pass "agentd forked ${respawn_ms} ms, ready ${READY_MS} ms after kill -9; workers relinked after ${relink_ms} ms"
