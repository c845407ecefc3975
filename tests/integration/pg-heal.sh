#!/bin/bash
# pg-heal: a node whose database link stalls past node.ttl is expired by
# the other nodes, and taken back by itself once its heartbeats resume.
#
# Node b talks to PostgreSQL through a relay (pg_relay.py) that the test
# stalls with SIGSTOP for ~6 s: longer than node.ttl (2 s) so node a
# expires b and drops its agent (503 no_agent on a), shorter than b's own
# database timeout (15 s) so b never notices. After SIGCONT, b's agent
# must be listed and served on a again within a few heartbeats; the
# healing time (stall end -> b's agent back on a) is printed. Then:
# b's agents rows deleted behind its back are written again; a stall
# past b's own 15 s database timeout: b reconnects and says the database
# was away for the whole stall; node c, which cannot log in, says it has
# no snapshot (not "serving from the last snapshot").
. "$(dirname "$0")/fwd-lib.sh"

FWD_TTL=2s
FWD_HB=500ms

fwd_setup
"$PY" "$(dirname "$0")/pg_relay.py" "$T/relay.port" "$PG_PORT" >>"$T/relay.log" 2>&1 &
RELAY=$!
TL_PIDS+=("$RELAY")
wait_until 5 test -s "$T/relay.port" || fail "the relay did not start"
RELAY_PORT=$(cat "$T/relay.port")
# node b's database URL goes through the relay
eval "fwd_write_config_plain()$(declare -f fwd_write_config | sed 1d)"
fwd_write_config()
{
	fwd_write_config_plain "$1"
	[ "$1" = b ] && sed -i "s|127.0.0.1:$PG_PORT/|127.0.0.1:$RELAY_PORT/|" "$T/b.yaml"
	# node c: a role that does not exist (a wrong password is the same
	# to the node: it cannot log in)
	[ "$1" = c ] && sed -i "s|//tltest@|//tl_no_such_role:wrong@|" "$T/c.yaml"
	return 0
}
fwd_up
grep -q ":$RELAY_PORT/" "$T/b.yaml" || fail "node b does not use the relay"

MODEL=lab:qwen3:0.6b
CHAT='{"model":"lab:qwen3:0.6b","messages":[{"role":"user","content":"hi"}]}'
ids_of() { curl -s --max-time 2 "$(fwd_api "$1")/v1/models"; }
listed_on() { ids_of "$1" | grep -q "\"id\":\"$2\""; }
not_listed_on() { local j; j=$(ids_of "$1") && [ -n "$j" ] && ! grep -q "\"id\":\"$2\"" <<<"$j"; }

req POST /v1/chat/completions -H 'content-type: application/json' --data-binary "$CHAT"
[ "$CODE" = 200 ] || fail "before the stall, a chat completion through a: $CODE ${BODY:0:300}"

# a stall shorter than node.ttl (0.6 s of 2 s) changes nothing: a keeps
# b's agent, and requests forwarded to b (node to node, not through the
# database) are all served during it
gone_lines() { grep -cE 'network: .*remote agent.*[1-9][0-9]* gone\)' "$T/node-a.log"; }
gone0=$(gone_lines)
kill -STOP "$RELAY"
t0=$(now_ms)
n=0
while [ $(($(now_ms) - t0)) -lt 600 ]; do
	req POST /v1/chat/completions -H 'content-type: application/json' --data-binary "$CHAT"
	[ "$CODE" = 200 ] || fail "during a 0.6 s stall of b's database link, through a: $CODE ${BODY:0:300}"
	n=$((n + 1))
done
kill -CONT "$RELAY"
sleep 2.5   # past one more ttl: an expiry caused by the stall would show now
listed_on a "$MODEL" || fail "a dropped b's agent after a stall shorter than node.ttl"
[ "$(gone_lines)" = "$gone0" ] || fail "a's registry lost b's agent during a 0.6 s stall (ttl 2 s): $(grep 'network: ' "$T/node-a.log" | tail -n 2)"
log "a 0.6 s stall (ttl 2 s): $n requests through a, all 200; a kept b's agent"

