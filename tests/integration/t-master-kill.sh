#!/usr/bin/env bash
# kill -9 of the master: every child exits within 2 s (PR_SET_PDEATHSIG)
# and nothing keeps the HTTP or agent port.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
tl_setup

write_config "$T/tokilake.yaml"
start_and_wait "$T/tokilake.yaml" 2
kids=$(children | tr '\n' ' ')
log "children before: $kids"

kill -9 "$MASTER"
t0=$(now_ms)
wait "$MASTER" 2>/dev/null
POLL=0.01 wait_until 2 none_alive $kids ||
    fail "children still alive 2 s after kill -9 of the master: $(for p in $kids; do alive "$p" && printf '%s ' "$p"; done)"
gone_ms=$(($(now_ms) - t0))
log "all children gone ${gone_ms} ms after kill -9 of the master"

ports_free() { ! port_in_use "$HTTP_PORT" && ! port_in_use "$AGENT_PORT"; }
wait_until 1 ports_free || fail "ports $HTTP_PORT/$AGENT_PORT still in use after the master and its children died"
code=$(http_code "http://127.0.0.1:$HTTP_PORT/healthz")
[ "$code" = 000 ] || fail "something still answers on $HTTP_PORT: $code"
[ -S "$T/run/agentd.sock" ] && log "note: stale $T/run/agentd.sock left behind (expected after kill -9)"

# A new node starts on the same ports at once.
: >"$T/tokilake.log"
start_and_wait "$T/tokilake.yaml" 2
log "restarted on the same ports: /healthz 200 after ${HEALTHZ_MS} ms"

pass "children gone ${gone_ms} ms after kill -9 of the master"
