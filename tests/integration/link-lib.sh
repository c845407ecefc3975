# link-lib.sh: helpers for the agent link tests (sourced, bash, after
# tests/integration/lib.sh and tests/mock/mock-lib.sh).
#
#   link_setup                  temp dir, traps, skips when a tool is missing
#   link_certs                  $T/ca.crt (test CA), $T/other-ca.crt (another
#                               CA), $T/server.crt/.key (CN and SAN
#                               localhost, IP 127.0.0.1, signed by the CA)
#   link_stubs                  python stubs from proto/ in $T/gen
#   link_token NS               TOKEN and HASH of a fresh token for NS
#   link_config FILE MODE [YAML]
#                               a tokilake config, MODE tls or plain; agent
#                               options from AGENT_OPTS ("key: value, ...")
#                               and namespaces from NAMESPACES_YAML
#   link_node FILE MODE [YAML]  link_config and start it (retries on a port
#                               taken meanwhile)
#   link_stop / link_pass       stop_master / pass, failing if a child of
#                               the node died of a signal or an assertion
#   tm_config NAME SERVER TOKEN [YAML LINES...]
#                               $T/NAME.yaml for tokiame (mock backend at
#                               $MOCK_URL), api port in $T/NAME.api
#   tm_start NAME               TM_PID; log in $T/tm-NAME.log
#   models                      the worker's /v1/models body
#   listed ID / not_listed ID   ID is (not) in /v1/models
#   chat MODEL                  POST /v1/chat/completions: CODE and BODY;
#                               the request body in CHAT_BODY
#   agentd_pid                  pid of agentd (process title)
#   lcheck COND... MESSAGE      assert COND, log "ok: MESSAGE" or fail
#   py_agent NAME ARGS...       grpc_agent.py in the background: PY_PID;
#                               stdout in $T/py-NAME.out
#
# Everything started is in TL_PIDS, so lib.sh's cleanup kills it.

TOKIAME=${TOKIAME:-$top_builddir/tokiame}
PY=/usr/bin/python3
HERE=$top_srcdir/tests/integration

link_setup()
{
	[ -x "$TOKILAKE" ] || skip "no tokilake binary at $TOKILAKE"
	[ -x "$PY" ] || skip "no $PY"
	command -v curl >/dev/null || skip "curl not installed"
	command -v openssl >/dev/null || skip "openssl not installed"
	tl_tempdir
	mkdir -p "$T/run"
	: >"$T/tokilake.log"
	log "temp dir $T"
}

# link_setup_with_tokiame: the start of a test of the real tokiame against
# the mock (mock-lib.sh sourced first): skip without either binary, then
# link_setup, the certificates, and the mock serving qwen3:0.6b. T_START is
# taken just before the mock starts.
link_setup_with_tokiame()
{
	[ -x "$TOKIAME" ] || skip "no tokiame binary at $TOKIAME"
	[ -x "$MOCK" ] || skip "no mock at $MOCK"
	link_setup
	link_certs
	T_START=$(now_ms)
	mock_start mock -m "qwen3:0.6b"
}

# EC keys: a fraction of the time RSA takes.
link_certs()
{
	local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
	{
		openssl req -x509 "${ec[@]}" -keyout "$T/ca.key" -out "$T/ca.crt" \
		    -days 2 -subj "/CN=tokilake link test CA" &&
		openssl req -x509 "${ec[@]}" -keyout "$T/other-ca.key" -out "$T/other-ca.crt" \
		    -days 2 -subj "/CN=another CA" &&
		openssl req "${ec[@]}" -keyout "$T/server.key" -out "$T/server.csr" \
		    -subj "/CN=localhost" &&
		printf '%s\n' 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
		    'basicConstraints=CA:FALSE' 'extendedKeyUsage=serverAuth' >"$T/ext.cnf" &&
		openssl x509 -req -in "$T/server.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" \
		    -CAcreateserial -out "$T/server.crt" -days 2 -extfile "$T/ext.cnf"
	} >"$T/openssl.out" 2>&1 || fail "openssl: $(tail -n 3 "$T/openssl.out")"
}

link_stubs()
{
	"$PY" -c 'import grpc, grpc_tools' 2>/dev/null ||
	    skip "python3-grpcio and python3-grpc-tools are needed"
	mkdir -p "$T/gen"
	"$PY" -m grpc_tools.protoc -I"$top_srcdir/proto" --python_out="$T/gen" \
	    --grpc_python_out="$T/gen" tokilake.proto >"$T/protoc.out" 2>&1 ||
	    fail "grpc_tools.protoc: $(cat "$T/protoc.out")"
}

