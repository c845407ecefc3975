# multi-lib.sh: standalone tokilake nodes and tokiame agents linked to
# several of them at once (sourced, bash), for the multi-* tests.
#
#   multi_setup            path_setup + a token for namespace lab
#   mnode_start N [same]   write $T/N.yaml and start node N (log
#                          $T/node-N.log); MNODE_PID[N], MNODE_HTTP[N],
#                          MNODE_AGENT[N]; "same" reuses N's last ports
#                          (a restart the agents relink to)
#   mnode_stop N           SIGTERM, wait; exit status must be 0
#   mnode_kill N           kill -9 the master and every child of node N
#   mnode_api N            http://127.0.0.1:<http port of N>
#   mnode_lists N MODEL    GET /v1/models on N lists MODEL
#   mtm_write NAME N...    $T/NAME.yaml: agent NAME with servers: [N...]
#   mtm_links_registered NAME COUNT
#                          its /status says COUNT links registered
#   mload_start NAME N [CONC]
#                          CONC (2) loops of streaming chat requests
#                          through node N (5 chunks, 60 ms apart) until
#                          mload_stop; "START_MS STATUS COMPLETE" per
#                          request in $T/load-NAME.codes, COMPLETE = 1
#                          when the stream ended with [DONE]
#   mload_stop NAME        MLOAD_TOTAL, MLOAD_BAD (not "200 1") are set
#   mlong_start NAME N     one long stream (MLOAD_CHUNKS 40 x 100 ms)
#                          through node N in the background; its result
#                          ("START_MS STATUS COMPLETE") in $T/long-NAME.res
#   mlong_started NAME     its first chunk arrived
#   mlong_wait NAME        wait for it; MLONG = its "STATUS COMPLETE"
#   multi_up               nodes a and b, agent tm with servers: [a, b];
#                          returns once both links are registered and
#                          both nodes list lab:qwen3:0.6b
#   mlongs_start NAME:N... mlong_start each, then wait for every first chunk
#   multi_pass [MSG]       stop agents, nodes, the mock cleanly; pass
#
# Every node has namespace lab with the same token hash; agent links are
# h2c. Knobs: SHUTDOWN_TIMEOUT (node's, 10s), WORKERS (2).

. "$(dirname "${BASH_SOURCE[0]}")/path-lib.sh"

declare -A MNODE_PID=() MNODE_HTTP=() MNODE_AGENT=() MLOAD_PIDS=() MLONG_PID=()

multi_setup()
{
	command -v curl >/dev/null || skip "curl not installed"
	path_setup
	path_token
	mock_start m ${MOCK_ARGS:-}
}

mnode_write_config()
{
	local n=$1
	{
		echo "workers: ${WORKERS:-2}"
		echo "runtime_dir: $T/run-$n"
		echo "shutdown_timeout: ${SHUTDOWN_TIMEOUT:-10s}"
		echo "log: { level: ${LOG_LEVEL:-debug} }"
		echo "http:"
		echo "  listen: [\"127.0.0.1:${MNODE_HTTP[$n]}\"]"
		echo "  header_timeout: 5s"
		echo "  idle_timeout: 10s"
		echo "  first_byte_timeout: 30s"
		echo "agents:"
		echo "  listen: \"127.0.0.1:${MNODE_AGENT[$n]}\""
		echo "  plaintext: true"
		echo "  ping_interval: 1s"
		echo "  ping_timeout: 3s"
		echo "node: { name: $n }"
		echo "namespaces:"
		echo "  lab:"
		echo "    tokens: [\"$NS_HASH\"]"
	} >"$T/$n.yaml"
}

mnode_api() { echo "http://127.0.0.1:${MNODE_HTTP[$1]}"; }
mnode_up() { alive "${MNODE_PID[$1]}" && http_is "$(mnode_api "$1")/healthz" 200; }
mnode_up_or_dead() { ! alive "${MNODE_PID[$1]}" || http_is "$(mnode_api "$1")/healthz" 200; }
mnode_lists() { curl -s --max-time 2 "$(mnode_api "$1")/v1/models" 2>/dev/null | grep -q "\"id\":\"$2\""; }

mnode_start()
{
	local n=$1 same=${2:-} try
	mkdir -p "$T/run-$n"
	for try in 1 2 3; do
		if [ "$same" != same ]; then
			MNODE_HTTP[$n]=$(freeport)
			MNODE_AGENT[$n]=$(freeport)
		fi
		mnode_write_config "$n"
		"$TOKILAKE" -c "$T/$n.yaml" >>"$T/node-$n.log" 2>&1 </dev/null &
		MNODE_PID[$n]=$!
		TL_PIDS+=("${MNODE_PID[$n]}")
		wait_until 10 mnode_up_or_dead "$n" || fail "node $n: no /healthz 200 within 10 s"
		alive "${MNODE_PID[$n]}" && break
		wait "${MNODE_PID[$n]}"
		grep -q 'Address already in use' "$T/node-$n.log" || fail "node $n exited at start"
		# a restart on the same ports waits for them instead
		[ "$same" = same ] && sleep 1
		log "node $n: a port was taken meanwhile; again"
	done
	mnode_up "$n" || fail "node $n did not start"
	log "node $n up: pid ${MNODE_PID[$n]}, http ${MNODE_HTTP[$n]}, agents ${MNODE_AGENT[$n]}"
}

mnode_stop()
{
	local n=$1 pid=${MNODE_PID[$1]} rc
	[ -n "$pid" ] && alive "$pid" || return 0
	kill -TERM "$pid"
	wait_until 20 none_alive "$pid" || fail "node $n still running 20 s after SIGTERM"
	wait "$pid"
	rc=$?
	[ "$rc" -eq 0 ] || fail "node $n exited with status $rc on SIGTERM"
	unset "MNODE_PID[$n]"
}

