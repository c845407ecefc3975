#!/bin/bash
# link-discover-late.sh: tokiame started before its backend (issue 13).
#
# tokiame links with no models while its only backend (discover: true,
# the default 60 s interval, no explicit models) refuses connections;
# the mock backend starts on that port 3 s later. The backend's model
# must be listed within a few seconds (discovery retries at 1 s, doubling
# up to the interval), not a minute later, and tokiame logs that discovery
# works again.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/mock/mock-lib.sh"
. "$(dirname "$0")/link-lib.sh"

[ -x "$TOKIAME" ] || skip "no tokiame binary at $TOKIAME"
[ -x "$MOCK" ] || skip "no mock at $MOCK"
link_setup
link_certs
link_token lab
NAMESPACES_YAML="  lab: { tokens: [\"$HASH\"] }"
AGENT_OPTS="ping_interval: 1s, ping_timeout: 3s"
link_node "$T/tokilake.yaml" tls

BPORT=$(freeport)
MOCK_URL=http://127.0.0.1:$BPORT
TM_MODELS='' TM_BACKEND_EXTRA="discover: true" tm_config a "127.0.0.1:$AGENT_PORT" "$TOKEN" \
    "tls: { ca_file: \"$T/ca.crt\", server_name: localhost }" \
    "reconnect: { initial: 200ms, max: 2s }"
tm_start a
A=$TM_PID
wait_until 15 grep -q 'registered on node' "$T/tm-a.log" ||
    fail "tokiame did not register: $(tail -n 5 "$T/tm-a.log")"
grep -q 'model discovery fails' "$T/tm-a.log" ||
    fail "tokiame did not say discovery fails: $(tail -n 5 "$T/tm-a.log")"
log "ok: linked with the backend down: $(grep -m1 'model discovery fails' "$T/tm-a.log" | cut -c1-220)"
lcheck not_listed lab:qwen3:0.6b "nothing listed while the backend is down"
sleep 3
mock_start mock -l "127.0.0.1:$BPORT" -m "qwen3:0.6b"
T0=$(now_ms)
wait_until 15 listed lab:qwen3:0.6b ||
    fail "the late backend's model not listed within 15 s: $(models); $(tail -n 5 "$T/tm-a.log")"
note "late backend up to its model in /v1/models (ms)" "$(ms_since "$T0")"
grep -q 'model discovery works again' "$T/tm-a.log" ||
    fail "tokiame did not log that discovery works again"
lcheck alive "$A" "tokiame still running"
link_pass
