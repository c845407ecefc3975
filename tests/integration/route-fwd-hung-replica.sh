#!/bin/bash
# route-fwd-hung-replica.sh: the re-offer of route-hung-replica.sh on the
# multi-node path (issue 12, defect 3). Two nodes on one PostgreSQL; both
# replicas of namespace lab are linked to node b; clients talk to node a,
# which forwards every request to b, where it is offered. One replica is
# stopped (SIGSTOP): the offers it does not accept are withdrawn on b and
# re-offered to the other replica, so 20 requests a second through a for
# 5 s all succeed, none slower than the accept deadline plus slack.
. "$(dirname "$0")/fwd-lib.sh"
LOAD_S=${LOAD_S:-5}
# the stopped link must stay up (fwd-lib's ping_timeout is 3 s)
eval "fwd_lib_$(declare -f fwd_write_config)"
fwd_write_config()
{
	fwd_lib_fwd_write_config "$1"
	sed -i 's/^  ping_timeout: .*/  ping_timeout: 60s/' "$T/$1.yaml"
}
fwd_setup
fwd_up
tm_write tm2
tm_start tm2
two_on_b() { [ "$(grep -c 'of namespace lab linked from' "$T/node-b.log")" -ge 2 ]; }
wait_until 15 two_on_b || fail "the second replica did not link to node b"
# a sees both (through the database) before the load starts
sleep 1

kill -STOP "${TM_PIDS[tm2]}"
log "tm2 stopped; load through node a: 20 req/s for $LOAD_S s"
"$PY" "$HERE/chaos_load.py" --url "$API" --model lab:qwen3:0.6b --rate 20 \
    --duration "$LOAD_S" --timeout 30 --out "$T/load.jsonl" >"$T/load.out" 2>&1 ||
    fail "load client: $(tail -n 5 "$T/load.out")"
log "load: $(cat "$T/load.out")"
read -r n bad worst <<<"$("$PY" - "$T/load.jsonl" <<'PYEOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
bad = [r for r in recs if r["outcome"] != "ok"]
for r in bad[:5]:
    print("BAD", r, file=sys.stderr)
print(len(recs), len(bad), max(r["end_ms"] - r["start_ms"] for r in recs))
PYEOF
)" || fail "cannot read the load results"
reoffered=$(grep -c 'did not accept it, offering it to agent' "$T/node-b.log")
check [ "$bad" = 0 ] "zero failed requests through node a with one replica on b stopped ($n sent)"
check [ "$reoffered" -ge 1 ] "node b withdrew and re-offered $reoffered offers"
check [ "$worst" -le $((250 + 1500)) ] "the slowest request took $worst ms"
kill -CONT "${TM_PIDS[tm2]}"
fwd_pass "forwarded requests re-offered on the node that offered them"