link_token()
{
	local out
	out=$("$TOKILAKE" token new "$1") || fail "tokilake token new $1"
	TOKEN=$(sed -n 's/^#[[:space:]]*\(tlk_[0-9a-f]*\)$/\1/p' <<<"$out")
	HASH=$(grep -o 'sha256:[0-9a-f]*' <<<"$out")
	[ -n "$TOKEN" ] && [ -n "$HASH" ] || fail "cannot read token new output: $out"
}

# NAMESPACES_YAML: lines under "namespaces:", e.g.
#   "  lab: { tokens: [\"$HASH\"] }"
link_config()
{
	local f=$1 mode=$2 extra=${3:-}
	: "${HTTP_PORT:=$(freeport)}" "${AGENT_PORT:=$(freeport)}"
	{
		echo "workers: ${WORKERS:-2}"
		echo "runtime_dir: $T/run"
		echo "shutdown_timeout: ${SHUTDOWN_TIMEOUT:-5s}"
		echo "log: { level: ${LOG_LEVEL:-debug} }"
		echo "http:"
		echo "  listen: [\"127.0.0.1:$HTTP_PORT\"]"
		echo "  header_timeout: 5s"
		echo "  idle_timeout: 10s"
		echo "agents:"
		echo "  listen: \"127.0.0.1:$AGENT_PORT\""
		if [ "$mode" = tls ]; then
			echo "  tls: { cert: \"$T/server.crt\", key: \"$T/server.key\" }"
		else
			echo "  plaintext: true"
		fi
		[ -n "${AGENT_OPTS:-}" ] && printf '  %s\n' "${AGENT_OPTS//, /$'\n'  }"
		echo "namespaces:"
		printf '%s\n' "$NAMESPACES_YAML"
		[ -n "$extra" ] && printf '%s\n' "$extra"
	} >"$f"
	"$TOKILAKE" -n -c "$f" >"$T/config-check.out" 2>&1 ||
	    fail "config $f refused: $(cat "$T/config-check.out")"
}

# link_node FILE MODE [YAML]: link_config then start_and_wait. A port
# freeport gave may be taken meanwhile (ports come from the ephemeral
# range that every outgoing connection on the host draws from): then new
# ports, up to 3 tries.
link_node()
{
	local try
	for try in 1 2 3; do
		link_config "$@"
		log_mark
		start_tokilake "$1"
		if wait_for_http "http://127.0.0.1:$HTTP_PORT/healthz" 200 5; then
			HEALTHZ_MS=$WAITED
			wait_until 5 roles_known "${WORKERS:-2}" || fail "children of $MASTER not identified"
			log "up: /healthz 200 after ${HEALTHZ_MS} ms; agentd $(agentd_pid)"
			return 0
		fi
		in_log 'Address already in use' || fail "no /healthz 200 within 5 s"
		wait_until 5 none_alive "$MASTER"
		log "a port was taken meanwhile: new ports"
		HTTP_PORT= AGENT_PORT=
	done
	fail "no free ports in 3 tries"
}

# link_stop: stop_master, then make sure no child of the node died of a
# signal or an assertion on the way (the master exits 0 all the same).
link_stop()
{
	stop_master
	no_child_crashed || fail "a child of the node crashed (above)"
}

no_child_crashed()
{
	local bad
	bad=$(grep -E 'killed by signal|Assertion .* failed|dumped core' "$T/tokilake.log")
	[ -z "$bad" ] && return 0
	printf '%s\n' "$bad" | head -n 10 | sed "s/^/$TESTNAME: crash: /"
	return 1
}

# link_pass [MESSAGE]: pass, after link_stop.
link_pass()
{
	link_stop
	pass "$@"
}

# tm_config NAME SERVER TOKEN [YAML LINES...]: extra lines come before
# backends: (tls:, reconnect:, ...). TM_MODELS (default "qwen3:0.6b") and
# TM_BACKEND_EXTRA (more keys of the backend) shape the backend;
# TM_HEARTBEAT (default 1s) is its heartbeat_interval.
tm_config()
{
	local name=$1 server=$2 token=$3 api
	shift 3
	api=$(freeport)
	echo "$api" >"$T/$name.api"
	{
		echo "server: $server"
		echo "namespace: ${TM_NS:-lab}"
		echo "token: $token"
		echo "api_addr: 127.0.0.1:$api"
		echo "heartbeat_interval: ${TM_HEARTBEAT:-1s}"
		echo "shutdown_timeout: 2s"
		echo "log: { level: debug }"
		printf '%s\n' "$@"
		echo "backends:"
		echo "  - name: mock"
		echo "    url: $MOCK_URL/v1"
		echo "    concurrency: 4"
		echo "    models: [${TM_MODELS-\"qwen3:0.6b\"}]"
		[ -n "${TM_BACKEND_EXTRA:-}" ] && printf '    %s\n' "${TM_BACKEND_EXTRA//, /$'\n'    }"
	} >"$T/$name.yaml"
}

