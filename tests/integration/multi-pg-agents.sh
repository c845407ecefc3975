#!/bin/bash
# multi-pg-agents.sh: PostgreSQL mode, one tokiame linked to the two nodes
# of one network (servers: [a, b]).
#
#   - the registry knows ONE agent with two links: `tokilakectl agents
#     --json` has one entry for it, links 2, nodes [a, b], named by the
#     tokiame's own id; the text listing has one row;
#   - both nodes serve its model (200 through a and through b);
#   - node b stops: the agent is still one, with one link (node a).
. "$(dirname "$0")/fwd-lib.sh"
fwd_setup
mock_start m
fwd_node_start a
fwd_node_start b
AGENT_PORT=${NODE_AGENT[a]}
tm_write tm
sed -i "s/^server: .*/servers: [127.0.0.1:${NODE_AGENT[a]}, 127.0.0.1:${NODE_AGENT[b]}]/" "$T/tm.yaml"
tm_start tm
tm_id()
{
	curl -s --max-time 2 "http://127.0.0.1:$(cat "$T/tm.api")/status" |
	    "$PY" -c 'import json, sys; print(json.load(sys.stdin)["agent_id"])' 2>/dev/null
}
wait_until 15 fwd_linked a "lab:qwen3:0.6b" || fail "node a does not list the agent's model"
wait_until 15 fwd_linked b "lab:qwen3:0.6b" || fail "node b does not list the agent's model"
ID=$(tm_id)
[ -n "$ID" ] || fail "no agent_id in tokiame's /status"

# agents_json EXPR: a python expression on `tokilakectl agents --json` (d)
agents_json()
{
	"$CTL" -d "$(pg_url)" --json agents >"$T/agents.json" 2>"$T/agents.err" || return 1
	"$PY" -c "import json, sys; d = json.load(open(sys.argv[1])); print($1)" "$T/agents.json"
}
one_agent_on() { [ "$(agents_json "[(a['agent'], a['links'], a['nodes']) for a in d]")" = "$1" ]; }
wait_until 15 one_agent_on "[('$ID', 2, ['a', 'b'])]" ||
    fail "tokilakectl agents --json: not one agent $ID with 2 links on a and b: $(cat "$T/agents.json" "$T/agents.err")"
log "ok: one agent, two links: $(cat "$T/agents.json")"
"$CTL" -d "$(pg_url)" agents >"$T/agents.txt" 2>&1 || fail "tokilakectl agents: $(cat "$T/agents.txt")"
check [ "$(grep -c "^ *$ID" "$T/agents.txt")" = 1 ] "the text listing has one row for $ID: $(cat "$T/agents.txt")"
check grep -q "a b" "$T/agents.txt" "the text listing names both nodes"
check [ "$(agents_json "d[0]['models']")" = 1 ] "its model counted once"
for n in a b; do
	code=$(curl -s -o "$T/chat-$n.out" -w '%{http_code}' --max-time 10 \
	    --data-binary '{"model":"lab:qwen3:0.6b","messages":[{"role":"user","content":"hi"}]}' \
	    "$(fwd_api "$n")/v1/chat/completions")
	check [ "$code" = 200 ] "chat through node $n: 200"
done

fwd_node_stop b
wait_until 15 one_agent_on "[('$ID', 1, ['a'])]" ||
    fail "after node b stopped: not one agent with one link on a: $(cat "$T/agents.json")"
log "ok: node b stopped: $(cat "$T/agents.json")"
fwd_pass "one tokiame on two nodes is one agent with two links in the registry"
