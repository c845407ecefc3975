#!/bin/bash
# chaos-load.sh: a steady load while processes die or stop; every request
# gets an answer (issue 12, "chaos under load").
#
# Two tokiame replicas (tm, tm2) of namespace lab, the mock backend, two
# workers. chaos_load.py sends 20 chat completions a second for the whole
# run, half streamed (10 events 60 ms apart: streams are in flight when
# something dies), one connection per request. In turn, each phase ~8 s:
#   baseline      nothing happens
#   kill-worker   a worker is stopped (SIGSTOP: it accepts no more), the
#                 client ports of the connections it holds are read
#                 (ss -tnp), then it gets kill -9; the master respawns it
#   kill-agentd   kill -9 agentd; the master respawns it, agents relink;
#                 requests started after the kill must all succeed (they
#                 wait for the new agentd and for the agents to relink)
#   kill-tokiame  kill -9 tm2, restarted at once
#   stop-tokiame  SIGSTOP tm for 4 s (less than ping_timeout, 10 s here),
#                 SIGCONT; requests started meanwhile must not wait for it
#                 (slowest <= 2.5 s; streams take ~0.6 s): the offers it
#                 does not accept go to tm2 (agents.accept_timeout)
# Each request counts in the phase whose kill caught it under way, else in
# the phase it started in, as one of: ok, error
# answered (an OpenAI-shaped error, or an SSE error event once streaming;
# split into requests under way at a kill and requests started while a
# process was down), cut in the killed process (the connection dropped,
# its client port was one the killed worker held and it was under way at
# the kill), silent cut, hang (nothing for 30 s).
# The test prints the counts per phase and fails on any silent cut or
# hang outside the killed process, and on any error for a request that
# started after the agentd kill (err-new in kill-agentd). Bounded to about 60-90 s. On main
# before the fix the stop phase fails: half its requests wait for SIGCONT.
. "$(dirname "$0")/path-lib.sh"
path_setup
PHASE_S=${PHASE_S:-8}
STOP_S=4
# a stopped agent keeps its link (path-lib's ping_timeout, 3 s, would drop
# it during STOP_S): what is measured is routing around it
eval "path_lib_$(declare -f path_write_config)"
path_write_config()
{
	path_lib_path_write_config "$1"
	sed -i 's/^  ping_timeout: .*/  ping_timeout: 10s/' "$1"
}

path_up
tm_write tm2
tm_start tm2
n_linked() { grep -c 'of namespace lab linked from' "$T/tokilake.log"; }
wait_until 15 eval '[ "$(n_linked)" -ge 2 ]' || fail "the second replica did not link"

: >"$T/phases"
phase() { echo "$1 $(now_ms)" >>"$T/phases"; log "phase $1"; }
: >"$T/kills"
# the time just before a kill: answers caused by it end after it
killed_now() { echo "$1 $(now_ms)" >>"$T/kills"; }

phase baseline
"$PY" "$HERE/chaos_load.py" --url "$API" --model lab:qwen3:0.6b --rate 20 \
    --until "$T/stop-load" --timeout 30 --stream-ratio 0.5 \
    --header "x-mock-chunks: 10" --header "x-mock-pause-ms: 60" \
    --out "$T/load.jsonl" >"$T/load.out" 2>&1 &
LOAD_PID=$!
TL_PIDS+=("$LOAD_PID")
sleep "$PHASE_S"

# -- kill -9 a worker -------------------------------------------------------
phase kill-worker
W=$(pids_of worker | head -n 1)
OLD_WORKERS=$(pids_of worker | tr '\n' ' ')
kill -STOP "$W"
sleep 0.2 # an accept it was inside of finishes in the kernel, not in W
ss -tnpH state established "( sport = :$HTTP_PORT )" 2>/dev/null |
    grep "pid=$W," | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u >"$T/killed-ports"
killed_now worker
kill -9 "$W"
log "worker $W killed while holding $(wc -l <"$T/killed-ports") client connections"
wait_until 10 new_pid_not_in "$OLD_WORKERS" worker || fail "worker $W not respawned"
wait_until 10 roles_known 2 || fail "the workers did not come back"
sleep "$PHASE_S"

# -- kill -9 agentd ---------------------------------------------------------
phase kill-agentd
A=$(pids_of agentd)
linked_before=$(n_linked)
killed_now agentd
kill -9 "$A"
log "agentd $A killed"
wait_until 10 new_pid_not_in "$A" agentd || fail "agentd not respawned"
wait_until 15 eval '[ "$(n_linked)" -ge $((linked_before + 2)) ]' ||
    fail "the two agents did not relink to the new agentd"
log "both agents relinked"
sleep "$PHASE_S"

# -- kill -9 one tokiame, restart it ----------------------------------------
phase kill-tokiame
linked_before=$(n_linked)
killed_now tokiame
kill -9 "${TM_PIDS[tm2]}"
wait "${TM_PIDS[tm2]}" 2>/dev/null
log "tokiame tm2 (pid ${TM_PIDS[tm2]}) killed; restarting it"
unset "TM_PIDS[tm2]"
tm_start tm2
wait_until 15 eval '[ "$(n_linked)" -gt "$linked_before" ]' || fail "tm2 did not relink"
sleep "$PHASE_S"

