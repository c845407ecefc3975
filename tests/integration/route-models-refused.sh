#!/bin/bash
# route-models-refused.sh: an agent whose model list holds ids the server
# does not take is told so, and the rest of its list is used (issue 12,
# defect 5).
#
# 1. A python3-grpcio agent registers "good", "bad<0x01>one" (a control
#    byte) and a 300-byte id: it is REGISTERED, then gets
#    Control{models_refused} naming both refused ids (total 2); lab:good
#    is listed and answers; agentd logs the refusal once.
# 2. The same through a ModelUpdate is not possible with this agent; the
#    real tokiame does it: it discovers "ok-model" and "bad<0x01>model"
#    from the mock, publishes both, and logs what the server refused;
#    lab:ok-model is listed.
# 3. The offer the python agent got carries deadline_ms, the first-byte
#    budget left (just under http.first_byte_timeout, 5m), not 0.
#
# On main before the fix: the control byte made the registry drop the
# agent's whole list (nothing listed, nothing said) and the long id ended
# the Connect call with a message naming no id.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/mock/mock-lib.sh"
. "$(dirname "$0")/link-lib.sh"

link_setup_with_tokiame
link_stubs
link_token lab
NAMESPACES_YAML="  lab: { tokens: [\"$HASH\"] }"
AGENT_OPTS="ping_interval: 1s, ping_timeout: 5s"
link_node "$T/tl.yaml" plain

long=$(printf 'x%.0s' $(seq 1 300))
py_agent a --addr "127.0.0.1:$AGENT_PORT" --namespace lab --token "$TOKEN" \
    --agent-id py-a --models "good,bad\\x01one,$long" --models-escaped
wait_py a '^REGISTERED ' 15
wait_py a '^CONTROL models_refused' 5
lcheck py_said a '^CONTROL models_refused total 2 ' "the agent is told: 2 models refused"
lcheck py_said a "#1 'bad..x01one' model id with a control character" "it names the id with the control byte and why"
lcheck py_said a "#2 'x+\\.\\.\\.' model id longer than 256 bytes" "it names the long id, cut"
wait_until 5 listed lab:good || fail "lab:good not listed: $(models)"
lcheck not_listed "lab:bad"$'\x01'"one" "the refused id is not listed"
chat_ok lab:good
log "ok: lab:good answers ($CODE)"
# TaskOffer.deadline_ms: the first-byte budget left (http.first_byte_timeout
# is 5m here), not 0 as before
dl=$(awk '/^DEADLINE /{print $3; exit}' "$T/py-a.out")
budget_ok() { [ "${dl:-0}" -gt 290000 ] && [ "$dl" -le 300000 ]; }
lcheck budget_ok "the offer carries the first-byte budget left: ${dl:-none} ms"
lcheck [ "$(grep -c '2 models refused' "$T/tokilake.log")" = 1 ] "agentd logs the refusal once"
kill "$PY_PID" 2>/dev/null

# the real tokiame, through discovery and its first Register
curl -s --max-time 2 -X POST "$MOCK_URL/mock/models" \
    -d '{"models":["ok-model","bad\u0001model"]}' >/dev/null || fail "cannot set the mock's models"
TM_MODELS=
tm_config tm "127.0.0.1:$AGENT_PORT" "$TOKEN" "tls: { plaintext: true }"
tm_start tm
wait_until 15 listed lab:ok-model || fail "lab:ok-model not listed: $(models); $(tail -n 5 "$T/tm-tm.log")"
tm_said() { grep -q 'the server refused model #[0-9] "bad\\x01model": model id with a control character' "$T/tm-tm.log"; }
wait_until 5 tm_said || fail "tokiame did not log the refusal: $(grep -i refus "$T/tm-tm.log")"
log "ok: tokiame logged: $(grep -m1 'the server refused' "$T/tm-tm.log" | sed 's/^.*tokiame\[[0-9]*\] //')"
link_pass "refused model ids are named to the agent; the rest of its list is used"
