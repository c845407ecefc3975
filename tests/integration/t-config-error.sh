#!/usr/bin/env bash
# Configuration errors found at start: `tokilake -n` rejects a missing TLS
# certificate with exit 2 and file:line; started anyway, the master exits
# 2 at once without forking a respawn loop; an HTTP port already taken
# makes the second node fail fast while the first keeps serving.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
tl_setup

HTTP_PORT=$(freeport)
AGENT_PORT=$(freeport)

# An HTTPS listener whose certificate does not exist.
write_config "$T/nocert.yaml"
sed -i "s|^  listen: .*|  listen:\n    - { address: \"127.0.0.1:$HTTP_PORT\", tls: { cert: $T/missing.crt, key: $T/missing.key } }|" "$T/nocert.yaml"
line=$(grep -n 'missing.crt' "$T/nocert.yaml" | cut -d: -f1)
"$TOKILAKE" -n -c "$T/nocert.yaml" >/dev/null 2>"$T/nocert.err"
rc=$?
[ $rc -eq 2 ] || fail "tokilake -n with a missing http TLS certificate: exit $rc (want 2): $(cat "$T/nocert.err")"
grep -q "$T/nocert.yaml:$line:" "$T/nocert.err" ||
    fail "missing certificate: no \"$T/nocert.yaml:$line:\" in: $(cat "$T/nocert.err")"
log "ok: -n, missing http certificate -> exit 2: $(head -n 1 "$T/nocert.err")"

# The same for the agent listener.
write_config "$T/noagentcert.yaml"
sed -i "s|^agents: .*|agents: { listen: \"127.0.0.1:$AGENT_PORT\", tls: { cert: $T/missing.crt, key: $T/missing.key } }|" "$T/noagentcert.yaml"
"$TOKILAKE" -n -c "$T/noagentcert.yaml" >/dev/null 2>"$T/noagentcert.err"
rc=$?
[ $rc -eq 2 ] || fail "tokilake -n with a missing agents TLS certificate: exit $rc (want 2): $(cat "$T/noagentcert.err")"
grep -Eq "$T/noagentcert.yaml:[0-9]+:" "$T/noagentcert.err" ||
    fail "missing agents certificate: no file:line in: $(cat "$T/noagentcert.err")"
log "ok: -n, missing agents certificate -> exit 2: $(head -n 1 "$T/noagentcert.err")"

# Started for real: exit 2 within 5 s, nothing left listening.
t0=$(now_ms)
"$TOKILAKE" -c "$T/nocert.yaml" >"$T/start-nocert.log" 2>&1 </dev/null &
pid=$!
TL_PIDS+=("$pid")
gone() { ! alive "$pid"; }
wait_until 5 gone || fail "tokilake with a missing certificate still running after 5 s"
wait "$pid"
rc=$?
log "started with a missing certificate: exit $rc after $(($(now_ms) - t0)) ms: $(head -n 1 "$T/start-nocert.log")"
[ $rc -eq 2 ] || fail "tokilake with a missing certificate: exit $rc (want 2)"
port_in_use "$HTTP_PORT" && fail "port $HTTP_PORT listening after a failed start"

# A port another node holds.
write_config "$T/tokilake.yaml"
start_and_wait "$T/tokilake.yaml" 2
mkdir -p "$T/run2"
sed -e "s|^runtime_dir: .*|runtime_dir: $T/run2|" \
    -e "s|127.0.0.1:$AGENT_PORT|127.0.0.1:$(freeport)|" "$T/tokilake.yaml" >"$T/second.yaml"
t0=$(now_ms)
"$TOKILAKE" -c "$T/second.yaml" >"$T/second.log" 2>&1 </dev/null &
pid=$!
TL_PIDS+=("$pid")
wait_until 5 gone || fail "a second node on a taken port still running after 5 s"
wait "$pid"
rc=$?
log "second node on port $HTTP_PORT: exit $rc after $(($(now_ms) - t0)) ms: $(grep -m 1 -i "$HTTP_PORT" "$T/second.log")"
[ $rc -ne 0 ] || fail "a second node on a taken port exited 0"
grep -q "$HTTP_PORT" "$T/second.log" || fail "the bind error does not name the address: $(cat "$T/second.log")"
req GET /healthz
[ "$CODE" = 200 ] || fail "the first node stopped serving: $CODE"

pass "config errors at start: exit 2, no respawn loop"
