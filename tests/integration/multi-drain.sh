#!/bin/bash
# multi-drain.sh: graceful stops with one tokiame linked to two
# standalone nodes (servers: [a, b]).
#
#   1. SIGTERM of node a while streams run through a and a load runs
#      through b: a sends the agent Drain ("node is shutting down") at
#      once; a's streams complete (200, every chunk, [DONE]); a exits 0;
#      the agent keeps its link to b, and no request through b fails.
#   2. a back; SIGTERM of tokiame while streams run through both nodes
#      and a load runs through b: Goodbye on both links; every stream
#      in flight completes; every request of the load gets an answer (a
#      complete 200, or 503 once the agent said Goodbye: none cut, none
#      without a status); tokiame exits 0.
. "$(dirname "$0")/multi-lib.sh"
multi_setup
multi_up

# every long stream: 200, all 40 chunks, [DONE]
long_complete()
{
	mlong_wait "$1"
	check [ "$MLONG" = "200 1" ] "stream $1 in flight completed ($MLONG)"
	check [ "$(grep -c '"tok' "$T/long-$1.out")" = 40 ] "stream $1: all 40 chunks"
}

# exits_0 PID WHAT: it ends within 20 s, with status 0
exits_0()
{
	wait_until 20 none_alive "$1" || fail "$2 still running 20 s after SIGTERM"
	wait "$1"
	check [ $? = 0 ] "$2 exited 0"
}

# 1. node a stops gracefully
mload_start b b 2
mlongs_start a1:a a2:a
apid=${MNODE_PID[a]}
kill -TERM "$apid"
log "SIGTERM to node a (pid $apid) with 2 streams in flight through it"
wait_until 5 grep -q "node 127.0.0.1:${MNODE_AGENT[a]} asks this agent to drain: node is shutting down" \
    "$T/tm-tm.log" || fail "tokiame got no Drain from node a: $(grep -i drain "$T/tm-tm.log" | tail -n 3)"
log "tokiame got node a's Drain ${WAITED} ms after the SIGTERM"
check grep -q 'asked 1 agent to drain' "$T/node-a.log" "node a logged its Drain"
long_complete a1
long_complete a2
exits_0 "$apid" "node a"
unset "MNODE_PID[a]"
check mtm_links_registered tm 1 "tokiame still linked to b"
n0=$(mload_count b)
wait_until 20 mload_more_than b $((n0 + 10)) || fail "the load through b stalled after a stopped"
mload_stop b
check [ "$MLOAD_BAD" = 0 ] "node a's graceful stop: all $MLOAD_TOTAL requests through b complete 200s"

# 2. tokiame stops gracefully
mnode_start a same
wait_until 20 mtm_links_registered tm 2 || fail "tokiame did not relink to node a"
wait_until 10 mnode_lists a "lab:qwen3:0.6b" || fail "node a does not list the model again"
mload_start b b 2
mlongs_start a3:a b1:b
tpid=${TM_PIDS[tm]}
kill -TERM "$tpid"
log "SIGTERM to tokiame with streams in flight through a and b"
wait_until 5 grep -q 'SIGTERM: saying Goodbye on 2 links' "$T/tm-tm.log" || fail "tokiame did not say Goodbye"
wait_until 5 grep -q 'is leaving: tokiame is stopping' "$T/node-a.log" || fail "node a got no Goodbye"
wait_until 5 grep -q 'is leaving: tokiame is stopping' "$T/node-b.log" || fail "node b got no Goodbye"
long_complete a3
long_complete b1
exits_0 "$tpid" tokiame
unset "TM_PIDS[tm]"
mload_stop b
bad=$(awk '!(($2 == 200 && $3 == 1) || $2 == 503)' "$T/load-b.codes" | wc -l)
check [ "$bad" = 0 ] "tokiame's stop: every request of the load answered, a complete 200 or a 503 ($(awk '!(($2 == 200 && $3 == 1) || $2 == 503)' "$T/load-b.codes" | head -n 3 | tr '\n' ' '))"
multi_pass "node drain and agent Goodbye with two links: nothing in flight lost"
