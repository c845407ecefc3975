#!/bin/bash
# pg-events: the events table tells what happened to a crashed node.
#
#   - node b killed (kill -9) and started again: the agent it had before
#     the crash gets its 'agent_unlinked' event ("node restarted") when
#     the new b clears its old rows;
#   - node b killed for good: node a's sweep expires it: one
#     'node_expired' event for b, and 'agent_unlinked' ("node b expired")
#     for the agent it had; the sweeps after it write nothing more.
. "$(dirname "$0")/fwd-lib.sh"

FWD_TTL=2s
FWD_HB=500ms

fwd_setup
fwd_up

ev() { pgq "SELECT count(*) FROM events WHERE kind = '$1' AND node = 'b' AND detail LIKE '$2'"; }
ev_is() { [ "$(ev "$1" "$2")" = "$3" ]; }
linked_on() { fwd_linked "$1" "$2"; }
ID1=$(pgq "SELECT agent_id FROM agents WHERE node = 'b'")
[ -n "$ID1" ] || fail "no agents row for b"

# 1. crash and restart
fwd_node_kill b
fwd_node_start b
wait_until 10 ev_is agent_unlinked 'node restarted' 1 ||
    fail "b restarted: no agent_unlinked event for its old agent: $(pgq "SELECT kind, agent_id, detail FROM events ORDER BY id")"
pgq "SELECT agent_id FROM events WHERE kind = 'agent_unlinked' AND detail = 'node restarted'" | grep -qxF "$ID1" ||
    fail "the agent_unlinked event is not for $ID1"
log "b crashed and restarted: agent_unlinked for $ID1"

# 2. an agent on the new b, then b killed for good: a expires it
AGENT_PORT=${NODE_AGENT[b]}
tm_write tm2
tm_start tm2
wait_until 15 linked_on a "lab:qwen3:0.6b" || fail "the agent on the new b is not listed on a"
ID2=$(pgq "SELECT agent_id FROM agents WHERE node = 'b'")
fwd_node_kill b
t0=$(now_ms)
# a's first sweep runs 12 s + ttl after it connected, then every ttl
wait_until 40 ev_is node_expired 'no heartbeat for %' 1 ||
    fail "no node_expired event for b 40 s after it died: $(pgq "SELECT kind, node, detail FROM events ORDER BY id")"
log "TIME node b killed -> node_expired event: $(($(now_ms) - t0)) ms"
pgq "SELECT agent_id FROM events WHERE kind = 'agent_unlinked' AND detail = 'node b expired'" |
    grep -qxF "$ID2" || fail "no agent_unlinked event for $ID2 on b's expiry: $(pgq "SELECT kind, agent_id, detail FROM events ORDER BY id")"
sleep 5 # two more sweeps
ev_is node_expired 'no heartbeat for %' 1 ||
    fail "b's expiry written $(ev node_expired 'no heartbeat for %') times"
tm_stop tm2
unset "TM_PIDS[tm2]"
fwd_pass "crash and expiry events"
