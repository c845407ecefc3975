#!/bin/bash
# agent-link.sh: the real tokiame binary against a gRPC server we did not
# write (python3-grpcio, tests/integration/grpc_server.py), over TLS with a
# throwaway CA, with a tiny HTTP backend (agent-backend.py).
#
# Checks: link, Register with the configured and discovered models,
# heartbeats, the local API; a task run against the backend (head, chunks,
# end, the backend's bytes; request body and headers as the backend got
# them), a 3 MiB body and a 1 MiB answer through the flow-control windows,
# cancellation reaching the backend, a refused backend (502 naming it),
# an unknown model (404); discovery changes published as ModelUpdate;
# Control.Drain; wrong token (UNAUTHENTICATED), wrong CA, wrong host name,
# insecure_skip_verify, h2c; the server killed and restarted (relink with
# back-off); SIGTERM with a task in flight (Goodbye, the task finishes,
# exit 0). Every wait is bounded; everything started is killed on exit.
. "$(dirname "$0")/lib.sh"

TOKIAME=${TOKIAME:-$top_builddir/tokiame}
PY=/usr/bin/python3
HERE=$top_srcdir/tests/integration

[ -x "$TOKIAME" ] || skip "no tokiame binary at $TOKIAME"
"$PY" -c 'import grpc, grpc_tools' 2>/dev/null ||
	skip "python3-grpcio and python3-grpc-tools are needed"
command -v openssl >/dev/null || skip "openssl not installed"
command -v curl >/dev/null || skip "curl not installed"

tl_tempdir
log "temp dir $T"

# jv EXPR: evaluate a python expression on the JSON document on stdin
# (bound to d); strings print raw, the rest as JSON.
jv()
{
	"$PY" -c '
import json, sys
d = json.load(sys.stdin)
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))' "$1"
}

# wait_file FILE: wait (10 s) for a server to write its port file.
wait_file() { wait_until 10 test -s "$1" || fail "no $1"; }

# ---- stubs and certificates -------------------------------------------------
mkdir -p "$T/gen"
"$PY" -m grpc_tools.protoc -I"$top_srcdir/proto" --python_out="$T/gen" \
	--grpc_python_out="$T/gen" tokilake.proto || fail "grpc_tools.protoc failed"

mkcert()
{
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -out "$T/ca.crt" \
		-days 2 -subj "/CN=tokiame test CA" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/other.key" -out "$T/other.crt" \
		-days 2 -subj "/CN=another CA" &&
	openssl req -newkey rsa:2048 -nodes -keyout "$T/server.key" -out "$T/server.csr" \
		-subj "/CN=localhost" &&
	printf '%s\n' 'subjectAltName=DNS:localhost,IP:127.0.0.1' 'basicConstraints=CA:FALSE' \
		'extendedKeyUsage=serverAuth' >"$T/ext.cnf" &&
	openssl x509 -req -in "$T/server.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" \
		-CAcreateserial -out "$T/server.crt" -days 2 -extfile "$T/ext.cnf"
}
mkcert >"$T/openssl.out" 2>&1 || fail "openssl: $(tail -n 3 "$T/openssl.out")"

# ---- the backend and the servers --------------------------------------------
echo m-disc-1 >"$T/models.txt"
"$PY" "$HERE/agent-backend.py" --port-file "$T/backend.port" --models-file "$T/models.txt" \
	--api-key sk-backend >"$T/backend.err" 2>&1 &
TL_PIDS+=($!)
wait_file "$T/backend.port"
BACKEND=$(cat "$T/backend.port")
DEAD_PORT=$(freeport)   # nothing listens there: a backend that refuses

# start_server NAME tls|plain [PORT]: SRV_PID; $T/NAME.port, $T/NAME.ctl
start_server()
{
	local name=$1 mode=$2 port=${3:-0} tls=()
	[ "$mode" = tls ] && tls=(--tls-cert "$T/server.crt" --tls-key "$T/server.key")
	rm -f "$T/$name.port" "$T/$name.ctl"
	"$PY" "$HERE/grpc_server.py" --gen "$T/gen" --port "$port" --port-file "$T/$name.port" \
		--control-port-file "$T/$name.ctl" --token tlk_right --namespace lab \
		--heartbeat-ms 300 "${tls[@]}" >>"$T/$name.err" 2>&1 &
	SRV_PID=$!
	TL_PIDS+=("$SRV_PID")
	wait_file "$T/$name.port"
}
start_server srv tls
SRV=$SRV_PID
GPORT=$(cat "$T/srv.port")
CTL=http://127.0.0.1:$(cat "$T/srv.ctl")

