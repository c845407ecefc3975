#!/bin/bash
# hostile-http-creds.sh: a client's credentials never reach an agent nor a
# backend (issue 12, defect 4).
#
# A request carrying every credential header of the shared list
# (src/common/cred_headers.c: Authorization, Proxy-Authorization, Cookie,
# api-key, x-api-key, x-goog-api-key, Ocp-Apim-Subscription-Key, ...)
# goes (1) to a python3-grpcio agent that prints the header names of each
# task offer: the worker must have stripped them all, and (2) through a
# real tokiame to a recording backend (path_rec_backend.py): it sees none
# of them, only its own api_key, and ordinary headers still arrive.
. "$(dirname "$0")/hostile-lib.sh"
path_setup
"$PY" -c 'import grpc, grpc_tools' 2>/dev/null || skip "python3-grpcio and python3-grpc-tools are needed"
mkdir -p "$T/gen"
"$PY" -m grpc_tools.protoc -I"$top_srcdir/proto" --python_out="$T/gen" \
    --grpc_python_out="$T/gen" tokilake.proto >"$T/protoc.out" 2>&1 ||
    fail "grpc_tools.protoc: $(cat "$T/protoc.out")"

"$PY" "$HERE/path_rec_backend.py" --port-file "$T/rec.port" >"$T/rec.err" 2>&1 &
TL_PIDS+=($!)
wait_until 10 test -s "$T/rec.port" || fail "path_rec_backend.py did not start"
REC=http://127.0.0.1:$(cat "$T/rec.port")
TM_BACKENDS=("{ name: rec, url: \"$REC/v1\", api_key: sk-rec, models: [rec-model], discover: false }")
hostile_up
wait_until 10 path_linked lab:rec-model || fail "lab:rec-model not listed"

"$PY" -u "$HERE/hostile_offer_agent.py" --stubs "$T/gen" --addr "127.0.0.1:$AGENT_PORT" \
    --namespace lab --token "$NS_TOKEN" --agent-id py --models py-model \
    >"$T/py.out" 2>"$T/py.err" </dev/null &
TL_PIDS+=($!)
wait_until 15 path_linked lab:py-model || fail "lab:py-model not listed: $(cat "$T/py.err" | tail -n 3)"

CREDS=(authorization proxy-authorization cookie api-key x-api-key x-goog-api-key
    ocp-apim-subscription-key x-auth-token x-access-token x-amz-security-token)
args=()
for h in "${CREDS[@]}"; do
	args+=(-H "$h: secret-$h")
done
for model in py-model rec-model; do
	req POST /v1/chat/completions -H 'Content-Type: application/json' -H 'x-keep-me: yes' \
	    "${args[@]}" --data-binary "{\"model\":\"lab:$model\",\"messages\":[]}"
	check [ "$CODE" = 200 ] "lab:$model: 200 ($BODY)"
done

# (1) what the worker offered the agent
wait_until 5 grep -q '^HEADERS ' "$T/py.out" || fail "the python agent got no offer: $(cat "$T/py.out")"
offered=$(sed -n 's/^HEADERS [0-9]* //p' "$T/py.out" | head -n 1)
log "the agent was offered headers: $offered"
[[ ,$offered, == *,x-keep-me,* ]] || BUGS+="an ordinary header did not reach the agent ($offered); "
for h in "${CREDS[@]}"; do
	if [[ ,$offered, == *,$h,* ]]; then
		BUGS+="$h reached the agent; "
		log "BUG: $h reached the agent"
	fi
done

# (2) what the backend behind a real tokiame got
curl -s --max-time 3 "$REC/_requests" >"$T/rec.seen"
seen() { jget "$T/rec.seen" "'|'.join(v for k, v in j[-1]['headers'] if k == '$1')"; }
check [ "$(seen authorization)" = "Bearer sk-rec" ] "the backend gets its own key only ($(seen authorization))"
check [ "$(seen x-keep-me)" = yes ] "an ordinary header reaches the backend"
for h in "${CREDS[@]}"; do
	[ "$h" = authorization ] && continue
	if [ -n "$(seen "$h")" ]; then
		BUGS+="$h reached the backend ($(seen "$h")); "
		log "BUG: $h reached the backend"
	fi
done
[ -n "$BUGS" ] || log "ok: none of ${#CREDS[@]} credential headers reached the agent or the backend"
hostile_done
