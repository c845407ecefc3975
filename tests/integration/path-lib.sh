# path-lib.sh: the request-path fixture (sourced, bash): tokilake, one or
# more tokiame agents and the mock backend, linked and ready.
#
#   path_setup                  lib.sh's tl_setup, plus tokiame, the mock,
#                               python3 (Debian's); loads mock-lib.sh
#   path_up [tls]               mock "m" (MOCK_URL), a namespace token, the
#                               tokilake config (plaintext agent link, or
#                               TLS with a throwaway CA), tokilake, agent
#                               "tm" (namespace lab, backend "mock" with
#                               model qwen3:0.6b and api_key sk-backend);
#                               returns once GET /v1/models through
#                               tokilake lists lab:qwen3:0.6b
#   tm_write NAME [BACKEND...]  $T/NAME.yaml; each BACKEND is YAML for one
#                               list entry ("{name: x, url: ..., models: [...]}"),
#                               default: the mock
#   tm_start NAME               start agent NAME (log $T/tm-NAME.log); TM_PID
#   tm_stop NAME                SIGTERM, wait, exit status must be 0
#   path_second_replica NAME    a second mock NAME (URL in SECOND_URL) behind
#                               a second agent "tm2" (backend NAME, model
#                               qwen3:0.6b, concurrency 4), linked;
#                               MOCK_URL/MOCK_PID stay the first mock's
#   path_linked MODEL           GET /v1/models through tokilake lists MODEL
#   path_pass [MESSAGE]         stop agents and the mock cleanly, then pass
#   path_done BUGS [MESSAGE]    the same, but fail with BUGS if not empty
#   hdr NAME                    a response header of the last req (HDRS)
#   jget FILE EXPR              a python expression on the JSON in FILE (j)
#   jbody EXPR                  the same on the last req's body
#   rss_kb PID                  VmRSS of PID in KiB
#   oai_error_shape [FILE]      exactly {"error":{message,type,param,code}}
#   expect_oai STATUS CODE ...  one request answers that OpenAI error
#
# Knobs (set before path_up): WORKERS (2), LOG_LEVEL (debug, both
# programs), MAX_BODY (1MiB), FIRST_BYTE (first_byte_timeout, 30s),
# STREAM_IDLE (stream_idle_timeout, 30s), TM_RECONNECT ("{ initial: 200ms,
# max: 1s }"), TM_CONCURRENCY (the mock backend's, 256), TM_BACKENDS
# (array of extra backend entries for agent tm, after the mock; @MOCK_URL@
# in them becomes the mock's URL).
#
# It also replaces three helpers of lib.sh: log (adds the seconds since
# the start), check (lib.sh dropped it once under our feet) and
# tl_kill_all (the same job with one pgrep instead of a fork per process).

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$top_srcdir/tests/mock/mock-lib.sh"

TOKIAME=${TOKIAME:-$top_builddir/tokiame}
PY=/usr/bin/python3
HERE=$top_srcdir/tests/integration
API=                 # http://127.0.0.1:HTTP_PORT
NS_TOKEN=
NS_HASH=
TM_BACKENDS=()
declare -A TM_PIDS=()

path_setup()
{
	[ -x "$TOKIAME" ] || skip "no tokiame binary at $TOKIAME"
	[ -x "$MOCK" ] || skip "no mock at $MOCK"
	[ -x "$PY" ] || skip "no $PY"
	tl_setup
}

# A throwaway CA and a server certificate for localhost / 127.0.0.1.
path_mkcert()
{
	{
		openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -out "$T/ca.crt" \
		    -days 2 -subj "/CN=tokilake path test CA" &&
		openssl req -newkey rsa:2048 -nodes -keyout "$T/agents.key" -out "$T/agents.csr" \
		    -subj "/CN=localhost" &&
		printf '%s\n' 'subjectAltName=DNS:localhost,IP:127.0.0.1' 'basicConstraints=CA:FALSE' \
		    'extendedKeyUsage=serverAuth' >"$T/ext.cnf" &&
		openssl x509 -req -in "$T/agents.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" \
		    -CAcreateserial -out "$T/agents.crt" -days 2 -extfile "$T/ext.cnf"
	} >"$T/openssl.out" 2>&1 || fail "openssl: $(tail -n 3 "$T/openssl.out")"
}