# ctl PATH [JSON]: GET or POST the control API of the TLS server.
ctl()
{
	if [ $# -gt 1 ]; then
		curl -s --max-time 30 -X POST --data-binary "$2" "$CTL$1"
	else
		curl -s --max-time 30 "$CTL$1"
	fi
}

# ---- tokiame instances ------------------------------------------------------
# write_tm NAME SERVER [YAML LINES...]: $T/NAME.yaml with its own API port.
write_tm()
{
	local name=$1 server=$2 api
	shift 2
	api=$(freeport)
	echo "$api" >"$T/$name.api"
	{
		echo "server: $server"
		echo "namespace: lab"
		echo "api_addr: 127.0.0.1:$api"
		echo "heartbeat_interval: 1s"
		echo "shutdown_timeout: 5s"
		echo "reconnect: { initial: 200ms, max: 2s }"
		echo "log: { level: debug }"
		printf '%s\n' "$@"
		echo "backends:"
		echo "  - name: mock"
		echo "    url: http://127.0.0.1:$BACKEND/v1"
		echo "    api_key: sk-backend"
		echo "    concurrency: 2"
		echo "    models: [m-explicit]"
		echo "    discover: true"
		echo "    discover_interval: 1s"
		echo "  - name: dead"
		echo "    url: http://127.0.0.1:$DEAD_PORT/v1"
		echo "    concurrency: 1"
		echo "    models: [m-dead]"
		echo "    discover: false"
	} >"$T/$name.yaml"
}

# start_tm NAME: TM_PID
start_tm()
{
	"$TOKIAME" -c "$T/$1.yaml" >>"$T/tm-$1.log" 2>&1 </dev/null &
	TM_PID=$!
	TL_PIDS+=("$TM_PID")
}

api() { curl -s --max-time 3 "http://127.0.0.1:$(cat "$T/$1.api")$2"; }
api_code() { http_code "http://127.0.0.1:$(cat "$T/$1.api")$2"; }
health_is() { [ "$(api_code "$1" /healthz)" = "$2" ]; }
in_log() { grep -q "$2" "$T/tm-$1.log"; }
agent_id_of() { api "$1" /status | jv 'd["agent_id"]'; }

# ---- A: link, register, heartbeat, local API --------------------------------
write_tm a "localhost:$GPORT" "token: tlk_right" "tls: { ca_file: $T/ca.crt }"
start_tm a
A=$TM_PID
wait_until 10 health_is a 200 || fail "tokiame never became healthy"
log "ok: /healthz 200 after ${WAITED} ms"
AID=$(agent_id_of a)
REG=$(ctl "/wait?type=register&agent=$AID&timeout=5")
check test "$(echo "$REG" | jv 'd[0]["namespace"]')" = lab "Register names namespace lab"
check test "$(echo "$REG" | jv 'd[0]["capacity"]')" = 3 "Register capacity = 2 + 1"
check test -n "$(echo "$REG" | jv 'd[0]["version"]')" "Register carries a version"
IDS=$(echo "$REG" | jv '" ".join(sorted(m["id"] for m in d[0]["models"]))')
check test "$IDS" = "m-dead m-disc-1 m-explicit" "Register: configured + discovered models ($IDS)"
check test "$(echo "$REG" | jv '[m["backend"] for m in d[0]["models"] if m["id"] == "m-dead"][0]')" \
	= dead "models name their backend"
CONN=$(ctl "/events" | jv '[e for e in d if e["type"] == "connect"][0]')
case $(echo "$CONN" | jv 'd["user_agent"]') in
tokiame/*) log "ok: user-agent tokiame/..." ;;
*) fail "user-agent: $(echo "$CONN" | jv 'd["user_agent"]')" ;;
esac
HB=$(ctl "/wait?type=heartbeat&agent=$AID&count=2&timeout=5")
[ "$(echo "$HB" | jv 'len(d)')" -ge 2 ] 2>/dev/null || fail "no heartbeats"
check test "$(echo "$HB" | jv 'd[0]["capacity"]')" = 3 "heartbeat carries capacity"

ST=$(api a /status)
check test "$(echo "$ST" | jv 'd["link"]')" = registered "/status link registered"
check test "$(echo "$ST" | jv 'd["namespace"]')" = lab "/status namespace"
check test "$(echo "$ST" | jv 'd["server"]')" = "localhost:$GPORT" "/status server"
check test "$(echo "$ST" | jv 'd["reconnects"]')" = 0 "/status reconnects 0"
check test "$(echo "$ST" | jv 'd["in_flight"]')" = 0 "/status in_flight 0"
check test "$(echo "$ST" | jv '"m-explicit" in [m["id"] for m in d["models"]]')" = true \
	"/status lists the models"
check test "$(api a /healthz | jv 'd["status"]')" = ok '/healthz {"status":"ok"}'
check test "$(api_code a /nope)" = 404 "unknown path 404"
check test "$(http_code -X POST "http://127.0.0.1:$(cat "$T/a.api")/status")" = 405 "POST 405"

# ---- A: tasks ---------------------------------------------------------------
BODY='{"model":"m-disc-1","stream":true,"n_chunks":4,"pause_ms":20}'
SPEC=$("$PY" -c 'import json,sys; print(json.dumps({"model":"m-disc-1","body":sys.argv[1],
 "headers":[["authorization","Bearer user-key"],["content-type","application/json"],
 ["x-request-id","rid-42"],["connection","keep-alive"]]}))' "$BODY")
R=$(ctl /offer "$SPEC")
check test "$(echo "$R" | jv 'd["head"]["status"]')" = 200 "task: ResponseHead 200"
check test "$(echo "$R" | jv 'dict(d["head"]["headers"]).get("content-type")')" = text/event-stream \
	"task: content-type passed through"
check test "$(echo "$R" | jv 'd["end"]')" = true "task: TaskEnd"
check test "$(echo "$R" | jv 'd["nchunks"] >= 2')" = true "task: several chunk messages"
REQ=$(curl -s "http://127.0.0.1:$BACKEND/_requests" | jv 'd[-1]')
check test "$(echo "$R" | jv 'd["body"]')" = "$(echo "$REQ" | jv 'd["sent"]')" \
	"task: the server got the backend's bytes"
check test "$(echo "$REQ" | jv 'd["body"]')" = "$BODY" "task: the backend got the body"
check test "$(echo "$REQ" | jv 'd["headers"].get("authorization")')" = "Bearer sk-backend" \
	"task: the backend's own key replaces the user's"
check test "$(echo "$REQ" | jv 'd["headers"].get("x-request-id")')" = rid-42 "task: X-Request-Id"
check test "$(echo "$REQ" | jv '"expect" in d["headers"] or "connection" in d["headers"]')" \
	= false "task: no Expect, hop-by-hop Connection not relayed"

# a 3 MiB body and a 1 MiB answer through the windows
"$PY" - "$T/big.json" <<'EOF'
import json, sys
body = json.dumps({"model": "m-explicit", "n_chunks": 64, "chunk_bytes": 16384,
                   "pad": "x" * (3 * 1024 * 1024)})
open(sys.argv[1], "w").write(json.dumps({"model": "m-explicit", "body": body, "timeout": 30}))
EOF
R=$(ctl /offer "@$T/big.json")
REQ=$(curl -s "http://127.0.0.1:$BACKEND/_requests" | jv 'd[-1]')
check test "$(echo "$REQ" | jv 'd["body_len"]')" = "$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["body"]))' "$T/big.json")" \
	"3 MiB body: the backend got every byte"
check test "$(echo "$REQ" | jv 'd["body_sha256"]')" = "$("$PY" -c 'import json,sys,hashlib; print(hashlib.sha256(json.load(open(sys.argv[1]))["body"].encode()).hexdigest())' "$T/big.json")" \
	"3 MiB body: byte for byte"
check test "$(echo "$R" | jv 'd["end"] and len(d["body"]) > 1000000')" = true "1 MiB answer: complete"
check test "$(echo "$R" | jv '__import__("hashlib").sha256(d["body"].encode("latin-1")).hexdigest()')" \
	= "$(echo "$REQ" | jv '__import__("hashlib").sha256(d["sent"].encode("latin-1")).hexdigest()')" \
	"1 MiB answer: byte for byte"

# cancellation: the server resets the Serve call; the backend sees the close
R=$(ctl /offer '{"model":"m-explicit","cancel_after_chunks":2,"body":"{\"model\":\"m-explicit\",\"n_chunks\":50,\"pause_ms\":100}"}')
check test "$(echo "$R" | jv 'd["cancelled"]')" = true "cancel: the server cancelled"
CANCELLED_AT=$(echo "$R" | jv 'd["cancelled_at"]')
aborted() { [ "$(curl -s "http://127.0.0.1:$BACKEND/_aborted" | jv 'len(d)')" -ge 1 ]; }
wait_until 3 aborted || fail "the backend never saw the cancelled request close"
LAT=$(curl -s "http://127.0.0.1:$BACKEND/_aborted" | jv "int((d[0]['t'] - $CANCELLED_AT) * 1000)")
log "ok: the backend saw the close ${LAT} ms after the cancel (the mock notices only when a write fails: up to two of its 100 ms pauses)"
[ "$LAT" -lt 1000 ] || fail "cancel took $LAT ms to reach the backend"

R=$(ctl /offer '{"model":"m-dead","body":"{}"}')
check test "$(echo "$R" | jv 'd["error"]["status"]')" = 502 "refused backend: TaskError 502"
case $(echo "$R" | jv 'd["error"]["message"]') in
*"backend dead"*) log "ok: the error names the backend: $(echo "$R" | jv 'd["error"]["message"]')" ;;
*) fail "error message: $(echo "$R" | jv 'd["error"]')" ;;
esac
check test "$(echo "$R" | jv 'd["error"]["code"]')" = backend_unreachable "code backend_unreachable"
R=$(ctl /offer '{"model":"no-such-model","body":"{}"}')
check test "$(echo "$R" | jv 'd["error"]["status"]')" = 404 "unknown model: TaskError 404"
check test "$(echo "$R" | jv 'd["error"]["code"]')" = model_not_found "code model_not_found"

# a backend's own error is an answer, passed through, not a TaskError
R=$(ctl /offer '{"model":"m-explicit","body":"{\"model\":\"m-explicit\",\"status\":500}"}')
check test "$(echo "$R" | jv '[d["head"]["status"], d["end"], d["error"]]')" = '[500, true, null]' \
	"backend 500: passed through as ResponseHead 500 + body + TaskEnd"
check test "$(echo "$R" | jv 'json.loads(d["body"])["error"]["code"]')" = injected "backend 500: its body"

# time to the first byte over the offer's deadline: 504
R=$(ctl /offer '{"model":"m-explicit","deadline_ms":300,"body":"{\"model\":\"m-explicit\",\"head_delay_ms\":2000}"}')
check test "$(echo "$R" | jv 'd["error"]["status"]')" = 504 "deadline_ms passed: TaskError 504"
check test "$(echo "$R" | jv 'd["error"]["code"]')" = backend_timeout "code backend_timeout"

# concurrency 2 on the backend: 2 run, 2 wait in its queue, the 5th is 503 at once
SLOW='{"model":"m-explicit","body":"{\"model\":\"m-explicit\",\"n_chunks\":10,\"pause_ms\":300}"}'
for i in 1 2 3 4 5; do
	ctl /offer "$SLOW" >"$T/conc.$i" &
	OFFERS[$i]=$!
	sleep 0.05
done
for i in 1 2 3 4 5; do wait "${OFFERS[$i]}"; done
OKS=0 BUSY=0
for i in 1 2 3 4 5; do
	case $(jv '"end" if d["end"] else d["error"]["code"] if d["error"] else "?"' <"$T/conc.$i") in
	end) OKS=$((OKS + 1)) ;;
	backend_busy) BUSY=$((BUSY + 1)) ;;
	esac
done
check test "$OKS/$BUSY" = 4/1 "concurrency: 4 served (2 after waiting), 1 answered 503 backend_busy"

# ---- A: discovery ------------------------------------------------------------
printf 'm-disc-1\nm-disc-2\nnomic-embed-text\n' >"$T/models.txt"
MU=$(ctl "/wait?type=models&agent=$AID&timeout=6")
[ "$(echo "$MU" | jv 'len(d)')" -ge 1 ] 2>/dev/null || fail "no ModelUpdate after discovery"
check test "$(echo "$MU" | jv '" ".join(sorted(m["id"] for m in d[-1]["models"]))')" \
	= "m-dead m-disc-1 m-disc-2 m-explicit nomic-embed-text" "ModelUpdate: the full new list"
check test "$(echo "$MU" | jv '[m["kind"] for m in d[-1]["models"] if m["id"] == "nomic-embed-text"][0]')" \
	= MODEL_KIND_EMBEDDING "an embed model is published as EMBEDDING"

# ---- A: a server that sends garbage -------------------------------------------
# the link is dropped with a reason and made again; a valid message with
# unknown fields (a newer server) is skipped
reg_count() { ctl /events | jv "len([e for e in d if e['type'] == 'register' and e['agent_id'] == '$AID'])"; }
N0=$(reg_count)
ctl /garbage '{"hex":"7801"}' >/dev/null
sleep 0.5
check test "$(reg_count)" = "$N0" "an unknown field is skipped, the link stays"
ctl /garbage '{"hex":"ffffffffff"}' >/dev/null
wait_until 5 in_log a "not a ServerMessage" || fail "bad protobuf not noticed"
log "ok: bad protobuf: $(grep -o 'down: the server sent a message that is not a ServerMessage' "$T/tm-a.log" | head -n 1)"
wait_until 10 eval '[ "$(reg_count)" -gt "$N0" ]' || fail "no relink after bad protobuf"
N0=$(reg_count)
ctl /garbage '{"hex":"0a00","repeat":2621440}' >/dev/null # 5 MiB
wait_until 5 in_log a "larger than the maximum" || fail "an oversized message was accepted"
log "ok: oversized message: $(grep -o 'down: .*larger than the maximum[a-z ]*' "$T/tm-a.log" | head -n 1)"
wait_until 10 eval '[ "$(reg_count)" -gt "$N0" ]' || fail "no relink after an oversized message"
log "ok: relinked after each"
wait_until 5 health_is a 200 || fail "not healthy after the garbage"

# ---- B-F: wrong token, wrong CA, wrong name, insecure, h2c --------------------
start_server plain plain
write_tm badtok "localhost:$GPORT" "token: tlk_wrong" "tls: { ca_file: $T/ca.crt }"
write_tm badca "localhost:$GPORT" "token: tlk_right" "tls: { ca_file: $T/other.crt }"
write_tm badname "127.0.0.1:$GPORT" "token: tlk_right" \
	"tls: { ca_file: $T/ca.crt, server_name: wrong.example }"
write_tm insecure "localhost:$GPORT" "token: tlk_right" \
	"tls: { ca_file: $T/other.crt, insecure_skip_verify: true }"
write_tm h2c "127.0.0.1:$(cat "$T/plain.port")" "token: tlk_right" "tls: { plaintext: true }"
PIDS_BF=()
for n in badtok badca badname insecure h2c; do
	start_tm "$n"
	PIDS_BF+=("$TM_PID")
done
wait_until 10 in_log badtok "rejected the token for namespace \"lab\"" ||
	fail "wrong token: not logged"
log "ok: wrong token logged: $(grep -o 'the server rejected.*' "$T/tm-badtok.log" | head -n 1)"
ctl "/wait?type=auth_fail&timeout=5" >/dev/null || fail "the server saw no bad token"
check test "$(api_code badtok /healthz)" = 503 "wrong token: /healthz 503"
case $(api badtok /status | jv 'd["last_error"]') in
*UNAUTHENTICATED*) log "ok: wrong token: /status last_error says UNAUTHENTICATED" ;;
*) fail "last_error: $(api badtok /status | jv 'd["last_error"]')" ;;
esac
wait_until 10 in_log badca "certificate verify failed" || fail "wrong CA: no verify error"
log "ok: wrong CA: $(grep -o 'certificate verify failed.*' "$T/tm-badca.log" | head -n 1)"
check test "$(api_code badca /healthz)" = 503 "wrong CA: /healthz 503"
wait_until 10 in_log badname "hostname mismatch" || fail "wrong host name: not rejected"
log "ok: wrong name: $(grep -o 'certificate verify failed.*' "$T/tm-badname.log" | head -n 1)"
check test "$(api_code badname /healthz)" = 503 "wrong host name: /healthz 503"
wait_until 10 health_is insecure 200 || fail "insecure_skip_verify: no link"
in_log insecure "verification DISABLED" || fail "insecure_skip_verify: no warning"
log "ok: insecure_skip_verify links, with a warning"
wait_until 10 health_is h2c 200 || fail "h2c: no link"
log "ok: tls.plaintext links over h2c"
for n in badca badname; do
	id=$(agent_id_of "$n")
	[ "$(ctl /events | jv "len([e for e in d if e.get('agent_id') == '$id'])")" = 0 ] ||
		fail "$n registered although its TLS check fails"
done
log "ok: no Register from the agents that fail verification"
for p in "${PIDS_BF[@]}"; do kill -INT "$p"; done
for p in "${PIDS_BF[@]}"; do
	wait_until 5 eval "! kill -0 $p 2>/dev/null" || fail "SIGINT: pid $p still running"
	wait "$p"
	rc=$?
	[ "$rc" = 0 ] || fail "SIGINT: exit status $rc"
done
log "ok: SIGINT: fast exit 0"

# ---- A: drain, server killed and restarted -----------------------------------
N0=$(ctl /events | jv "len([e for e in d if e['type'] == 'register' and e['agent_id'] == '$AID'])")
ctl /drain '{"reason":"test drain"}' >/dev/null
registered_again() {
	[ "$(ctl /events | jv "len([e for e in d if e['type'] == 'register' and e['agent_id'] == '$AID'])")" -gt "$1" ]
}
wait_until 10 registered_again "$N0" || fail "no relink after Control.Drain"
log "ok: Control.Drain: the agent closed its link and registered again (${WAITED} ms)"

kill -9 "$SRV"
wait "$SRV" 2>/dev/null
wait_until 5 health_is a 503 || fail "server gone but /healthz not 503"
log "ok: server killed: /healthz 503 after ${WAITED} ms ($(api a /status | jv 'd["link"]'))"
sleep 1 # let it back off a few times
start_server srv tls "$GPORT"
SRV=$SRV_PID
CTL=http://127.0.0.1:$(cat "$T/srv.ctl")
ctl "/wait?type=register&agent=$AID&timeout=10" >/dev/null || fail "no relink after restart"
wait_until 5 health_is a 200 || fail "relinked but not healthy"
RC=$(api a /status | jv 'd["reconnects"]')
[ "$RC" -ge 1 ] || fail "reconnects = $RC"
log "ok: relinked after the server came back; reconnects = $RC"

# a server that stops answering (SIGSTOP) is noticed by PING
kill -STOP "$SRV"
T0=$(now_ms)
wait_until 8 in_log a "no answer to PING" || { kill -CONT "$SRV"; fail "a frozen server went unnoticed"; }
log "ok: frozen server: link dropped after $(( $(now_ms) - T0 )) ms ($(grep -o 'no answer to PING within [0-9]* ms' "$T/tm-a.log" | head -n 1))"
kill -CONT "$SRV"
wait_until 20 health_is a 200 || fail "no relink after SIGCONT"
log "ok: relinked after the server woke up"

# ---- A: SIGTERM with a task in flight ----------------------------------------
ctl /offer '{"model":"m-explicit","body":"{\"model\":\"m-explicit\",\"n_chunks\":10,\"pause_ms\":100}"}' \
	>"$T/last-offer.json" &
OFFER=$!
busy() { [ "$(api a /status | jv 'd["in_flight"]')" = 1 ]; }
wait_until 5 busy || fail "the task never started"
kill -TERM "$A"
wait_until 3 health_is a 503 || true
ctl "/wait?type=goodbye&agent=$AID&timeout=5" >/dev/null || fail "no Goodbye on SIGTERM"
log "ok: SIGTERM: Goodbye sent"
wait "$OFFER"
check test "$(jv 'd["end"]' <"$T/last-offer.json")" = true "SIGTERM: the task in flight finished"
wait_until 8 eval "! kill -0 $A 2>/dev/null" || fail "SIGTERM: tokiame did not exit"
wait "$A"
rc=$?
check test "$rc" = 0 "SIGTERM: exit status 0"
grep -q "token\b.*tlk_right\|tlk_right" "$T"/tm-*.log && fail "a token appears in the logs"
log "ok: no token in the logs"
ls "$T"/asan.* "$T"/ubsan.* >/dev/null 2>&1 && fail "sanitizer reports"
pass
