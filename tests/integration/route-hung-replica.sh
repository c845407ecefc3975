#!/bin/bash
# route-hung-replica.sh: a replica that stops answering (SIGSTOP: its link
# stays open) costs no request (issue 12, defect 3).
#
# Two tokiame replicas of namespace lab, agents.accept_timeout at its
# default (250ms), ping_timeout 60s (the link stays up). One
# is stopped with SIGSTOP, then a steady load of 20 chat completions a
# second (half of them streamed) runs for 6 s. Every request must succeed;
# the slowest may take about the accept deadline more than an ordinary
# one (bound: 250 ms + 1.5 s of slack for a busy machine). tokilake logs
# the unresponsive mark once, not per task. After SIGCONT the replica
# shows life and takes tasks again, and the offers withdrawn from it that
# it accepts late are refused (NOT_FOUND) and dropped quietly: its log has
# no warning about them, and no request failed.
#
# Then, with tm2 gone and accept_timeout reloaded to 600ms, the lone
# replica tm is stopped for 1.5 s during a request: the request waits for
# it and succeeds (the offer stays), and the mark names the new deadline.
#
# On main before the fix, the stopped replica keeps getting about half the
# tasks, each failing after ping_timeout (here 3 s) or the 10 s accept
# wait: many failed requests.
. "$(dirname "$0")/path-lib.sh"
path_setup
LOAD_S=${LOAD_S:-6}
# path-lib's ping_timeout (3 s) would drop the stopped link during the
# load: here it must stay open, as a SIGSTOPped agent's does with defaults
eval "path_lib_$(declare -f path_write_config)"
path_write_config()
{
	path_lib_path_write_config "$1"
	sed -i 's/^  ping_timeout: .*/  ping_timeout: 60s/' "$1"
}
in_log() { tail -n +"${LOG_FROM:-1}" "$T/tokilake.log" | grep -Eq -- "$1"; }
ms_since() { echo $(($(now_ms) - $1)); }
log_count() { tail -n +"${LOG_FROM:-1}" "$T/tokilake.log" | grep -Ec -- "$1"; }

path_up
tm_write tm2
tm_start tm2
two_linked() { [ "$(grep -c 'of namespace lab linked from' "$T/tokilake.log")" -ge 2 ]; }
wait_until 15 two_linked || fail "the second replica did not link"
# both serve: a few requests reach each
for i in 1 2 3 4; do req POST /v1/chat/completions -H 'content-type: application/json' \
    -d '{"model":"lab:qwen3:0.6b","messages":[]}'; [ "$CODE" = 200 ] || fail "warm-up: $CODE $BODY"; done

STOPPED=${TM_PIDS[tm2]}
kill -STOP "$STOPPED"
log "tokiame tm2 (pid $STOPPED) stopped with SIGSTOP; load: 20 req/s for $LOAD_S s"
log_mark
"$PY" "$HERE/chaos_load.py" --url "$API" --model lab:qwen3:0.6b --rate 20 \
    --duration "$LOAD_S" --timeout 30 --out "$T/load.jsonl" >"$T/load.out" 2>&1 ||
    fail "load client: $(tail -n 5 "$T/load.out")"
log "load: $(cat "$T/load.out")"

# latency of the requests: median and slowest (ms)
read -r n bad p50 worst <<<"$("$PY" - "$T/load.jsonl" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
bad = [r for r in recs if r["outcome"] != "ok"]
lat = sorted(r["end_ms"] - r["start_ms"] for r in recs)
for r in bad[:5]:
    print("BAD", r, file=sys.stderr)
