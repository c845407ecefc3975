#!/bin/bash
# route-pg-state.sh: `tokilakectl agents` shows what the router sees of
# each agent (PostgreSQL mode, issue 15): LOAD, QUEUE, RTT_MS, BREAKER.
#
# One node (b) and two agents: tm (backend mock "m", concurrency 8) and
# tm2, whose backend refuses connections. Requests through b: tm2's
# breaker opens after agents.breaker_failures (2); within a few seconds
# its agents row says breaker "open" (agentd -> AGENT_STATE -> master ->
# the row), and tm's says its capacity (x/8). Its backend comes back: the
# probe closes the breaker and the row says "closed" again.
. "$(dirname "$0")/fwd-lib.sh"
eval "fwd_lib_$(declare -f fwd_write_config)"
fwd_write_config()
{
	fwd_lib_fwd_write_config "$1"
	sed -i 's/^  ping_timeout: .*/&\n  breaker_failures: 2\n  breaker_cooldown: 1s/' "$T/$1.yaml"
}
fwd_setup
mock_start m
fwd_node_start b
AGENT_PORT=${NODE_AGENT[b]}
API=$(fwd_api b)
HTTP_PORT=${NODE_HTTP[b]}
TM_CONCURRENCY=8
tm_write tm
tm_start tm
DEAD=$(freeport)
tm_write tm2 "{ name: dead, url: \"http://127.0.0.1:$DEAD/v1\", api_key: sk-backend, concurrency: 8, models: [\"qwen3:0.6b\"], discover: false }"
tm_start tm2
two_rows() { [ "$(pgq "SELECT count(*) FROM agents WHERE node = 'b'")" = 2 ]; }
wait_until 15 two_rows || fail "two agents rows for node b: $(pgq 'SELECT agent_id FROM agents')"
sleep 1 # the model lists follow the link

"$PY" "$HERE/route_load.py" --url "$API" --model lab:qwen3:0.6b -n 20 -c 2 \
    >"$T/load.json" 2>"$T/load.err" || fail "load client: $(tail -n 5 "$T/load.err")"
log "load: $(cat "$T/load.json")"
check [ "$(jget "$T/load.json" 'j["codes"].get("200", 0)')" = 20 ] "every request succeeded"
check grep -q 'circuit breaker open' "$T/node-b.log" "tm2's breaker opened"

agents() { "$CTL" -d "$(pg_url)" agents >"$T/agents.out" 2>&1 || fail "tokilakectl agents: $(cat "$T/agents.out")"; }
shows() { agents; grep -Eq -- "$1" "$T/agents.out"; }
wait_until 10 shows 'open' || fail "tokilakectl agents never showed an open breaker: $(cat "$T/agents.out")"
log "tokilakectl agents: $(cat "$T/agents.out")"
head -n 1 "$T/agents.out" | grep -q 'LOAD.*QUEUE.*RTT_MS.*BREAKER' ||
    fail "the header has no LOAD QUEUE RTT_MS BREAKER: $(head -n 1 "$T/agents.out")"
check grep -Eq ' [0-9]+/8 ' "$T/agents.out" "an agent's LOAD shows its capacity 8"
check [ "$(pgq "SELECT count(*) FROM agents WHERE breaker = 'open' AND state_at IS NOT NULL")" = 1 ] \
    "exactly one agents row has its breaker open"

# the backend comes back: a probe after the cool-down closes the breaker
"$MOCK" -l "127.0.0.1:$DEAD" >"$T/dead.out" 2>"$T/dead.log" </dev/null &
TL_PIDS+=("$!")
wait_until 5 eval 'grep -q listening "$T/dead.out"' || fail "the mock on $DEAD did not start"
closed_shown()
{
	req POST /v1/chat/completions -H 'content-type: application/json' \
	    -d '{"model":"lab:qwen3:0.6b","messages":[]}'
	[ "$CODE" = 200 ] || fail "while closing: $CODE $BODY"
	[ "$(pgq "SELECT count(*) FROM agents WHERE breaker = 'closed'")" = 2 ]
}
wait_until 20 closed_shown || fail "the rows never showed both breakers closed: $(pgq 'SELECT agent_id, breaker FROM agents')"
check grep -q 'circuit breaker closed' "$T/node-b.log" "the close was logged"
fwd_pass "breaker state and load visible in tokilakectl agents"