mnode_kill()
{
	local n=$1 pids
	# the master and its children (their titles may not name the file)
	pids="${MNODE_PID[$n]} $(pgrep -P "${MNODE_PID[$n]}" | tr '\n' ' ')"
	kill -9 $pids 2>/dev/null
	wait_until 5 none_alive $pids || fail "node $n: processes $pids survived kill -9"
	wait "${MNODE_PID[$n]}" 2>/dev/null
	unset "MNODE_PID[$n]"
}

# mtm_write NAME NODE...: tm_write, then servers: [...] instead of server:
mtm_write()
{
	local name=$1 n list=
	shift
	tm_write "$name"
	for n in "$@"; do
		list+="${list:+, }127.0.0.1:${MNODE_AGENT[$n]}"
	done
	sed -i "s/^server: .*/servers: [$list]/" "$T/$name.yaml"
}

mtm_links_registered()
{
	local got
	got=$(tm_api_json "$1" 'sum(1 for l in d["links"] if l["state"] == "registered")') || return 1
	[ "$got" = "$2" ]
}

# tm_api_json NAME EXPR: a python expression on agent NAME's /status (d).
tm_api_json()
{
	curl -s --max-time 2 "http://127.0.0.1:$(cat "$T/$1.api")/status" 2>/dev/null |
	    "$PY" -c "import json, sys; d = json.load(sys.stdin); print($2)" 2>/dev/null
}

mload_one()
{
	local url=$1 out=$2 code t0 done=0
	t0=$(now_ms)
	code=$(curl -s -N -o "$out" -w '%{http_code}' --max-time 20 \
	    -H 'content-type: application/json' -H "x-mock-chunks: ${MLOAD_CHUNKS:-5}" \
	    -H "x-mock-pause-ms: ${MLOAD_PAUSE_MS:-60}" \
	    --data-binary '{"model":"lab:qwen3:0.6b","stream":true,"messages":[{"role":"user","content":"hi"}]}' \
	    "$url/v1/chat/completions" 2>/dev/null)
	grep -q '^data: \[DONE\]' "$out" 2>/dev/null && done=1
	echo "$t0 $code $done"
}

mload_start()
{
	local name=$1 n=$2 conc=${3:-2} i url
	url=$(mnode_api "$n")
	rm -f "$T/load-$name.stop" "$T/load-$name.codes"
	for i in $(seq 1 "$conc"); do
		(
			while [ ! -e "$T/load-$name.stop" ]; do
				mload_one "$url" "$T/load-$name-$i.out" >>"$T/load-$name.codes"
			done
		) &
		MLOAD_PIDS[$name]+=" $!"
		TL_PIDS+=("$!")
	done
}

mload_stop()
{
	local name=$1 p
	touch "$T/load-$name.stop"
	for p in ${MLOAD_PIDS[$name]}; do
		wait "$p" 2>/dev/null
	done
	unset "MLOAD_PIDS[$name]"
	MLOAD_TOTAL=$(grep -c . "$T/load-$name.codes")
	MLOAD_BAD=$(grep -vc ' 200 1$' "$T/load-$name.codes")
	log "load $name: $MLOAD_TOTAL requests, $MLOAD_BAD not complete 200s ($(awk '{ n[$2 "/" $3]++ } END { for (c in n) printf "%d x %s, ", n[c], c }' "$T/load-$name.codes"))"
}

mlong_start()
{
	local name=$1 url
	url=$(mnode_api "$2")
	rm -f "$T/long-$name.res"
	MLOAD_CHUNKS=${MLOAD_CHUNKS:-40} MLOAD_PAUSE_MS=${MLOAD_PAUSE_MS:-100} \
	    mload_one "$url" "$T/long-$name.out" >"$T/long-$name.tmp" &
	MLONG_PID[$name]=$!
	TL_PIDS+=("$!")
}

mlong_started() { grep -qs '"tok' "$T/long-$1.out"; }

mlong_wait()
{
	wait "${MLONG_PID[$1]}"
	MLONG=$(cut -d' ' -f2- "$T/long-$1.tmp")
	log "long stream $1: $MLONG ($(grep -c '"tok' "$T/long-$1.out") chunks)"
}

# mload_count NAME: requests the load finished so far
mload_count() { [ -e "$T/load-$1.codes" ] && awk 'END { print NR }' "$T/load-$1.codes" || echo 0; }
mload_more_than() { [ "$(mload_count "$1")" -gt "$2" ]; }

multi_up()
{
	mnode_start a
	mnode_start b
	mtm_write tm a b
	tm_start tm
	wait_until 15 mtm_links_registered tm 2 ||
	    fail "tokiame: not 2 links registered: $(tm_api tm /status)"
	wait_until 10 mnode_lists a "lab:qwen3:0.6b" || fail "node a does not list the agent's model"
	wait_until 10 mnode_lists b "lab:qwen3:0.6b" || fail "node b does not list the agent's model"
}

mlongs_start()
{
	local s
	for s in "$@"; do
		mlong_start "${s%%:*}" "${s#*:}"
	done
	for s in "$@"; do
		wait_until 10 mlong_started "${s%%:*}" || fail "stream ${s%%:*} did not start"
	done
}

multi_pass()
{
	local n
	for n in "${!TM_PIDS[@]}"; do
		tm_stop "$n"
	done
	for n in "${!MNODE_PID[@]}"; do
		mnode_stop "$n"
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
