# fwd-lib.sh: two tokilake nodes on one throwaway PostgreSQL (sourced,
# bash), for the forwarding tests: a request to node A for a model whose
# agent is linked to node B goes A -> B over B's internal listener.
#
#   fwd_setup          path_setup (tokiame, the mock, python3) + pg-lib.sh's
#                      cluster, migrated, with namespace lab and a token
#   fwd_up             mock "m", nodes a and b (fwd_node_start), agent "tm"
#                      linked to b; returns once A's /v1/models lists
#                      lab:qwen3:0.6b (b's agent reached a through the DB)
#   fwd_node_start N   write $T/N.yaml and start node N (log $T/node-N.log);
#                      NODE_PID[N], NODE_HTTP[N], NODE_AGENT[N], NODE_PORT[N]
#   fwd_node_stop N    SIGTERM, wait; exit status must be 0
#   fwd_node_kill N    kill -9 the master and every child of node N
#   fwd_api N          http://127.0.0.1:<http port of N>
#   fwd_pass [MSG]     stop agents, nodes and the mock cleanly, then pass
#
# Both nodes share NODE_SECRET (file $T/node-secret). Knobs: MAX_BODY
# (8MiB), FWD_TTL (node.ttl, 3s), FWD_HB (heartbeat, 500ms), FWD_IDLE
# (http.idle_timeout, 10s), FWD_TLS=1
# (node.tls with a throwaway CA's certificate for localhost/127.0.0.1,
# internal_url https://FWD_TLS_HOST:PORT (127.0.0.1); the nodes trust the
# CA through SSL_CERT_FILE=FWD_CA, default $T/ca.crt).

. "$(dirname "${BASH_SOURCE[0]}")/path-lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/pg-lib.sh"

CTL=${TOKILAKECTL:-$top_builddir/tokilakectl}
export TOKILAKE_SQL_DIR=$top_srcdir/sql
unset DATABASE_URL
declare -A NODE_PID=() NODE_HTTP=() NODE_AGENT=() NODE_PORT=()
NODE_SECRET=

fwd_setup()
{
	[ -x "$CTL" ] || fail "no tokilakectl binary at $CTL"
	path_setup
	pg_setup
	"$CTL" -d "$(pg_url)" db migrate >"$T/ctl.out" 2>&1 || fail "db migrate: $(cat "$T/ctl.out")"
	"$CTL" -d "$(pg_url)" namespace add lab >"$T/ctl.out" 2>&1 ||
	    fail "namespace add lab: $(cat "$T/ctl.out")"
	"$CTL" -d "$(pg_url)" token new lab >"$T/ctl.out" 2>&1 || fail "token new: $(cat "$T/ctl.out")"
	NS_TOKEN=$(grep -o 'tlk_[0-9a-f]\{64\}' "$T/ctl.out" | head -n 1)
	[ -n "$NS_TOKEN" ] || fail "no token in: $(cat "$T/ctl.out")"
	NODE_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
	printf '%s\n' "$NODE_SECRET" >"$T/node-secret"
	chmod 600 "$T/node-secret"
}

fwd_write_config()
{
	local n=$1
	{
		echo "workers: ${WORKERS:-2}"
		echo "runtime_dir: $T/run-$n"
		echo "shutdown_timeout: ${SHUTDOWN_TIMEOUT:-5s}"
		echo "log: { level: ${LOG_LEVEL:-debug} }"
		echo "http:"
		echo "  listen: [\"127.0.0.1:${NODE_HTTP[$n]}\"]"
		echo "  max_body_size: ${MAX_BODY:-8MiB}"
		echo "  header_timeout: 5s"
		echo "  idle_timeout: ${FWD_IDLE:-10s}"
		echo "  first_byte_timeout: ${FIRST_BYTE:-30s}"
		echo "  stream_idle_timeout: ${STREAM_IDLE:-30s}"
		echo "agents:"
		echo "  listen: \"127.0.0.1:${NODE_AGENT[$n]}\""
		echo "  plaintext: true"
		echo "  ping_interval: 1s"
		echo "  ping_timeout: 3s"
		echo "database:"
		echo "  url: \"$(pg_url)\""
		echo "node:"
		echo "  name: $n"
		echo "  listen: \"127.0.0.1:${NODE_PORT[$n]}\""
		if [ "${FWD_TLS:-0}" = 1 ]; then
			echo "  tls: { cert: $T/agents.crt, key: $T/agents.key }"
			echo "  internal_url: \"https://${FWD_TLS_HOST:-127.0.0.1}:${NODE_PORT[$n]}\""
		else
			echo "  internal_url: \"h2c://127.0.0.1:${NODE_PORT[$n]}\""
		fi
		echo "  secret_file: $T/node-secret"
		echo "  heartbeat_interval: ${FWD_HB:-500ms}"
		echo "  ttl: ${FWD_TTL:-3s}"
	} >"$T/$n.yaml"
}

fwd_api() { echo "http://127.0.0.1:${NODE_HTTP[$1]}"; }

# newkey NAME [tokilakectl key new options]: an API key in the network's
# database; KEY_NAME is its secret (tests may define their own newkey)
newkey()
{
	local out
	out=$("$CTL" -d "$(pg_url)" key new "$@" 2>&1) || fail "tokilakectl key new $*: $out"
	printf -v "KEY_$1" '%s' "$(grep -o 'sk-tlk-[0-9a-f]\{64\}' <<<"$out" | head -n 1)"
}

