#!/bin/bash
# pg-node-name.sh: two nodes cannot hold one node.name (issue 13, item 2).
#
#   - a twin started with node b's name while b runs exits with status 3
#     and says which name, which internal_url holds it and since when;
#     b's row (instance, url, started) is untouched, b's agent is still
#     served through node a;
#   - a running b whose row is taken by another live instance stops
#     claiming it (error logged, heartbeats stop), and takes it back once
#     that instance has been silent for node.ttl;
#   - b killed with -9 and started again at once waits out its dead
#     self's ttl and takes its name back; started again after the ttl it
#     takes it at once;
#   - tokilakectl nodes shows the instance;
#   - b's /healthz is 503 "node.name held by another instance" while its
#     name is lost, 200 once it has it back;
#   - each refusal, loss and takeover of a name is an events row with
#     the name, both instance ids and both internal_urls.
. "$(dirname "$0")/fwd-lib.sh"
fwd_setup
fwd_up

row_b() { pgq "SELECT instance || ' ' || internal_url || ' ' || started_at FROM nodes WHERE name = 'b'"; }
agents_b() { pgq "SELECT count(*) FROM agents WHERE node = 'b'"; }
served_by_a()
{
	req POST /v1/chat/completions --data-binary '{"model":"lab:qwen3:0.6b","messages":[]}'
	[ "$CODE" = 200 ]
}

# the events of kind $1 (detail only), oldest first
name_events() { pgq "SELECT detail FROM events WHERE node = 'b' AND kind = '$1' ORDER BY id"; }

before=$(row_b)
inst_b=${before%% *}
log "b's row: $before"

# --- a twin under the name b ---
NODE_HTTP[b2]=$(freeport) NODE_AGENT[b2]=$(freeport) NODE_PORT[b2]=$(freeport)
mkdir -p "$T/run-b2"
fwd_write_config b2
sed -i 's/^  name: b2$/  name: b/' "$T/b2.yaml"
grep -q '^  name: b$' "$T/b2.yaml" || fail "twin config has no name b"
"$TOKILAKE" -c "$T/b2.yaml" >>"$T/node-b2.log" 2>&1 </dev/null &
twin=$!
TL_PIDS+=("$twin")
wait_until 30 none_alive "$twin" ||
    fail "the twin under node.name b still runs 30 s after start: $(grep -i 'name\|node' "$T/node-b2.log" | tail -n 5)"
wait "$twin"
rc=$?
[ "${#inst_b}" = 16 ] || fail "node b's row has no instance id: '$before'"
grep -q "node b (instance $inst_b)" "$T/node-b.log" || fail "node b does not log its instance id"
log "twin exited with status $rc after ${WAITED} ms"
check [ "$rc" = 3 ] "the twin exits with status 3 (node name in use)"
check grep -q "ERROR: database: node name b is held by another running node (instance $inst_b at h2c://127.0.0.1:${NODE_PORT[b]}, started .*refusing to start" \
    "$T/node-b2.log" "the twin says which name, instance, url and since when"
grep 'held by another' "$T/node-b2.log" | head -n 1
inst_twin=$(sed -n 's/.*node b (instance \([0-9a-f]*\)).*/\1/p' "$T/node-b2.log" | head -n 1)
[ -n "$inst_twin" ] || fail "the twin does not log its instance id"
ev=$(name_events node_name_refused)
log "refusal event: $ev"
check grep -q "^instance $inst_twin at h2c://127.0.0.1:${NODE_PORT[b2]} refused to start: the name is held by instance $inst_b at h2c://127.0.0.1:${NODE_PORT[b]}\$" \
    <<<"$ev" "the twin's refusal is an event with both instances and urls"
check [ "$(row_b)" = "$before" ] "b's row untouched by the twin"
check [ "$(agents_b)" = 1 ] "b's agent row still there"
served_by_a || fail "b's agent not served through a after the twin: $CODE $BODY"
"$CTL" -d "$(pg_url)" nodes >"$T/nodes.out" 2>&1 || fail "tokilakectl nodes: $(cat "$T/nodes.out")"
cat "$T/nodes.out"
check grep -q "INSTANCE" "$T/nodes.out" "tokilakectl nodes has an INSTANCE column"
check grep -q "$inst_b" "$T/nodes.out" "tokilakectl nodes shows b's instance"

# --- b's row taken by another live instance while b runs ---
pgq "UPDATE nodes SET instance = 'feedfacefeedface', heartbeat_at = now() WHERE name = 'b'" >/dev/null
wait_until 10 grep -q 'ERROR: database: node name b is held by another running node (instance feedfacefeedface.*stops claiming' \
    "$T/node-b.log" || fail "b did not say it stops claiming its name"
