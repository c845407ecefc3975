#!/bin/bash
# queue-worker-gone.sh: requests waiting in the admission queue belong to
# their worker's connection to agentd. One agent of capacity 1 runs a
# long request; three more wait. The worker (one: all four are its) is
# killed (kill -9): agentd drops the waiting requests with its connection
# (and says how many), cancels the running task, and stays up; once the
# master has a new worker, a new request is served at once: nothing
# waits any more and no slot is held. The backend saw 2 requests in all.
. "$(dirname "$0")/queue-lib.sh"
path_setup
TM_CONCURRENCY=1
WORKERS=1
QUEUE_TIMEOUT=60s
FIRST_BYTE=60s
path_up

AGENTD=$(pids_of agentd)
bg run "$KEY_greedy" 30000
wait_until 10 offered 1 || fail "the first request was not offered to the agent"
bg q1 "$KEY_greedy" 100
bg q2 "$KEY_polite" 100
bg q3 "$KEY_greedy" 100
wait_until 10 waiting 3 || fail "three requests do not wait"
log "ok: 1 runs, 3 wait"

kill -9 $(pids_of worker)
dropped()
{
	[ "$(sed -n 's/.*closed with \([0-9]*\) request(s) waiting for a replica: dropped.*/\1/p' \
	    "$T/tokilake.log" | awk '{ n += $1 } END { print n + 0 }')" = 3 ]
}
wait_until 10 dropped || fail "agentd did not drop the 3 waiting requests: $(grep 'waiting for a replica' "$T/tokilake.log")"
log "ok: agentd dropped the waiting requests with their worker connections"
wait_until 10 roles_known "${WORKERS:-2}" || fail "no new workers"
check [ "$(pids_of agentd)" = "$AGENTD" ] "agentd is the same process"
for p in "${BG[@]}"; do wait "$p"; done
bg after "$KEY_polite" 100
wait_until 10 done_file after || fail "a request after the workers came back was not answered"
check [ "$(cat "$T/after.code")" = 200 ] "a new request is served ($(cat "$T/after.ms") ms): no slot held, nothing waits"
total=$(curl -s "$MOCK_URL/mock/requests" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["paths"].get("/v1/chat/completions", 0))')
check [ "$total" = 2 ] "the backend saw 2 chat requests (the dropped ones never reached it)"
path_pass "waiting requests dropped with their worker connections"
