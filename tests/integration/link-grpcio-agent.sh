#!/bin/bash
# link-grpcio-agent.sh: a gRPC stack we did not write (Debian's
# python3-grpcio, tests/integration/grpc_agent.py) as the AGENT against our
# agentd: over TLS with a throwaway CA, then over h2c (agents.plaintext).
#
# Checks: the right token links (REGISTERED) and /v1/models on the worker
# lists ns:model (OpenAI list, owned_by = namespace); a chat completion
# through tokilake is offered to the python agent and its echo reaches
# curl; a wrong or missing token is UNAUTHENTICATED, logged with the peer
# address and without the token, and disturbs no linked agent of the
# namespace; two replicas of one namespace link with distinct ids and
# share the requests; Register naming another namespace than the metadata
# is rejected.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/link-lib.sh"

link_setup
link_certs
link_stubs
T_START=$(now_ms)

link_token lab
LAB_TOKEN=$TOKEN LAB_HASH=$HASH
link_token other
OTHER_TOKEN=$TOKEN OTHER_HASH=$HASH
WRONG_TOKEN=tlk_$(printf '%064d' 0 | tr 0 7)
NAMESPACES_YAML="  lab: { tokens: [\"$LAB_HASH\"] }
  other: { tokens: [\"$OTHER_HASH\"] }"
AGENT_OPTS="ping_interval: 1s, ping_timeout: 3s"

# The agent's arguments for the current mode (TLS or h2c).
PYTLS=()

# link_one NAME AGENT_ID MODELS [ARGS...]: a python agent with the lab token; waits
# for REGISTERED and sets the pid in PID_<NAME> and its server id in
# ID_<NAME>.
link_one()
{
	local name=$1 t0
	t0=$(now_ms)
	py_agent "$name" --addr "127.0.0.1:$AGENT_PORT" "${PYTLS[@]}" --namespace lab \
	    --token "$LAB_TOKEN" --agent-id "$2" --models "$3" "${@:4}"
	printf -v "PID_$name" %s "$PY_PID"
	wait_py "$name" '^REGISTERED ' 15
	printf -v "ID_$name" %s "$(awk '/^REGISTERED /{print $2; exit}' "$T/py-$name.out")"
	log "ok: agent $name registered as $(eval echo "\$ID_$name") after $(ms_since "$t0") ms"
}

# ---- TLS --------------------------------------------------------------------
link_node "$T/tls.yaml" tls
AGENTD=$(agentd_pid) || fail "no agentd"
PYTLS=(--ca "$T/ca.crt" --server-name localhost)

T0=$(now_ms)
link_one a py-a m1,qwen3:0.6b
wait_until 5 listed lab:m1 || fail "lab:m1 not in /v1/models: $(models)"
note "tls: python agent start to lab:m1 listed (ms)" "$(ms_since "$T0")"
lcheck listed "lab:qwen3:0.6b" "lab:qwen3:0.6b listed (colon in the model name)"
check_models_format || fail "/v1/models format: $(cat "$T/models-format.out")"
log "ok: /v1/models is an OpenAI list, owned_by = namespace ($(cat "$T/models-format.out") models)"
lcheck test "$(model_ids | grep -c '^lab:')" = 2 "exactly the two published models of lab listed"

chat lab:m1
lcheck test "$CODE" = 200 "chat via lab:m1 through the python agent answers 200 (${BODY:0:120})"
# the worker cuts "lab:" out of the model field: the agent sees 4 bytes less
N=$((${#CHAT_BODY} - 4))
lcheck test "$BODY" = "{\"echo_model\":\"m1\",\"echo_bytes\":$N}" "the agent's echo reaches curl byte for byte"
wait_py a "^OFFER [0-9]+ POST /v1/chat/completions m1 $N\$" 5
chat lab:qwen3:0.6b
lcheck test "$BODY" = "{\"echo_model\":\"qwen3:0.6b\",\"echo_bytes\":$((${#CHAT_BODY} - 4))}" "model with a colon goes to the agent as qwen3:0.6b"

# -- wrong token, missing token, token of another namespace
log_mark
py_agent bad --addr "127.0.0.1:$AGENT_PORT" "${PYTLS[@]}" --namespace lab --token "$WRONG_TOKEN" \
    --agent-id py-bad --models m-bad
BAD=$PY_PID
wait_until 10 none_alive "$BAD" || fail "wrong-token agent still running after 10 s"
wait "$BAD"
lcheck test $? = 3 "wrong token: grpc_agent.py exits 3"
lcheck py_said bad '^STATUS UNAUTHENTICATED' "wrong token: status UNAUTHENTICATED"
wait_until 3 in_log 'agentd.*authentication failed for namespace "lab".*invalid token' ||
    fail "agentd did not log the failed authentication"
LINE=$(tail -n +"$LOG_FROM" "$T/tokilake.log" | grep -m1 'authentication failed')
log "agentd said: $LINE"
[[ $LINE =~ 127\.0\.0\.1:[0-9]+ ]] || fail "the failure does not name the peer address: $LINE"
log "ok: the failure names the peer address"
grep -qF "$WRONG_TOKEN" "$T/tokilake.log" && fail "agentd logged the wrong token"
grep -qF "${WRONG_TOKEN#tlk_}" "$T/tokilake.log" && fail "agentd logged the wrong token (without prefix)"
grep -qF "$LAB_TOKEN" "$T/tokilake.log" && fail "agentd logged the lab token"
log "ok: no token in the node's log"
lcheck not_listed lab:m-bad "the refused agent's model is not listed"
lcheck listed lab:m1 "the linked agent's model stays listed"
chat_ok lab:m1
log "ok: requests through the linked agent still work"
lcheck alive "$PID_a" "the linked python agent is still running"

py_agent none --addr "127.0.0.1:$AGENT_PORT" "${PYTLS[@]}" --namespace lab --agent-id py-none
wait_until 10 none_alive "$PY_PID" || fail "tokenless agent still running"
wait "$PY_PID"
lcheck test $? = 3 "missing token: exit 3"
lcheck py_said none '^STATUS UNAUTHENTICATED .*missing bearer token' "missing token: UNAUTHENTICATED (missing bearer token)"

py_agent cross --addr "127.0.0.1:$AGENT_PORT" "${PYTLS[@]}" --namespace lab --token "$OTHER_TOKEN" \
    --agent-id py-cross
wait_until 10 none_alive "$PY_PID" || fail "cross-namespace agent still running"
wait "$PY_PID"
lcheck test $? = 3 "the token of namespace other does not open lab"
chat_ok lab:m1

# -- Register naming another namespace than the metadata
log_mark
py_agent liar --addr "127.0.0.1:$AGENT_PORT" "${PYTLS[@]}" --namespace lab --token "$LAB_TOKEN" \
    --register-namespace other --agent-id py-liar --models m-liar
wait_until 10 none_alive "$PY_PID" || fail "agent registering another namespace still running"
wait "$PY_PID"
lcheck py_said liar '^STATUS INVALID_ARGUMENT .*another namespace' "Register naming another namespace: INVALID_ARGUMENT"
py_said liar '^REGISTERED' && fail "the agent naming another namespace was registered"
wait_until 3 in_log 'agentd.*Register names another namespace' ||
    fail "agentd did not log the rejected Register"
lcheck not_listed other:m-liar "nothing listed under other"
lcheck not_listed lab:m-liar "nothing listed under lab"
chat_ok lab:m1

# -- replicas: a second agent of lab with the SAME agent id and model m1
link_one b py-a m1
lcheck test "$ID_a" != "$ID_b" "replicas have distinct ids ($ID_a, $ID_b)"
lcheck test "$(model_ids | grep -c '^lab:m1$')" = 1 "lab:m1 listed once for two replicas"
log_mark
for i in $(seq 1 10); do
	chat_ok lab:m1
done
NA=$(log_count "offered to agent ${ID_a//./\\.}\$")
NB=$(log_count "offered to agent ${ID_b//./\\.}\$")
log "agentd offered $NA requests to $ID_a and $NB to $ID_b"
[ "$NA" -ge 3 ] && [ "$NB" -ge 3 ] || fail "requests not spread over the replicas: $NA / $NB"
log "ok: 10 requests spread over both replicas ($NA / $NB)"
OA=$(grep -c '^OFFER .* m1 ' "$T/py-a.out") OB=$(grep -c '^OFFER .* m1 ' "$T/py-b.out")
[ "$OB" -ge 3 ] || fail "agent b printed $OB OFFER lines"
log "ok: the python agents saw $OA and $OB offers"

# a wrong token while two replicas are linked disturbs neither
py_agent bad2 --addr "127.0.0.1:$AGENT_PORT" "${PYTLS[@]}" --namespace lab --token "$WRONG_TOKEN"
wait_until 10 none_alive "$PY_PID" || fail "wrong-token agent still running"
lcheck alive "$PID_a" "replica a still linked"
lcheck alive "$PID_b" "replica b still linked"
lcheck listed lab:qwen3:0.6b "lab:qwen3:0.6b still listed"

# one replica leaves: m1 stays (b), qwen3 goes (only a had it)
kill -TERM "$PID_a"
wait_until 3 not_listed lab:qwen3:0.6b || fail "lab:qwen3:0.6b still listed after its agent left"
lcheck listed lab:m1 "lab:m1 still listed (replica b)"
chat_ok lab:m1
lcheck test "$AGENTD" = "$(agentd_pid)" "agentd is the same process ($AGENTD)"
kill -TERM "$PID_b"
wait_until 3 not_listed lab:m1 || fail "lab:m1 still listed after both replicas left"
link_stop

# ---- h2c (agents.plaintext) -------------------------------------------------
HTTP_PORT= AGENT_PORT=
link_node "$T/plain.yaml" plain
PYTLS=()
T0=$(now_ms)
link_one c py-c m-plain
wait_until 5 listed lab:m-plain || fail "lab:m-plain not listed over h2c"
note "h2c: python agent start to lab:m-plain listed (ms)" "$(ms_since "$T0")"
check_models_format || fail "h2c: /v1/models format: $(cat "$T/models-format.out")"
BIG='{"model":"lab:m-plain","messages":[],"pad":"'$(head -c 200000 /dev/zero | tr '\0' x)'"}'
printf %s "$BIG" >"$T/big.json"
req POST /v1/chat/completions -H 'content-type: application/json' --data-binary @"$T/big.json"
lcheck test "$CODE" = 200 "h2c: a 200 KB request through the python agent: 200"
lcheck test "$BODY" = "{\"echo_model\":\"m-plain\",\"echo_bytes\":$((${#BIG} - 4))}" "h2c: the agent got the whole body"
py_agent bad3 --addr "127.0.0.1:$AGENT_PORT" --namespace lab --token "$WRONG_TOKEN"
wait_until 10 none_alive "$PY_PID" || fail "wrong-token agent still running (h2c)"
wait "$PY_PID"
lcheck test $? = 3 "h2c: wrong token exits 3"
chat_ok lab:m-plain

# -- Content-Length from the agent: passed on when true; a lie (too short
# or too long) cuts the answer and closes the connection, so no byte of it
# can pass for the client's next answer
link_one cl py-cl m-cl --content-length-delta 0
link_one short py-short m-short --content-length-delta 5
link_one long py-long m-long --content-length-delta -5
wait_until 5 listed lab:m-long || fail "lab:m-long not listed"
chat lab:m-cl
lcheck test "$CODE:$(grep -i '^content-length:' <<<"$HDRS" | tr -d ' ' | cut -d: -f2)" = "200:${#BODY}" \
    "a true Content-Length from the agent reaches the client (${#BODY} bytes)"
lcheck test -z "$(grep -i '^transfer-encoding:' <<<"$HDRS")" "  ... and the answer is not chunked"
for kind in short long; do
	log_mark
	chat lab:m-$kind
	lcheck test "$CURL_RC" = 18 "an answer $kind of its Content-Length: the client sees it cut (curl exit $CURL_RC, ${#BODY} bytes)"
	wait_until 3 in_log "agent_protocol_error|Content-Length" ||
	    fail "the worker did not log the $kind Content-Length"
	log "ok: worker said: $(tail -n +"$LOG_FROM" "$T/tokilake.log" | grep -m1 'Content-Length' | cut -c1-200)"
done
chat_ok lab:m-cl
log "took $(ms_since "$T_START") ms"
link_pass
