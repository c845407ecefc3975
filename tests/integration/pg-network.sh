#!/bin/bash
# pg-network: two nodes and one PostgreSQL, the shared state end to end.
#
#   - an agent linked to node b shows on node a's /v1/models, and both
#     nodes list exactly the same models (ids, owners, created times);
#   - PostgreSQL stopped: b keeps serving a chat completion through its
#     agent, a keeps listing b's model;
#   - PostgreSQL started again: the nodes resync without a restart (a
#     token created after the restart opens a new agent, seen by a);
#   - chat completions to both nodes through the PostgreSQL stop and
#     start: every one answered 200;
#   - a token revoked with tokilakectl: its agent is disconnected on b
#     within 1 s, the other agent stays;
#   - node b killed with SIGKILL: its agents leave a's /v1/models within
#     node.ttl of its last heartbeat.
# Times are printed (TIME lines) for the closing notes.
. "$(dirname "$0")/fwd-lib.sh"

FWD_TTL=2s
FWD_HB=500ms
TTL_MS=2000

fwd_setup
fwd_up

ids_of() { curl -s --max-time 2 "$(fwd_api "$1")/v1/models"; }
# The model list as "id owned_by created" lines, sorted.
models_of()
{
	ids_of "$1" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
for m in sorted(d["data"], key=lambda m: m["id"]):
    print(m["id"], m["owned_by"], m["created"])'
}
listed_on() { ids_of "$1" | grep -q "\"id\":\"$2\""; }
not_listed_on() { local j; j=$(ids_of "$1") && [ -n "$j" ] && ! grep -q "\"id\":\"$2\"" <<<"$j"; }
node_log_has() { grep -Eq -- "$2" "$T/node-$1.log"; }

# 1. the same network from both nodes
models_of a >"$T/models-a" || fail "node a: /v1/models is not JSON"
models_of b >"$T/models-b" || fail "node b: /v1/models is not JSON"
[ -s "$T/models-a" ] || fail "node a lists nothing"
cmp -s "$T/models-a" "$T/models-b" ||
    fail "/v1/models differ: a: $(cat "$T/models-a") b: $(cat "$T/models-b")"
log "TIME agent linked on b -> listed on a: ${WAITED} ms (from b listing it)"
pgq "SELECT count(*) FROM agents WHERE node = 'b'" | grep -qx 1 || fail "no agents row for node b"
pgq "SELECT count(*) FROM agent_models" | grep -qx 1 || fail "no agent_models row"
pgq "SELECT count(*) FROM events WHERE kind = 'agent_linked'" | grep -qx 1 ||
    fail "no agent_linked event"

# 2. PostgreSQL down: both nodes keep serving from their snapshot
HTTP_PORT=${NODE_HTTP[b]}
chat_via_b()
{
	req POST /v1/chat/completions -H 'content-type: application/json' \
	    -d '{"model":"lab:qwen3:0.6b","messages":[{"role":"user","content":"hi"}]}'
	[ "$CODE" = 200 ]
}
# Load through the whole outage and restart: one client asks a (forwarded
# to b), one asks b, back to back; every answer must be a 200.
load_loop()
{
	local url=$1 out=$2
	while [ ! -e "$T/load-stop" ]; do
		curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 "$url/v1/chat/completions" \
		    -H 'content-type: application/json' \
		    -d '{"model":"lab:qwen3:0.6b","messages":[{"role":"user","content":"hi"}]}' >>"$out"
	done
}
load_loop "$(fwd_api a)" "$T/load-a" &
LOAD_A=$!
load_loop "$(fwd_api b)" "$T/load-b" &
LOAD_B=$!
sleep 0.5
pg_stop
t0=$(now_ms)
wait_until 5 node_log_has a 'database: .*serving from the last snapshot' ||
    fail "node a did not notice the outage"
chat_via_b || fail "chat via b while PostgreSQL is down: $CODE ${BODY:0:300}"
sleep 1
chat_via_b || fail "chat via b 1 s into the outage: $CODE ${BODY:0:300}"
listed_on a "lab:qwen3:0.6b" || fail "node a forgot b's model while PostgreSQL is down"
[ "$(grep -c 'serving from the last snapshot' "$T/node-a.log")" = 1 ] ||
    fail "node a logged the outage more than once"
log "PostgreSQL down $(($(now_ms) - t0)) ms: b served chat completions, a kept listing"

# 3. PostgreSQL back: resync without a restart. A token created now
# links a second agent (another model) to b, and a sees it.
pg_start
t0=$(now_ms)
wait_until 15 node_log_has a 'database: connected again' || fail "node a did not reconnect"
wait_until 15 node_log_has b 'database: connected again' || fail "node b did not reconnect"
log "TIME PostgreSQL start -> both nodes reconnected: $(($(now_ms) - t0)) ms"
sleep 0.5
touch "$T/load-stop"
wait "$LOAD_A" "$LOAD_B"
for n in a b; do
	total=$(wc -l <"$T/load-$n")
	bad=$(grep -vcx 200 "$T/load-$n")
	log "TIME PostgreSQL stop+start under load, requests to $n: $total answered, $bad not 200 ($(sort "$T/load-$n" | uniq -c | tr -s ' \n' ' '))"
	[ "$total" -gt 20 ] || fail "only $total requests to $n during the outage"
	[ "$bad" = 0 ] || fail "$bad requests to $n failed while PostgreSQL restarted"