tm_start()
{
	"$TOKIAME" -c "$T/$1.yaml" >>"$T/tm-$1.log" 2>&1 </dev/null &
	TM_PID=$!
	TL_PIDS+=("$TM_PID")
}

tm_api() { curl -s --max-time 2 "http://127.0.0.1:$(cat "$T/$1.api")$2"; }
tm_health() { http_code "http://127.0.0.1:$(cat "$T/$1.api")/healthz"; }
tm_health_is() { [ "$(CURL_MAX_TIME=1 tm_health "$1")" = "$2" ]; }

models() { curl -s --max-time 2 "http://127.0.0.1:$HTTP_PORT/v1/models"; }

# The ids of /v1/models, one per line (python: exact JSON, not grep).
model_ids()
{
	models | "$PY" -c '
import json, sys
try:
    d = json.load(sys.stdin)
except Exception:
    sys.exit(1)
for m in d.get("data", []):
    print(m["id"])'
}

listed() { model_ids | grep -Fxq -- "$1"; }
not_listed() { local ids; ids=$(model_ids) || return 1; ! grep -Fxq -- "$1" <<<"$ids"; }

# check_models_format: /v1/models is an OpenAI list and every entry
# "NS:MODEL" is owned by NS.
check_models_format()
{
	models | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
assert d["object"] == "list", d
assert isinstance(d["data"], list), d
for m in d["data"]:
    assert m["object"] == "model", m
    ns = m["id"].split(":", 1)[0]
    assert m["owned_by"] == ns, m
    assert isinstance(m.get("created"), int), m
print(len(d["data"]))' >"$T/models-format.out" 2>&1
}

chat()
{
	local model=$1
	shift
	CHAT_BODY="{\"model\":\"$model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
	req POST /v1/chat/completions -H 'content-type: application/json' -d "$CHAT_BODY" "$@"
}

# chat_ok MODEL: a chat completion through MODEL answers 200.
chat_ok()
{
	chat "$1"
	[ "$CODE" = 200 ] || fail "chat via $1: $CODE ${BODY:0:300}"
}

agentd_pid()
{
	local p cmd
	for p in $(pgrep -P "$MASTER"); do
		cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline")
		case $cmd in "tokilake: agentd"*) echo "$p"; return 0 ;; esac
	done
	return 1
}

# in_log ERE: the node's log (from LOG_FROM, see log_mark) matches.
in_log() { tail -n +"${LOG_FROM:-1}" "$T/tokilake.log" | grep -Eq -- "$1"; }
log_count() { tail -n +"${LOG_FROM:-1}" "$T/tokilake.log" | grep -Ec -- "$1"; }

py_agent()
{
	local name=$1
	shift
	"$PY" -u "$HERE/grpc_agent.py" --stubs "$T/gen" "$@" >"$T/py-$name.out" 2>"$T/py-$name.err" </dev/null &
	PY_PID=$!
	TL_PIDS+=("$PY_PID")
}

py_said() { grep -Eq -- "$2" "$T/py-$1.out" 2>/dev/null; }

# wait_py NAME ERE SECONDS: the agent printed a line matching ERE.
wait_py()
{
	wait_until "$3" py_said "$1" "$2" ||
	    fail "agent $1 did not print /$2/ within $3 s: $(cat "$T/py-$1.out" "$T/py-$1.err" 2>/dev/null | tail -n 20)"
}

# lcheck COND... MESSAGE: `lcheck test "$a" = b "a is b"`: log ok or fail.
lcheck()
{
	local msg=${*: -1}
	if "${@:1:$#-1}"; then
		log "ok: $msg"
	else
		fail "$msg"
	fi
}

# ms_since T0: milliseconds from T0 (epoch ms) to now.
ms_since() { echo $(($(now_ms) - $1)); }

# note NAME VALUE: a measured number, printed and kept in $T/../numbers
note()
{
	log "MEASURE $1: $2"
	echo "$TESTNAME $1: $2" >>"${LINK_NUMBERS:-/dev/null}"
}
