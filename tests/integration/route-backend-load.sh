#!/bin/bash
# route-backend-load.sh: the load a backend reports steers the pick
# (issue 15: slice A's per model load read by slice B's router).
#
# Two tokiame replicas of lab:qwen3:0.6b, both idle as far as tokilake's
# own counts go (requests one at a time: no task in flight anywhere when
# one is picked). Mock "m" behind tm says on its vLLM /metrics that 50
# requests wait in its queue; mock "free" behind tm2 says none. Once
# agentd has the busy figures from tm's heartbeat, 30 requests in a row:
# the router scores the busy replica by its backend's queue, so the free
# one must serve at least 27 of them, and every request must succeed.
#
# Before the wiring (the pick reading only the tasks this node has open),
# both scored the same and took turns: about 15 each.
. "$(dirname "$0")/path-lib.sh"
path_setup
N=${N:-30}
TM_CONCURRENCY=4
path_up
BUSY_URL=$MOCK_URL
path_second_replica free
FREE_URL=$SECOND_URL

curl -s --max-time 2 -X POST "$BUSY_URL/mock/load" -d '{"waiting":50,"running":4,"metrics":"vllm"}' \
    >/dev/null || fail "POST /mock/load to the busy mock"
curl -s --max-time 2 -X POST "$FREE_URL/mock/load" -d '{"waiting":0,"running":0,"metrics":"vllm"}' \
    >/dev/null || fail "POST /mock/load to the free mock"

chat() {
	req POST /v1/chat/completions -H 'content-type: application/json' \
	    -d '{"model":"lab:qwen3:0.6b","messages":[]}'
	[ "$CODE" = 200 ] || fail "chat: $CODE $BODY"
}
# traffic on both (the probe reads while its backend has traffic) until
# agentd has the busy backend's queue from tm's heartbeat
busy_known()
{
	chat
	grep -Eq 'load agent [^ ]+ model qwen3:0\.6b: in_flight [0-9]+/[0-9]+ waiting 50 ' \
	    "$T/tokilake.log"
}
wait_until 20 busy_known || fail "agentd never logged the busy backend's queue: $(grep 'load agent' "$T/tokilake.log" | tail -3)"
log "ok: $(grep -Em1 'waiting 50 ' "$T/tokilake.log" | sed 's/.*load agent/load agent/')"

busy0=$(grep -c 'on mock: 200' "$T/tm-tm.log")
free0=$(grep -c 'on free: 200' "$T/tm-tm2.log")
for i in $(seq 1 "$N"); do chat; done
busy=$(($(grep -c 'on mock: 200' "$T/tm-tm.log") - busy0))
free=$(($(grep -c 'on free: 200' "$T/tm-tm2.log") - free0))
log "busy replica served $busy, free replica $free"
check [ $((busy + free)) -ge "$N" ] "the replicas served them all ($busy + $free)"
check [ "$free" -ge $((N * 9 / 10)) ] "the replica whose backend has no queue served at least 90 % ($free of $N)"
path_pass "busy backend $busy, free backend $free of $N requests"