done
"$CTL" -d "$(pg_url)" token new lab >"$T/ctl.out" 2>&1 || fail "token new: $(cat "$T/ctl.out")"
TOKEN2=$(grep -o 'tlk_[0-9a-f]\{64\}' "$T/ctl.out" | head -n 1)
[ -n "$TOKEN2" ] || fail "no token in: $(cat "$T/ctl.out")"
TOKEN1=$NS_TOKEN
NS_TOKEN=$TOKEN2
tm_write tm2 "{ name: mock, url: \"$MOCK_URL/v1\", concurrency: 4, models: [\"other:1b\"], discover: false }"
NS_TOKEN=$TOKEN1
t1=$(now_ms)
tm_start tm2
wait_until 15 listed_on a "lab:other:1b" ||
    fail "agent with the new token (linked to b) not listed on a: $(ids_of a)"
log "TIME token created after the restart -> its agent on b listed on a: $(($(now_ms) - t1)) ms (resync $(($(now_ms) - t0)) ms after PostgreSQL started)"
listed_on a "lab:qwen3:0.6b" || fail "a lost the first agent after the resync"
models_of a >"$T/models-a"
models_of b >"$T/models-b"
cmp -s "$T/models-a" "$T/models-b" ||
    fail "/v1/models differ after the resync: a: $(cat "$T/models-a") b: $(cat "$T/models-b")"
pgq "SELECT count(*) FROM agents WHERE node = 'b'" | grep -qx 2 ||
    fail "after the resync node b has $(pgq "SELECT count(*) FROM agents WHERE node = 'b'") agents rows, want 2"

# 4. revoke the first token in the database: its agent is disconnected on b
HASH1=$(printf %s "$TOKEN1" | "$TOKILAKE" token hash 2>/dev/null || printf %s "$TOKEN1" | sha256sum | sed 's/^\([0-9a-f]*\).*/sha256:\1/')
t0=$(now_ms)
"$CTL" -d "$(pg_url)" token revoke "$HASH1" >"$T/ctl.out" 2>&1 || fail "token revoke: $(cat "$T/ctl.out")"
revoked_at=$(pgq "SELECT (extract(epoch FROM revoked_at) * 1000)::bigint FROM namespace_tokens WHERE token_hash = '$HASH1'")
[ -n "$revoked_at" ] || fail "tokilakectl token revoke did not set revoked_at"
wait_until 3 node_log_has b 'its token for namespace lab was revoked' ||
    fail "node b did not disconnect the agent of the revoked token"
dt=$(($(now_ms) - t0))
# the same, from the UPDATE's own clock to b's log line (one clock: loopback)
line=$(grep -m1 'its token for namespace lab was revoked' "$T/node-b.log")
at=$(date -d "$(cut -c1-23 <<<"$line")" +%s%3N 2>/dev/null)
log "TIME token revoked (tokilakectl started) -> disconnection seen by the test: $dt ms"
if [ -n "$at" ] && [ -n "$revoked_at" ]; then
	dt=$((at - revoked_at))
	log "TIME token revoked (UPDATE commit) -> agent disconnected on b (its log line): $dt ms (bound 1000 ms)"
fi
[ "$dt" -le 1000 ] || fail "the agent was disconnected $dt ms after the revocation (> 1 s)"
wait_until 5 not_listed_on a "lab:qwen3:0.6b" || fail "a still lists the revoked agent's model"
listed_on a "lab:other:1b" || fail "the other agent left too"

# 5. node b killed: its agents leave a within the TTL
last_hb=$(pgq "SELECT (extract(epoch FROM heartbeat_at) * 1000)::bigint FROM nodes WHERE name = 'b'")
fwd_node_kill b
t0=$(now_ms)
wait_until 10 not_listed_on a "lab:other:1b" || fail "b's agent still listed on a 10 s after b was killed"
left=$(now_ms)
dt=$((left - t0))
log "TIME node b killed -> its agent left a: $dt ms (ttl $TTL_MS ms, heartbeat 500 ms; $((left - last_hb)) ms after a heartbeat of b read just before the kill)"
[ "$dt" -le $((TTL_MS + 300)) ] || fail "b's agent left a $dt ms after the kill (ttl ${TTL_MS} ms)"
pgq "SELECT count(*) FROM nodes WHERE name = 'a'" | grep -qx 1 || fail "node a's row is gone"
node_log_has a 'remote agent' || fail "node a never logged its remote agents"

tm_stop tm2
unset "TM_PIDS[tm2]"
fwd_pass "shared state, outage and resync, revocation, node expiry"