# path_token: a fresh token for namespace lab, and its hash.
path_token()
{
	local out
	out=$("$TOKILAKE" token new lab) || fail "tokilake token new lab failed"
	NS_TOKEN=$(sed -n 's/^#  *\(tlk_[0-9a-f]*\)$/\1/p' <<<"$out")
	NS_HASH=$(grep -o 'sha256:[0-9a-f]*' <<<"$out")
	[ -n "$NS_TOKEN" ] && [ -n "$NS_HASH" ] || fail "cannot read token new's output: $out"
}

# path_write_config FILE: tokilake.yaml for these tests.
path_write_config()
{
	: "${HTTP_PORT:=$(freeport)}" "${AGENT_PORT:=$(freeport)}"
	{
		echo "workers: ${WORKERS:-2}"
		echo "runtime_dir: $T/run"
		echo "shutdown_timeout: ${SHUTDOWN_TIMEOUT:-5s}"
		echo "log: { level: ${LOG_LEVEL:-debug} }"
		echo "http:"
		echo "  listen: [\"127.0.0.1:$HTTP_PORT\"]"
		echo "  max_body_size: ${MAX_BODY:-1MiB}"
		echo "  header_timeout: 5s"
		echo "  idle_timeout: 10s"
		echo "  first_byte_timeout: ${FIRST_BYTE:-30s}"
		echo "  stream_idle_timeout: ${STREAM_IDLE:-30s}"
		echo "agents:"
		echo "  listen: \"127.0.0.1:$AGENT_PORT\""
		if [ "$PATH_TLS" = 1 ]; then
			echo "  tls: { cert: $T/agents.crt, key: $T/agents.key }"
		else
			echo "  plaintext: true"
		fi
		echo "  ping_interval: 1s"
		echo "  ping_timeout: 3s"
		echo "namespaces:"
		echo "  lab:"
		echo "    tokens: [\"$NS_HASH\"]"
		echo "usage: { log_file: \"$T/usage.log\" }"
	} >"$1"
}

