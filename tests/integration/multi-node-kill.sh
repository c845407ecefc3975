#!/bin/bash
# multi-node-kill.sh: one tokiame linked to two standalone nodes at once
# (servers: [a, b]).
#
#   - both nodes list its model; its /status shows two registered links;
#   - kill -9 of node a under continuous load through node b: no request
#     through b fails (the link to a falls, b's tasks go on);
#   - node a restarted on its ports: tokiame relinks to it by itself;
#   - load through a while linked to both: kill -9 of b costs nothing.
. "$(dirname "$0")/multi-lib.sh"
multi_setup
multi_up
check [ "$(grep -c 'registered on node' "$T/tm-tm.log")" -ge 2 ] "tokiame registered on both nodes"
check [ "$(tm_api_json tm 'len(d["links"])')" = 2 ] "/status lists 2 links"

# kill_under_load L K: continuous load through node L, kill -9 of node K:
# every request through L is a complete 200.
kill_under_load()
{
	local l=$1 k=$2 n0
	mload_start "$l" "$l" 3
	wait_until 10 mload_more_than "$l" 5 || fail "the load through $l does not run"
	mnode_kill "$k"
	log "node $k killed (kill -9)"
	wait_until 15 grep -q "link to 127.0.0.1:${MNODE_AGENT[$k]} down" "$T/tm-tm.log" ||
	    fail "tokiame did not notice node $k's death"
	n0=$(mload_count "$l")
	wait_until 20 mload_more_than "$l" $((n0 + 15)) || fail "the load through $l stalled after $k died"
	mload_stop "$l"
	check [ "$MLOAD_BAD" = 0 ] "kill -9 of node $k: all $MLOAD_TOTAL requests through $l complete 200s"
}

# 1. kill -9 of a under load through b
kill_under_load b a
check mtm_links_registered tm 1 "tokiame: one link registered while a is down"

# 2. a is back on its ports: tokiame relinks
mnode_start a same
wait_until 20 mtm_links_registered tm 2 || fail "tokiame did not relink to node a: $(tm_api tm /status)"
log "tokiame relinked to a ${WAITED} ms after it was back"
wait_until 10 mnode_lists a "lab:qwen3:0.6b" || fail "node a does not list the agent's model again"

# 3. load through a, kill -9 of b
kill_under_load a b
check [ "$(http_code "http://127.0.0.1:$(cat "$T/tm.api")/healthz")" = 200 ] "tokiame healthy with one of its two links"
multi_pass "one tokiame on two nodes: a node's kill -9 cost no request on the other, relinked after"
