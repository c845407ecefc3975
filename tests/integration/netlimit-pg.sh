#!/bin/bash
# netlimit-pg.sh: a key's limits hold for the network as a whole (issue
# 14). Two nodes on one PostgreSQL (fwd-lib.sh), the agent linked to b;
# each node's agentd admits its own clients' requests, and the nodes
# share their per-key counts through their masters and the key_load table
# (src/agentd/netlimit.h, src/master/pg_keyload.c).
#
#   - key "rpm" (--rpm 600) loaded through BOTH nodes at once, 20 requests
#     a second each, for 59 s (less than the 60 s window, so no admitted
#     request leaves it): the 200s of both together stay within 600 + the
#     stated tolerance (what the other node admitted in the ~1.5 s its
#     counts take to arrive: 30 at 20 req/s; the test allows 60), and
#     are not far below it (nothing counted twice). Each node alone, as
#     before this exchange, admits 600: ~1200 together;
#   - key "budget" (--tokens-per-day 1) spent by one request through a is
#     refused on b (429 insufficient_quota) once its usage is written;
#   - node a restarted (its agentd counts from zero, its key_load rows
#     gone): the budget is still spent on a (seeded from usage_rollups).
#
# NETLIMIT_SECS=0 skips the load (the budgets only). Without the exchange
# (int14 before it) the two nodes admit 1200 and b serves the spent key.
. "$(dirname "$0")/fwd-lib.sh"
LOG_LEVEL=${LOG_LEVEL:-info}
fwd_setup

fwd_linked()
{
	curl -s --max-time 2 -H "Authorization: Bearer $KEY_rpm" "$(fwd_api "$1")/v1/models" 2>/dev/null |
	    grep -q "\"id\":\"$2\""
}
newkey rpm --rpm 600
newkey budget --tokens-per-day 1
fwd_up
A=$(fwd_api a)
B=$(fwd_api b)
M='{"model":"lab:qwen3:0.6b","messages":[{"role":"user","content":"hi"}]}'

# --- rpm 600 through both nodes at once
# NETLIMIT_SECS: how long the load lasts (0: no load, only the budgets)
SECS=${NETLIMIT_SECS:-59}
if [ "$SECS" != 0 ]; then
log "loading key rpm (600/min) through a and b, 20 req/s each, for $SECS s"
/usr/bin/python3 "$top_srcdir/tests/integration/netlimit_load.py" "$KEY_rpm" "$SECS" 20 "$A" "$B" \
    >"$T/load.out" 2>&1 || fail "load: $(cat "$T/load.out")"
while read -r line; do log "  $line"; done <"$T/load.out"
ok=$(sed -n 's/^total .* ok=\([0-9]*\) .*/\1/p' "$T/load.out")
limited=$(sed -n 's/^total .* limited=\([0-9]*\) .*/\1/p' "$T/load.out")
other=$(sed -n 's/^total .* other=\([0-9]*\)$/\1/p' "$T/load.out")
TOL=60
log "rpm 600 over both nodes: $ok answered 200, $limited answered 429 (limit 600, tolerance $TOL)"
[ "$other" = 0 ] || fail "$other answers were neither 200 nor 429"
[ "$ok" -le $((600 + TOL)) ] || fail "the two nodes admitted $ok requests in $SECS s for a key of 600 a minute"
[ "$ok" -ge 570 ] || fail "only $ok of 600 admitted: counted twice?"
log "ok: the network admitted $ok for rpm 600 (tolerance $TOL)"
fi

# --- a daily budget spent through a is spent on b
# (one request of key rpm on b, admitted or not, so that b has a key to
# report even without the load)
HTTP_PORT=${NODE_HTTP[b]}
req POST /v1/chat/completions -H "Authorization: Bearer $KEY_rpm" --data-binary "$M"
HTTP_PORT=${NODE_HTTP[a]}
req POST /v1/chat/completions -H "Authorization: Bearer $KEY_budget" --data-binary "$M"
[ "$CODE" = 200 ] || fail "budget's first request on a: $CODE $BODY"
expect_oai 429 insufficient_quota POST /v1/chat/completions -H "Authorization: Bearer $KEY_budget" --data-binary "$M"
spent() { [ "$(pgq "SELECT coalesce(sum(prompt_tokens + completion_tokens), 0) > 0 FROM usage_rollups WHERE key_name = 'budget'")" = t ]; }
wait_until 10 spent || fail "the budget's tokens never reached usage_rollups"
# b's next exchange brings them: b reports key rpm (its tokens of the day)
# twice a second, and the statement that writes its row reads the rollups
T0=$(pgq "SELECT now()")
b_exchanged() { [ "$(pgq "SELECT count(*) FROM key_load WHERE node = 'b' AND updated_at > '$T0'")" != 0 ]; }
# (not fatal: without the exchange, the request below says what b does)
wait_until 10 b_exchanged || log "node b wrote no key_load row after the budget was spent"
sleep 0.3 # the answer on its way to agentd
HTTP_PORT=${NODE_HTTP[b]}
expect_oai 429 insufficient_quota POST /v1/chat/completions -H "Authorization: Bearer $KEY_budget" --data-binary "$M"
log "ok: spent through a, refused on b"

# --- node a restarted: its agentd starts from zero, the rollups remember
fwd_node_stop a
fwd_node_start a
wait_until 10 fwd_linked a "lab:qwen3:0.6b" || fail "node a does not see b's agent after its restart"
exchanged() { [ "$(grep -c 'network limits: sharing key counts' "$T/node-a.log")" -ge 2 ]; }
wait_until 15 exchanged ||
    log "node a did not exchange key counts after its restart (node name taken over after node.ttl)"
sleep 0.3 # the answer on its way to agentd
HTTP_PORT=${NODE_HTTP[a]}
expect_oai 429 insufficient_quota POST /v1/chat/completions -H "Authorization: Bearer $KEY_budget" --data-binary "$M"
log "ok: node a restarted: the day's budget is still spent"
fwd_pass "a key's limits hold across the network"
