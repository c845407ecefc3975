#!/bin/bash
# pg-usage.sh: usage in PostgreSQL mode. Two nodes on one database, the
# agent (tokiame + the mock) linked to node b; requests to a are
# forwarded a -> b. Each master rolls its node's records up per (key,
# namespace, model, node, minute) into usage_rollups (sql/004_usage.sql).
#
#   - 15 requests to b and 15 to a (forwarded): b's rows count 15, a's 15:
#     a forwarded request is recorded once, by the node its client used;
#     the tokens are the sums of the answers' own usage;
#   - PostgreSQL stopped while requests keep coming (b serves from its
#     snapshot), started again: once the masters have reconnected, the
#     rows hold every request sent (nothing lost in the outage, nothing
#     counted twice), and their tokens;
#   - tokilakectl usage --json gives the same totals, --by namespace and
#     the --key filter too;
#   - a node stopped (SIGTERM) right after its last requests writes their
#     usage before it exits (agentd's last batch, then the master's).
. "$(dirname "$0")/fwd-lib.sh"
fwd_setup
fwd_up
A=$(fwd_api a)
B=$(fwd_api b)
P_SUM=0 C_SUM=0 SENT=0

# send URL ID: one plain chat request; its tokens are added to the sums.
send()
{
	local code
	code=$(curl -s -o "$T/ans.json" -w '%{http_code}' --max-time 20 -H "X-Request-Id: $2" \
	    -H 'Content-Type: application/json' "$1/v1/chat/completions" \
	    --data-binary "{\"model\":\"lab:qwen3:0.6b\",\"messages\":[{\"role\":\"user\",\"content\":\"$2\"}]}")
	[ "$code" = 200 ] || fail "$2: HTTP $code: $(head -c 300 "$T/ans.json")"
	P_SUM=$((P_SUM + $(jget "$T/ans.json" 'j["usage"]["prompt_tokens"]')))
	C_SUM=$((C_SUM + $(jget "$T/ans.json" 'j["usage"]["completion_tokens"]')))
	SENT=$((SENT + 1))
}
# rows_are N: the table holds N requests in all.
total() { pgq "SELECT coalesce(sum(requests), 0) FROM usage_rollups"; }
rows_are() { [ "$(total)" = "$1" ]; }

for i in $(seq 1 15); do send "$B" "pu-b-$i"; done
for i in $(seq 1 15); do send "$A" "pu-a-$i"; done
wait_until 20 rows_are $SENT || fail "usage_rollups holds $(total) requests, $SENT sent"
sleep 1.5 # a batch later: nothing counted twice
check [ "$(total)" = $SENT ] "usage_rollups: $SENT requests"
check [ "$(pgq "SELECT node, sum(requests) FROM usage_rollups GROUP BY node ORDER BY node" | tr '\n' ' ')" = "a|15 b|15 " ] \
    "15 requests on each node (forwarded ones counted once, by a): $(pgq 'SELECT node, sum(requests) FROM usage_rollups GROUP BY node')"
check [ "$(pgq "SELECT sum(prompt_tokens), sum(completion_tokens), sum(unknown_usage), sum(errors) FROM usage_rollups")" = "$P_SUM|$C_SUM|0|0" ] \
    "tokens: $(pgq 'SELECT sum(prompt_tokens), sum(completion_tokens) FROM usage_rollups') (want $P_SUM|$C_SUM)"
check [ "$(pgq "SELECT DISTINCT key_name || '/' || namespace || '/' || model FROM usage_rollups")" = "/lab/qwen3:0.6b" ] \
    "rows for anonymous, lab, qwen3:0.6b"

# --- the database goes away while requests keep coming to b
before=$SENT
for i in $(seq 1 10); do send "$B" "pu-o1-$i"; done
pg_stop
log "PostgreSQL stopped"
for i in $(seq 1 20); do send "$B" "pu-o2-$i"; sleep 0.1; done
wait_until 10 grep -q 'database: .*reconnecting\|database: .*lost' "$T/node-b.log" ||
    fail "node b did not notice the outage"
pg_start
log "PostgreSQL started again"
for i in $(seq 1 10); do send "$B" "pu-o3-$i"; done
wait_until 40 rows_are $SENT || fail "after the outage usage_rollups holds $(total) requests, $SENT sent"
sleep 1.5
check [ "$(total)" = $SENT ] "after the outage: all $SENT requests ($((SENT - before)) around it), none twice"
check [ "$(pgq "SELECT sum(prompt_tokens), sum(completion_tokens) FROM usage_rollups")" = "$P_SUM|$C_SUM" ] \
    "after the outage, tokens $P_SUM|$C_SUM"
grep -q 'usage: .*dropp' "$T/node-b.log" "$T/node-a.log" && fail "usage was dropped: $(grep -h 'usage: .*dropp' "$T"/node-*.log)"

# --- tokilakectl usage reads the same
"$CTL" -d "$(pg_url)" usage --json >"$T/ctl.out" 2>"$T/ctl.err" || fail "tokilakectl usage: $(cat "$T/ctl.err")"
got=$(jget "$T/ctl.out" '" ".join(str(j[0][k]) for k in ("requests", "errors", "prompt_tokens", "completion_tokens", "unknown_usage"))')
check [ "$got" = "$SENT 0 $P_SUM $C_SUM 0" ] "tokilakectl usage: $got (want $SENT 0 $P_SUM $C_SUM 0)"
"$CTL" -d "$(pg_url)" usage --by namespace --key '' --json >"$T/ctl.out" 2>"$T/ctl.err" || fail "usage --by namespace: $(cat "$T/ctl.err")"
check [ "$(jget "$T/ctl.out" 'len(j), j[0]["namespace"], j[0]["requests"]')" = "(1, 'lab', $SENT)" ] "usage --by namespace --key '': $(cat "$T/ctl.out")"
"$CTL" -d "$(pg_url)" usage --key nobody --json >"$T/ctl.out" 2>"$T/ctl.err" || fail "usage --key nobody: $(cat "$T/ctl.err")"
check [ "$(jget "$T/ctl.out" 'j[0]["requests"]')" = 0 ] "usage --key nobody: 0 requests"
"$CTL" -d "$(pg_url)" usage --by day >"$T/ctl.out" 2>"$T/ctl.err" || fail "usage --by day: $(cat "$T/ctl.err")"
check grep -q "^DAY  *REQUESTS" "$T/ctl.out" "usage --by day prints a table: $(cat "$T/ctl.out")"

# --- a node stopped right after its last requests still writes them
for i in $(seq 1 5); do send "$B" "pu-stop-$i"; done
fwd_node_stop b
check [ "$(total)" = $SENT ] "node b stopped at once after 5 more requests: all $SENT in usage_rollups"

fwd_pass "usage rolled up per node in PostgreSQL, kept through an outage; tokilakectl usage sums it"