# tm_write NAME [BACKEND...]
tm_write()
{
	local name=$1 b api rc=${TM_RECONNECT:-}
	shift
	[ -n "$rc" ] || rc='{ initial: 200ms, max: 1s }'
	[ $# -gt 0 ] || set -- "{ name: mock, url: \"$MOCK_URL/v1\", api_key: sk-backend, concurrency: ${TM_CONCURRENCY:-256}, models: [\"qwen3:0.6b\"], discover: false }" "${TM_BACKENDS[@]}"
	api=$(freeport)
	{
		echo "server: 127.0.0.1:$AGENT_PORT"
		echo "namespace: lab"
		echo "token: $NS_TOKEN"
		echo "api_addr: 127.0.0.1:$api"
		echo "heartbeat_interval: 1s"
		echo "shutdown_timeout: 5s"
		echo "reconnect: $rc"
		echo "log: { level: ${LOG_LEVEL:-debug} }"
		if [ "$PATH_TLS" = 1 ]; then
			echo "tls: { ca_file: $T/ca.crt, server_name: localhost }"
		else
			echo "tls: { plaintext: true }"
		fi
		echo "backends:"
		for b in "$@"; do
			echo "  - ${b//@MOCK_URL@/$MOCK_URL}"
		done
	} >"$T/$name.yaml"
	echo "$api" >"$T/$name.api"
}

tm_start()
{
	# TM_ENV: extra VAR=value words for tokiame's environment (env execs it:
	# the pid stays tokiame's)
	env ${TM_ENV:-} "$TOKIAME" -c "$T/$1.yaml" >>"$T/tm-$1.log" 2>&1 </dev/null &
	TM_PID=$!
	TM_PIDS[$1]=$TM_PID
	TL_PIDS+=("$TM_PID")
	log "started tokiame $1 pid $TM_PID"
}

tm_stop()
{
	local pid=${TM_PIDS[$1]} rc
	[ -n "$pid" ] && alive "$pid" || return 0
	kill -TERM "$pid"
	wait_until 10 none_alive "$pid" || fail "tokiame $1 still running 10 s after SIGTERM"
	wait "$pid"
	rc=$?
	[ "$rc" -eq 0 ] || fail "tokiame $1 exited with status $rc on SIGTERM"
	unset "TM_PIDS[$1]"
}

# path_second_replica NAME: see the top.
path_second_replica()
{
	local name=$1 url=$MOCK_URL pid=$MOCK_PID

	mock_start "$name"
	SECOND_URL=$MOCK_URL
	MOCK_URL=$url MOCK_PID=$pid
	tm_write tm2 "{ name: $name, url: \"$SECOND_URL/v1\", api_key: sk-backend, concurrency: 4, models: [\"qwen3:0.6b\"], discover: false }"
	tm_start tm2
	path_two_linked() { [ "$(grep -c 'of namespace lab linked from' "$T/tokilake.log")" -ge 2 ]; }
	wait_until 15 path_two_linked || fail "the second replica did not link"
}

# path_linked MODEL: one bounded GET /v1/models lists MODEL.
path_linked()
{
	curl -s --max-time 2 "$API/v1/models" 2>/dev/null | grep -q "\"id\":\"$1\""
}

# path_start_tokilake: write the config and start it; ports are free
# when picked but other tests may take one before we bind: new ports and
# another try when the master says so.
path_start_tokilake()
{
	local try
	for try in 1 2 3; do
		path_write_config "$T/tokilake.yaml"
		API=http://127.0.0.1:$HTTP_PORT
		start_tokilake "$T/tokilake.yaml"
		wait_until 5 path_started_or_dead || fail "no /healthz 200 within 5 s"
		path_started && break
		wait "$MASTER"
		grep -q 'Address already in use' "$T/tokilake.log" || fail "tokilake exited at start"
		log "a port was taken meanwhile; again with others"
		mv "$T/tokilake.log" "$T/tokilake.try$try"
		unset HTTP_PORT AGENT_PORT
	done
	path_started || fail "tokilake did not start"
	wait_until 10 roles_known "${WORKERS:-2}" ||
	    fail "expected ${WORKERS:-2} workers and 1 agentd as children of $MASTER"
	log "up: workers: $(pids_of worker | tr '\n' ' ')agentd: $(pids_of agentd)"
}
path_started() { alive "$MASTER" && http_is "$API/healthz" 200; }
path_started_or_dead() { ! alive "$MASTER" || http_is "$API/healthz" 200; }

path_up()
{
	PATH_TLS=0
	[ "${1:-}" = tls ] && PATH_TLS=1
	[ "$PATH_TLS" = 1 ] && path_mkcert
	mock_start m ${MOCK_ARGS:-}
	path_token
	path_start_tokilake
	tm_write tm
	tm_start tm
	wait_until 15 path_linked "lab:qwen3:0.6b" ||
	    fail "lab:qwen3:0.6b not listed by tokilake 15 s after tokiame started: $(curl -s --max-time 2 "$API/v1/models")"
	log "linked ($([ "$PATH_TLS" = 1 ] && echo TLS || echo plaintext)) after ${WAITED} ms"
}

# path_stop: stop agents, tokilake and the mock cleanly (their exit-time
# leak checks run), then look for sanitizer reports and for a child of
# tokilake that died by a signal while stopping.
path_stop()
{
	local n
	for n in "${!TM_PIDS[@]}"; do
		tm_stop "$n"
	done
	log "agents stopped"
	stop_master
	log "tokilake stopped"
	mock_stop
	sanitizer_check || fail "sanitizer report (above)"
	# the master exits 0 even when a child dies while stopping: look
	STOP_BUG=
	if grep -Eq 'killed by signal [0-9]+ .* while stopping|Assertion .* failed' "$T/tokilake.log"; then
		STOP_BUG="a tokilake process did not stop cleanly: $(grep -Eh 'killed by signal [0-9]+ .* while stopping|Assertion .* failed' "$T/tokilake.log" |
		    sed 's/^.*tokilake\.yaml: //' | tr '\n' ' ')"
		log "BUG: $STOP_BUG"
	fi
}