# FWD_UP_CODE: the /healthz status of a node that is up (503 for one that
# cannot reach its database)
fwd_node_up() { alive "${NODE_PID[$1]}" && http_is "$(fwd_api "$1")/healthz" "${FWD_UP_CODE:-200}"; }
fwd_node_up_or_dead() { ! alive "${NODE_PID[$1]}" || http_is "$(fwd_api "$1")/healthz" "${FWD_UP_CODE:-200}"; }

fwd_node_start()
{
	local n=$1 try
	mkdir -p "$T/run-$n"
	for try in 1 2 3; do
		NODE_HTTP[$n]=$(freeport)
		NODE_AGENT[$n]=$(freeport)
		NODE_PORT[$n]=$(freeport)
		fwd_write_config "$n"
		if [ "${FWD_TLS:-0}" = 1 ]; then
			SSL_CERT_FILE=${FWD_CA:-$T/ca.crt} "$TOKILAKE" -c "$T/$n.yaml" \
			    >>"$T/node-$n.log" 2>&1 </dev/null &
		else
			"$TOKILAKE" -c "$T/$n.yaml" >>"$T/node-$n.log" 2>&1 </dev/null &
		fi
		NODE_PID[$n]=$!
		TL_PIDS+=("${NODE_PID[$n]}")
		wait_until 10 fwd_node_up_or_dead "$n" || fail "node $n: no /healthz ${FWD_UP_CODE:-200} within 10 s"
		if alive "${NODE_PID[$n]}"; then
			# each worker answers for itself: one may have the master's
			# state a moment before the other
			wait_until 10 fwd_node_up "$n" ||
			    fail "node $n: /healthz not ${FWD_UP_CODE:-200} on every try within 10 s"
			break
		fi
		wait "${NODE_PID[$n]}"
		grep -q 'Address already in use' "$T/node-$n.log" || fail "node $n exited at start"
		log "node $n: a port was taken meanwhile; again with others"
	done
	fwd_node_up "$n" || fail "node $n did not start"
	log "node $n up: pid ${NODE_PID[$n]}, http ${NODE_HTTP[$n]}, agents ${NODE_AGENT[$n]}, node.listen ${NODE_PORT[$n]}"
}

fwd_node_stop()
{
	local n=$1 pid=${NODE_PID[$1]} rc
	[ -n "$pid" ] && alive "$pid" || return 0
	kill -TERM "$pid"
	wait_until 15 none_alive "$pid" || fail "node $n still running 15 s after SIGTERM"
	wait "$pid"
	rc=$?
	[ "$rc" -eq 0 ] || fail "node $n exited with status $rc on SIGTERM"
	unset "NODE_PID[$n]"
}

# Every process of node N: its master and the children whose command line
# names N's config.
fwd_node_kill()
{
	local n=$1 pids
	pids=$(pgrep -f -- "$T/$n.yaml")
	kill -9 $pids 2>/dev/null
	wait_until 5 none_alive $pids || fail "node $n: processes $pids survived kill -9"
	wait "${NODE_PID[$n]}" 2>/dev/null
	unset "NODE_PID[$n]"
}

# fwd_linked N MODEL: GET /v1/models on node N lists MODEL.
fwd_linked() { curl -s --max-time 2 "$(fwd_api "$1")/v1/models" 2>/dev/null | grep -q "\"id\":\"$2\""; }

fwd_up()
{
	[ "${FWD_TLS:-0}" = 1 ] && [ ! -f "$T/agents.crt" ] && path_mkcert
	mock_start m ${MOCK_ARGS:-}
	fwd_node_start a
	fwd_node_start b
	AGENT_PORT=${NODE_AGENT[b]}
	tm_write tm
	tm_start tm
	wait_until 15 fwd_linked b "lab:qwen3:0.6b" ||
	    fail "lab:qwen3:0.6b not listed by node b 15 s after tokiame started"
	wait_until 10 fwd_linked a "lab:qwen3:0.6b" ||
	    fail "lab:qwen3:0.6b (agent on b) not listed by node a within 10 s: $(curl -s "$(fwd_api a)/v1/models")"
	log "agent linked to b, seen by a after ${WAITED} ms"
	API=$(fwd_api a)
	HTTP_PORT=${NODE_HTTP[a]} # req and expect_oai talk to node a
}

fwd_pass()
{
	local n
	for n in "${!TM_PIDS[@]}"; do
		tm_stop "$n"
	done
	for n in "${!NODE_PID[@]}"; do
		fwd_node_stop "$n"
	done
	mock_stop
	sanitizer_check || fail "sanitizer report (above)"
	if grep -Eq 'killed by signal [0-9]+ .* while stopping|Assertion .* failed' "$T"/node-*.log; then
		fail "a tokilake process did not stop cleanly: $(grep -Eh 'killed by signal|Assertion' "$T"/node-*.log | head -n 3)"
	fi
	tl_kill_all
	TL_FAILED=0
	log "PASS${1:+: $1}"
	exit 0
}

# median of the numbers on stdin (one per line)
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