log "b stops claiming after ${WAITED} ms"
wait_until 10 eval '[ -n "$(name_events node_name_lost)" ]' || fail "no node_name_lost event"
ev=$(name_events node_name_lost)
log "loss event: $ev"
check grep -q "^instance $inst_b at h2c://127.0.0.1:${NODE_PORT[b]} stops claiming the name, now held by instance feedfacefeedface at h2c://127.0.0.1:${NODE_PORT[b]}\$" \
    <<<"$ev" "b's loss of its name is an event"
inst=$(pgq "SELECT instance FROM nodes WHERE name = 'b'")
check [ "$inst" = feedfacefeedface ] "b does not fight for the row"
# b's /healthz says its name is lost (503), until it takes it back
health_b() { curl -s --max-time 2 -o "$T/health-b" -w '%{http_code}' "$(fwd_api b)/healthz"; }
wait_until 5 eval '[ "$(health_b)" = 503 ]' || fail "b's /healthz is not 503 without its name: $(cat "$T/health-b")"
log "b's /healthz: 503 $(cat "$T/health-b")"
check [ "$(jget "$T/health-b" "j['reason']")" = "node.name held by another instance" ] \
    "b's /healthz says its name is held by another instance"
check [ "$(jget "$T/health-b" "j['name']")" = lost ] "b's /healthz: name lost"
# nobody writes the other instance's heartbeat: after node.ttl b takes it back
wait_until 20 grep -q "node name b is this node's again (instance $inst_b)" "$T/node-b.log" ||
    fail "b did not take its name back after the other instance went silent"
log "b took its name back after ${WAITED} ms"
grep -q "taken over from instance feedfacefeedface" "$T/node-b.log" || fail "no takeover line"
wait_until 10 eval '[ -n "$(name_events node_name_taken_over)" ]' || fail "no node_name_taken_over event"
ev=$(name_events node_name_taken_over)
log "takeover event: $ev"
check grep -q "^instance $inst_b at h2c://127.0.0.1:${NODE_PORT[b]} took the name over (silent past node.ttl) from instance feedfacefeedface at " \
    <<<"$ev" "b's takeover from the silent instance is an event"
check [ "$(pgq "SELECT instance FROM nodes WHERE name = 'b'")" = "$inst_b" ] "b's instance in its row again"
wait_until 5 eval '[ "$(health_b)" = 200 ]' || fail "b's /healthz not 200 with its name back: $(cat "$T/health-b")"
check [ "$(jget "$T/health-b" "j['name']")" = held ] "b's /healthz: name held again"
wait_until 15 served_by_a || fail "b's agent not served through a after b took its name back: $CODE $BODY"

# --- b killed, started again at once (before node.ttl) ---
old_url=h2c://127.0.0.1:${NODE_PORT[b]}
fwd_node_kill b
log "node b killed (kill -9)"
tm_stop tm
fwd_node_start b
wait_until 20 grep -q 'node name b taken over from instance '"$inst_b" "$T/node-b.log" ||
    fail "restarted b did not take over its dead instance's row: $(grep -i 'node name' "$T/node-b.log" | tail -n 3)"
log "restarted b took its name back ${WAITED} ms after it started"
grep -q "node name b is held by instance $inst_b.*waiting" "$T/node-b.log" ||
    fail "restarted b did not say it waits for its dead self's ttl"
AGENT_PORT=${NODE_AGENT[b]}
tm_write tm
tm_start tm
wait_until 20 served_by_a || fail "agent on restarted b not served through a: $CODE $BODY"
inst_b2=$(pgq "SELECT instance FROM nodes WHERE name = 'b'")
check [ "$inst_b2" != "$inst_b" ] "the restarted node has a new instance"
check grep -q "^instance $inst_b2 at h2c://127.0.0.1:${NODE_PORT[b]} took the name over (silent past node.ttl) from instance $inst_b at $old_url\$" \
    <<<"$(name_events node_name_taken_over)" "the restarted node's takeover of its dead self is an event"

# --- b killed, started again after node.ttl ---
fwd_node_kill b
tm_stop tm
stale() { [ "$(pgq "SELECT heartbeat_at < now() - interval '4 s' FROM nodes WHERE name = 'b'")" = t ]; }
wait_until 20 stale || fail "b's row not stale 20 s after the kill"
: >"$T/node-b.log"
fwd_node_start b
wait_until 10 grep -q "node name b taken over from instance $inst_b2" "$T/node-b.log" ||
    fail "b started after the ttl did not take its name at once"
log "b started after the ttl took its name in ${WAITED} ms"
grep -q 'waiting' "$T/node-b.log" && fail "b waited for a stale row"
AGENT_PORT=${NODE_AGENT[b]}
tm_write tm
tm_start tm
wait_until 20 served_by_a || fail "agent on b (restarted after ttl) not served through a: $CODE $BODY"
fwd_pass "duplicate node.name refused, takeover refused, crashed node takes its name back"
