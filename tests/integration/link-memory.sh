#!/bin/bash
# link-memory.sh: 1,000 idle agents linked to one agentd (h2c, one python
# process with hand-written HTTP/2: tests/integration/link_many.py), and
# agentd's resident memory before and after.
#
# Asserts only that all 1,000 linked (each publishes one model: 1,000
# lab:mNNNN in /v1/models, and 1,000 "linked from" lines in agentd's
# log), that they stay linked for a few PING rounds, that they all leave
# the list when they go, and that agentd survived all of it. Prints
#   agentd RSS per idle agent: N KiB (1000 agents, X ms to link them all)
# for the notes. N_AGENTS (default 1000) changes the count.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/link-lib.sh"

N=${N_AGENTS:-1000}
link_setup
# the client holds N sockets; agentd N plus its own: raise the soft limit
# (children inherit it) as far as the hard limit allows
ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((N + 200)) ] &&
    skip "ulimit -n is $(ulimit -n): $N agents need $((N + 200)) descriptors"
T_START=$(now_ms)
link_token lab
NAMESPACES_YAML="  lab: { tokens: [\"$HASH\"] }"
# PINGs every second, but a long ping_timeout: one python process serving
# 1,000 sockets on a loaded machine may answer a PING late, and this test
# is about memory, not about the PING timeout (link-tokiame.sh is)
AGENT_OPTS="max_agents: $((N + 100)), ping_interval: 1s, ping_timeout: 15s"
WORKERS=1
link_node "$T/tokilake.yaml" plain
AGENTD=$(agentd_pid) || fail "no agentd"

# VmRSS in KiB
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
RSS0=$(rss "$AGENTD")
log "agentd $AGENTD: VmRSS $RSS0 KiB with no agent"

log_mark
"$PY" -u "$HERE/link_many.py" --addr "127.0.0.1:$AGENT_PORT" --namespace lab --token "$TOKEN" \
    -n "$N" --timeout 40 >"$T/many.out" 2>"$T/many.err" </dev/null &
MANY=$!
TL_PIDS+=("$MANY")
many_said() { grep -q "^$1" "$T/many.out"; }
wait_until 45 many_said LINKED || fail "link_many.py did not finish linking: $(cat "$T/many.err")"
read -r _ LINKED LINK_MS < <(grep '^LINKED' "$T/many.out")
grep '^ERRORS' "$T/many.out" && log "client errors: $(grep '^ERRORS' "$T/many.out")"
[ "$LINKED" = "$N" ] || fail "only $LINKED of $N agents linked in $LINK_MS ms"
log "ok: $N agents registered in $LINK_MS ms (client's count)"

count_models() { model_ids | grep -c '^lab:m[0-9]'; }
wait_until 5 eval '[ "$(count_models)" = "$N" ]' || fail "/v1/models lists $(count_models) of $N models"
log "ok: /v1/models lists all $N lab:mNNNN"
check_models_format || fail "/v1/models format: $(cat "$T/models-format.out")"
NLOG=$(log_count 'agentd .* of namespace lab linked from')
[ "$NLOG" = "$N" ] || fail "agentd logged $NLOG links, expected $N"
log "ok: agentd logged $N links"

# idle through a few PING rounds (ping_interval 1s):
# nobody may be dropped
sleep 3.5
check_alive() { alive "$AGENTD" && [ "$(agentd_pid)" = "$AGENTD" ]; }
lcheck check_alive "agentd $AGENTD still the same process"
[ "$(count_models)" = "$N" ] || fail "after 3.5 s idle only $(count_models) models listed"
in_log 'unlinked' && fail "agents were unlinked while idle: $(tail -n +"$LOG_FROM" "$T/tokilake.log" | grep -m3 unlinked)"
log "ok: all $N still linked after 3.5 s of PINGs"

RSS1=$(rss "$AGENTD")
PER=$(( (RSS1 - RSS0) / N ))
PER10=$(( (RSS1 - RSS0) * 10 / N % 10 ))
log "agentd VmRSS: $RSS0 KiB before, $RSS1 KiB with $N idle agents"
echo "agentd RSS per idle agent: $PER.$PER10 KiB ($N agents, $LINK_MS ms to link them all)"
note "agentd RSS per idle agent (KiB)" "$PER.$PER10 ($N agents, $LINK_MS ms to link them all; VmRSS $RSS0 -> $RSS1 KiB)"

# they all leave: the list empties, agentd stays
kill -TERM "$MANY"
wait_until 10 none_alive "$MANY" || fail "link_many.py did not stop"
wait "$MANY"
RC=$?
grep -E '^(LOST|BYE)' "$T/many.out" | while read -r l; do log "client: $l"; done
grep -q '^LOST 0$' "$T/many.out" || fail "the server dropped idle agents: $(grep '^LOST' "$T/many.out")"
[ "$RC" = 0 ] || fail "link_many.py exited $RC"
T0=$(now_ms)
wait_until 10 eval '[ "$(count_models)" = 0 ]' || fail "$(count_models) models still listed after the agents left"
log "ok: all $N models gone $(ms_since "$T0") ms after the agents left"
lcheck check_alive "agentd survived"
log "agentd VmRSS after they left: $(rss "$AGENTD") KiB"
log "took $(ms_since "$T_START") ms"
link_pass
