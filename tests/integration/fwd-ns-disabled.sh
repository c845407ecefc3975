#!/bin/bash
# fwd-ns-disabled.sh: an agent whose namespace is disabled (issue 13).
#
# First: tokiame logs the node by its node.name ("a"), as tokilakectl
# shows it, not by the node's host name.
#
# One node on PostgreSQL, tokiame linked with reconnect.max 30s. After
# `tokilakectl namespace disable lab` the agent is disconnected and every
# new attempt is refused with PERMISSION_DENIED "namespace disabled" (not
# "invalid token", which would send it to its 30 s maximum); tokiame logs
# that the namespace is disabled and keeps retrying at most every 5 s;
# agentd logs the refusal. After `namespace enable lab` the agent is
# listed again within 10 s.
. "$(dirname "$0")/fwd-lib.sh"
fwd_setup
mock_start m
fwd_node_start a
AGENT_PORT=${NODE_AGENT[a]}
TM_RECONNECT='{ initial: 500ms, max: 30s }' tm_write tm
tm_start tm
wait_until 15 fwd_linked a "lab:qwen3:0.6b" || fail "lab:qwen3:0.6b not listed 15 s after tokiame started"
# the node as tokilakectl names it (node.name "a"), not the host name
grep -q 'registered on node "a" ' "$T/tm-tm.log" ||
    fail "tokiame does not name the node by node.name: $(grep -m1 'registered on node' "$T/tm-tm.log")"
log "ok: $(grep -m1 'registered on node' "$T/tm-tm.log" | cut -c1-160)"

"$CTL" -d "$(pg_url)" namespace disable lab >"$T/ctl.out" 2>&1 || fail "disable: $(cat "$T/ctl.out")"
gone() { ! fwd_linked a "lab:qwen3:0.6b"; }
wait_until 10 gone || fail "the agent of a disabled namespace still listed"
tm_said() { grep -Eq -- "$1" "$T/tm-tm.log"; }
wait_until 15 tm_said 'namespace "lab" is disabled' ||
    fail "tokiame did not say the namespace is disabled: $(grep -i 'link to' "$T/tm-tm.log" | tail -n 3)"
log "ok: tokiame says: $(grep -m1 'namespace "lab" is disabled' "$T/tm-tm.log" | cut -c1-240)"
grep -q 'namespace "lab" is disabled: refused' "$T/node-a.log" ||
    fail "agentd did not log the refusal: $(grep 'agent link' "$T/node-a.log" | tail -n 3)"
tm_said 'invalid token' && fail "tokiame was told invalid token: $(grep -m1 'invalid token' "$T/tm-tm.log")"
# long enough for a 30 s back-off to have started
sleep 4
"$CTL" -d "$(pg_url)" namespace enable lab >"$T/ctl.out" 2>&1 || fail "enable: $(cat "$T/ctl.out")"
T0=$(now_ms)
wait_until 10 fwd_linked a "lab:qwen3:0.6b" ||
    fail "the agent not back within 10 s of enabling its namespace: $(grep 'link to' "$T/tm-tm.log" | tail -n 2)"
log "MEASURE namespace enabled to the agent listed again (ms): $(($(now_ms) - T0))"
fwd_pass