for round in 1 2; do
	kill -STOP "$RELAY"
	t0=$(now_ms)
	wait_until 10 not_listed_on a "$MODEL" ||
	    fail "round $round: a still lists b's model 10 s into b's stall (ttl 2 s)"
	log "TIME round $round: stall start -> a expired b: $(($(now_ms) - t0)) ms"
	expect_oai 503 no_agent POST /v1/chat/completions -H 'content-type: application/json' \
	    --data-binary "$CHAT"
	# stall ~6 s in all: three TTLs, well under b's 15 s query timeout
	while [ $(($(now_ms) - t0)) -lt 6000 ]; do sleep 0.2; done
	alive "${NODE_PID[b]}" || fail "node b died during the stall"
	kill -CONT "$RELAY"
	t1=$(now_ms)
	wait_until 15 listed_on a "$MODEL" ||
	    fail "round $round: b's agent not back on a 15 s after the stall ended (heartbeat 500 ms): $(ids_of a)"
	healed=$(($(now_ms) - t1))
	log "TIME round $round: stall of $((t1 - t0)) ms; stall end -> b's agent back on a: $healed ms (heartbeat 500 ms, ttl 2000 ms)"
	req POST /v1/chat/completions -H 'content-type: application/json' --data-binary "$CHAT"
	[ "$CODE" = 200 ] || fail "round $round: after healing, a chat completion through a: $CODE ${BODY:0:300}"
	[ "$healed" -le 5000 ] || fail "round $round: healing took $healed ms (> 5 s, ten heartbeats)"
done
# b's agents rows deleted behind its back (what a sweep of an expired
# node does, or an operator): b writes them again at its next heartbeat
t0=$(now_ms)
pgq "DELETE FROM agents WHERE node = 'b'" >/dev/null
b_rows() { pgq "SELECT count(*) FROM agents WHERE node = 'b'"; }
b_rows_are() { b_rows | grep -qx "$1"; }
wait_until 10 b_rows_are 1 ||
    fail "b's agents rows deleted: not written again within 10 s ($(b_rows) rows)"
wait_until 10 listed_on a "$MODEL" || fail "b's agents rows written again, but a does not list them"
log "TIME b's agents rows deleted -> written again and listed on a: $(($(now_ms) - t0)) ms"
grep -q 'agent row.* of node b where 1 is linked here' "$T/node-b.log" ||
    fail "node b did not log why it wrote its agents again"


# a stall longer than b's own database timeout (15 s): b gives up its
# connection, reconnects once the relay runs again, and says for how
# long the database was away: from the stall's start, not from b's
# timeout
[ "$(grep -c 'database: connected again' "$T/node-b.log")" = 0 ] ||
    fail "b reconnected during the short stalls"
kill -STOP "$RELAY"
t0=$(now_ms)
b_gave_up() { grep -q 'database: .* got no answer in' "$T/node-b.log"; }
wait_until 25 b_gave_up || fail "b did not give up its stalled connection within 25 s"
sleep 2
kill -CONT "$RELAY"
t1=$(now_ms)
b_back() { grep -q 'database: connected again' "$T/node-b.log"; }
wait_until 20 b_back || fail "b did not reconnect after the long stall"
wait_until 15 listed_on a "$MODEL" || fail "b's agent not back on a after the long stall"
log "TIME long stall of $((t1 - t0)) ms; stall end -> b's agent back on a: $(($(now_ms) - t1)) ms"
line=$(grep -m1 'database: connected again' "$T/node-b.log")
log "b says: ${line#* master }"
away=$(sed -n 's/.*connected again after \([0-9.]*\)s.*/\1/p' <<<"$line")
[ -n "$away" ] || fail "no duration in: $line"
awk -v a="$away" -v s="$(( (t1 - t0) / 1000 ))" 'BEGIN { exit !(a + 1 >= s) }' ||
    fail "b says the database was away ${away}s; the stall lasted $((t1 - t0)) ms"

# a node that cannot log in has never had a snapshot: it says so
FWD_UP_CODE=503 fwd_node_start c
no_snapshot() { grep -q 'database: .*no snapshot yet' "$T/node-c.log"; }
wait_until 10 no_snapshot || fail "node c (cannot log in) does not say it has no snapshot: $(grep database "$T/node-c.log" | head -n 3)"
! grep -q 'serving from the last snapshot' "$T/node-c.log" ||
    fail "node c claims to serve from a snapshot it never had"
log "node c says: $(grep -m1 'no snapshot yet' "$T/node-c.log" | sed 's/.* master //')"
grep -q 'announcing it alive' "$T/node-b.log" || fail "node b did not log its liveness announcement"
fwd_pass "a node stalled past node.ttl is expired, then taken back"