print(len(recs), len(bad), lat[len(lat) // 2], lat[-1])
EOF
)" || fail "cannot read the load results"
note requests "$n"
note median_ms "$p50"
note slowest_ms "$worst"
reoffered=$(log_count 'did not accept it, offering it to agent')
note reoffered "$reoffered"
check [ "$n" -ge $((LOAD_S * 20 * 9 / 10)) ] "the load sent $n requests"
check [ "$bad" = 0 ] "zero failed requests with one replica stopped ($n sent)"
check [ "$(log_count 'marked unresponsive')" = 1 ] "the unresponsive mark is logged once"
check [ "$reoffered" -ge 1 ] "offers were withdrawn from the stopped replica and re-offered ($reoffered)"
check [ "$worst" -le $((250 + 1500)) ] "the slowest request took $worst ms (accept deadline 250 ms)"

# back to life: it answers the PING, the mark goes, it takes tasks again
kill -CONT "$STOPPED"
log_mark
# the mark is looked at when a task is routed: a request a tenth of a second
routed_and_seen()
{
	req POST /v1/chat/completions -H 'content-type: application/json' \
	    -d '{"model":"lab:qwen3:0.6b","messages":[]}'
	[ "$CODE" = 200 ] || fail "after SIGCONT: $CODE $BODY"
	in_log 'responds again'
}
wait_until 10 routed_and_seen || fail "the replica was not seen again after SIGCONT"
log "seen again: $(tail -n +"$LOG_FROM" "$T/tokilake.log" | grep -m1 'responds again' | sed 's/^.*agentd //')"
served_by_tm2() { grep -c 'on mock: 200' "$T/tm-tm2.log"; }
before=$(served_by_tm2)
for i in $(seq 1 8); do
	req POST /v1/chat/completions -H 'content-type: application/json' \
	    -d '{"model":"lab:qwen3:0.6b","messages":[]}'
	[ "$CODE" = 200 ] || fail "after SIGCONT: $CODE $BODY"
done
check [ "$(served_by_tm2)" -gt "$before" ] "the replica takes tasks again after SIGCONT"
# the late accepts of withdrawn offers: refused, dropped without a warning
late_re='withdrew|dropped or withdrew'
late=$(grep -Ec "$late_re" "$T/tm-tm2.log")
log "tm2 was refused $late late accepts: $(grep -Em1 "$late_re" "$T/tm-tm2.log" | sed 's/^.*tokiame\[[0-9]*\] //')"
check [ "$late" -ge 1 ] "the late accepts of withdrawn offers were refused"
if grep -E 'WARN|warn' "$T/tm-tm2.log" | grep -Ei 'task|NOT_FOUND' | grep -v 'backend_busy' >"$T/tm2-warn"; then
	fail "tm2 warned about withdrawn tasks: $(head -n 3 "$T/tm2-warn")"
fi

# policy 3: with no other replica, an offer stays with the agent it has
# (a stopped agent costs latency, not a 503 or a 504 after the deadline)
tm_stop tm2
# and agents.accept_timeout changes on reload: 600ms from now on
sed -i 's/^  ping_timeout: .*/&\n  accept_timeout: 600ms/' "$T/tokilake.yaml"
log_mark
kill -HUP "$MASTER"
wait_until 10 in_log 'reload: generation [0-9]+ serves' || fail "the reload did not finish"
in_log 'reload failed' && fail "reload: $(grep 'reload failed' "$T/tokilake.log" | tail -n 1)"
log_mark
kill -STOP "${TM_PIDS[tm]}"
( sleep 1.5; kill -CONT "${TM_PIDS[tm]}" ) &
CONT_PID=$!
t0=$(now_ms)
req POST /v1/chat/completions -H 'content-type: application/json' \
    -d '{"model":"lab:qwen3:0.6b","messages":[]}'
took=$(ms_since "$t0")
wait "$CONT_PID"
check [ "$CODE" = 200 ] "the only replica, stopped 1.5 s, still answers ($CODE after $took ms)"
check [ "$took" -ge 1400 ] "it waited for the agent rather than failing ($took ms)"
check in_log 'marked unresponsive' "the lone replica was marked unresponsive meanwhile"
check in_log 'did not accept task [0-9]+ within 600 ms' "after the reload the deadline is 600 ms"
path_pass "one replica stopped: $n requests, none failed; median $p50 ms, slowest $worst ms"
