#!/bin/bash
# queue-fair.sh: the admission queue is fair between API keys (issue 15).
# One agent of capacity 2 (its backend's concurrency) serves a model
# whose backend takes SERVICE ms per request. A greedy key sends 40
# requests at once; then a polite key sends several, one after the
# other. Each polite request waits for at most one greedy request before
# it and is answered within about two service times (bound: 3), where a
# FIFO line would make it wait for the whole greedy backlog (~20 service
# times). No greedy request fails: agentd offers the agent no more than
# its capacity (the agent would refuse the excess with 503 backend_busy)
# and every body reaches the backend intact after waiting.
. "$(dirname "$0")/queue-lib.sh"
path_setup
TM_CONCURRENCY=2
QUEUE_TIMEOUT=120s
FIRST_BYTE=120s
path_up

SERVICE=1000
"$PY" "$HERE/queue_load.py" "$API" lab:qwen3:0.6b "$KEY_greedy" "$KEY_polite" $SERVICE 40 6 \
    >"$T/load.json" 2>"$T/load.err" || fail "queue_load.py: $(tail -n 5 "$T/load.err")"
log "load: $(cat "$T/load.json")"
j() { jget "$T/load.json" "$1"; }

check [ "$(j 'sorted(set(j["greedy_status"]))')" = '[200]' ] \
    "all 40 greedy requests served (no 503 backend_busy: errors $(j 'j["greedy_codes"]'))"
check [ "$(j 'sorted(set(j["polite_status"]))')" = '[200]' ] "all polite requests served"
check [ "$(j 'j["bad_len"]')" = 0 ] "every queued body reached the backend intact"
P99=$(j 'sorted(j["polite_ms"])[-1]')
P50=$(j 'sorted(j["polite_ms"])[len(j["polite_ms"]) // 2]')
GMAX=$(j 'j["greedy_ms"][-1]')
log "polite latency: p50 $P50 ms, p99 (max of 6) $P99 ms; service time $SERVICE ms;" \
    "greedy: last answered after $GMAX ms (FIFO would give a late polite request about that)"
check [ "$P99" -lt $((3 * SERVICE)) ] "polite p99 $P99 ms < 3 service times"
check [ "$GMAX" -ge $((15 * SERVICE)) ] "the greedy backlog took $GMAX ms (>= 15 service times): capacity 2 held"
# the agent never had to queue or refuse: agentd kept to its capacity
if grep -q 'waits for a slot on backend\|backend_busy' "$T/tm-tm.log"; then
	fail "agentd offered the agent more than its capacity: $(grep -m 3 'waits for a slot\|backend_busy' "$T/tm-tm.log")"
fi
log "ok: the agent never queued a task nor refused one"
path_pass "polite p99 $P99 ms (service $SERVICE ms, greedy backlog $GMAX ms)"