path_pass()
{
	path_stop
	[ -z "$STOP_BUG" ] || fail "$STOP_BUG"
	pass "$@"
}

# path_done BUGS [MESSAGE]: stop cleanly, then fail with BUGS (found on
# the way, the test went on) or pass.
path_done()
{
	path_stop
	[ -z "$1$STOP_BUG" ] || fail "$1${STOP_BUG:+; $STOP_BUG}"
	pass "${2:-}"
}

# lib.sh's tl_kill_all forks a tr per process in /proc (seconds on a busy
# machine, twice per test); the same with one pgrep.
tl_kill_all()
{
	local p pids=() exe
	[ -n "$T" ] || return 0
	pids=($(pgrep -f -- "$T/" | grep -vx "$$"))
	pids+=("${TL_PIDS[@]}")
	exe=$(readlink -f "$TOKILAKE")
	for p in $([ -f "$T/kids" ] && sort -un "$T/kids"); do
		[ "$(readlink -f "/proc/$p/exe" 2>/dev/null)" = "$exe" ] && pids+=("$p")
	done
	for p in "${pids[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	for p in "${TL_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	return 0
}

# log lines carry the seconds since the test started: slow steps show.
PATH_T0=${EPOCHREALTIME/[.,]/}
log()
{
	local now=${EPOCHREALTIME/[.,]/}
	now=$(( (now - PATH_T0) / 1000 ))
	printf '%s: [%d.%03d] %s\n' "$TESTNAME" $((now / 1000)) $((now % 1000)) "$*"
}

# check COND... MESSAGE: `check [ "$a" = b ] "a is b"` (ours: lib.sh's may change).
check()
{
	local msg=${*: -1}
	if "${@:1:$#-1}"; then
		log "ok: $msg"
	else
		fail "$msg"
	fi
}

hdr() { grep -i "^$1:" <<<"$HDRS" | head -n 1 | sed 's/^[^:]*: *//'; }

jget()
{
	"$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); v=eval(sys.argv[2]); print(json.dumps(v) if isinstance(v,(dict,list,bool)) or v is None else v)' "$1" "$2" 2>/dev/null
}
jbody() { jget "$T/body" "$1"; }

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# oai_error_shape [FILE]: FILE (default the last body) is exactly
# {"error":{"message","type","param","code"}} (message and type non-empty
# strings, param and code a string or null); prints error.code.
oai_error_shape()
{
	"$PY" -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert list(j.keys()) == ["error"], j
e = j["error"]
assert set(e.keys()) == {"message", "type", "param", "code"}, e
assert isinstance(e["message"], str) and e["message"], e
assert isinstance(e["type"], str) and e["type"], e
assert e["param"] is None or isinstance(e["param"], str), e
assert e["code"] is None or isinstance(e["code"], str), e
print(e["code"])
' "${1:-$T/body}" 2>/dev/null
}

# expect_oai STATUS CODE_OR_- METHOD PATH [CURL ARGS...]: STATUS, an
# OpenAI-shaped JSON error, and error.code CODE (- = any).
expect_oai()
{
	local want=$1 code=$2 got
	shift 2
	req "$@"
	[ "$CODE" = "$want" ] || fail "$1 $2: expected $want, got $CODE (curl rc $CURL_RC): ${BODY:0:300}"
	grep -qi '^content-type: *application/json' <<<"$HDRS" || fail "$1 $2: $CODE not application/json: $HDRS"
	got=$(oai_error_shape) || fail "$1 $2: $CODE but not an OpenAI-shaped error: ${BODY:0:300}"
	[ "$code" = - ] || [ "$got" = "$code" ] || fail "$1 $2: expected error code $code, got $got: $BODY"
	log "ok: $1 $2 -> $CODE ${BODY:0:200}"
}