# -- SIGSTOP, then SIGCONT, one tokiame --------------------------------------
phase stop-tokiame
killed_now stopped-tokiame
kill -STOP "${TM_PIDS[tm]}"
sleep "$STOP_S"
echo "continued $(now_ms)" >"$T/continued"
kill -CONT "${TM_PIDS[tm]}"
log "tokiame tm stopped $STOP_S s, continued"
sleep "$PHASE_S"

phase end
touch "$T/stop-load"
wait "$LOAD_PID" || fail "load client failed: $(tail -n 5 "$T/load.out")"
log "load: $(cat "$T/load.out")"

"$PY" - "$T/load.jsonl" "$T/phases" "$T/killed-ports" "$T/kills" "$T/continued" >"$T/report" 2>&1 <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
phases = [(l.split()[0], int(l.split()[1])) for l in open(sys.argv[2])]
killed_ports = set(int(p) for p in open(sys.argv[3]).read().split())
kills = dict((l.split()[0], int(l.split()[1])) for l in open(sys.argv[4]))
order = [p[0] for p in phases if p[0] != "end"]
cols = ["ok", "err_inflight", "err_new", "cut_killed", "cut", "hang"]
counts = {p: dict.fromkeys(cols, 0) for p in order}
bad = []
phase_of_kill = {"worker": "kill-worker", "agentd": "kill-agentd", "tokiame": "kill-tokiame",
                 "stopped-tokiame": "stop-tokiame"}
for r in recs:
    # the phase it started in, or the one whose kill caught it under way
    ph = order[0]
    for name, t in phases:
        if name != "end" and r["start_ms"] >= t:
            ph = name
    for k, t in kills.items():
        if r["start_ms"] < t <= r["end_ms"]:
            ph = phase_of_kill[k]
    o = r["outcome"]
    kw = kills.get("worker")
    # in the killed worker: its client port was one the worker held
    # when it was stopped, and the request was under way at the kill
    if o == "cut" and kw and r["port"] in killed_ports and r["start_ms"] < kw <= r["end_ms"] + 50:
        o = "cut_killed"
    if o == "error":
        inflight = any(r["start_ms"] < t <= r["end_ms"] for t in kills.values())
        # sent to agentd in the instant between its kill and the worker
        # reading the EOF: it was in the killed process all the same
        ka = kills.get("agentd")
        if ka and 0 <= r["start_ms"] - ka < 1000 and "agent broker was lost" in r["detail"]:
            inflight = True
        o = "err_inflight" if inflight else "err_new"
    counts[ph][o] += 1
    if o in ("cut", "hang"):
        bad.append((ph, r))
print("%-13s %5s %13s %9s %11s %11s %5s" % ("phase", "ok", "err-inflight", "err-new",
      "cut-killed", "silent-cut", "hang"))
for p in order:
    c = counts[p]
    print("%-13s %5d %13d %9d %11d %11d %5d" % (p, c["ok"], c["err_inflight"], c["err_new"],
          c["cut_killed"], c["cut"], c["hang"]))
print("the killed worker held %d client connections when stopped; %d requests on them were cut" %
      (len(killed_ports), sum(c["cut_killed"] for c in counts.values())))
print("err-inflight: under way when a process was killed; err-new: started after, while "
      "it was down (e.g. no agentd yet)")
# a request that arrives while agentd restarts waits for it (the worker:
# http.agentd_wait; the new agentd: agents.relink_grace): none may fail
if counts["kill-agentd"]["err_new"]:
    print("BAD: %d requests started after the agentd kill got an error" %
          counts["kill-agentd"]["err_new"])
    bad.append(("kill-agentd", {"err_new": counts["kill-agentd"]["err_new"]}))
for ph, r in bad[:10]:
    print("BAD %s: %s" % (ph, r))
seen = set()
for r in recs:
    if r["outcome"] == "error":
        d = r["detail"][:110]
        if d not in seen:
            seen.add(d)
            print("error answered: %d %s" % (r["status"], d))
# requests that started while tm was stopped went to tm2 at most one
# accept deadline (250 ms) late: none waited for SIGCONT (4 s)
stop_at, cont_at = kills["stopped-tokiame"], int(open(sys.argv[5]).read().split()[1])
during = [r for r in recs if stop_at <= r["start_ms"] < cont_at]
slow = max((r["end_ms"] - r["start_ms"] for r in during), default=0)
print("started while tm was stopped: %d requests, slowest %d ms (streams take ~600 ms)" %
      (len(during), slow))
if not during or slow > 2500:
    print("BAD: requests started while an agent was stopped waited for it")
    bad.append(("stop-tokiame", {"slowest_ms": slow}))
sys.exit(1 if bad else 0)
EOF
rc=$?
while read -r line; do log "$line"; done <"$T/report"
[ "$rc" = 0 ] || fail "silent cuts or hangs outside the killed process, errors for requests started after the agentd kill, or waits for a stopped agent (above)"
total=$(wc -l <"$T/load.jsonl")
check [ "$total" -ge 300 ] "the load ran: $total requests"
path_pass "$total requests under chaos: no silent cut, no hang"
