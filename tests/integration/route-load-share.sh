#!/bin/bash
# route-load-share.sh: of two replicas, the one with less load gets the
# larger share (issue 15, "Choosing a replica").
#
# Two tokiame replicas of lab:qwen3:0.6b, concurrency 4 each: tm's
# backend (mock "m") streams its answers slowly (10 events, 40 ms apart:
# about 0.4 s a request), tm2's (mock "fast") at once. 200 streamed
# requests, 8 at a time. The router scores a replica by its tasks in
# flight over its capacity, so the slow one, which keeps its tasks
# longer, gets fewer new ones: the fast replica must serve more than 65 %
# of them, and every request must succeed.
#
# On main before the change (least recently picked), each replica got
# half the requests whatever its load.
. "$(dirname "$0")/path-lib.sh"
path_setup
N=${N:-200}
MOCK_ARGS="--pause-ms 40 --chunks 10"
TM_CONCURRENCY=4
path_up
path_second_replica fast
sleep 1 # its model list follows the link

"$PY" "$HERE/route_load.py" --url "$API" --model lab:qwen3:0.6b -n "$N" -c 8 --stream \
    >"$T/load.json" 2>"$T/load.err" || fail "load client: $(tail -n 5 "$T/load.err")"
log "load: $(cat "$T/load.json")"
ok=$(jget "$T/load.json" 'j["codes"].get("200", 0)')
slow=$(grep -c 'on mock: 200' "$T/tm-tm.log")
fast=$(grep -c 'on fast: 200' "$T/tm-tm2.log")
log "slow replica served $slow"
log "fast replica served $fast"
check [ "$ok" = "$N" ] "every request succeeded ($ok of $N)"
check [ $((slow + fast)) -ge "$N" ] "the replicas served them all ($slow + $fast)"
check [ $((fast * 100)) -gt $(((slow + fast) * 65)) ] \
    "the fast replica served more than 65 % ($fast of $((slow + fast)))"
path_pass "fast replica $fast, slow replica $slow of $N requests"
