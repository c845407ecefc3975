# mock-lib.sh: start and query tl-mock-openai from a test (sourced, bash,
# after tests/integration/lib.sh, whose log/fail/pass/cleanup it uses).
#
#   mock_setup                  temp dir and traps when no tokilake is needed
#   mock_start NAME [ARGS...]   start a mock on a free port; sets MOCK_PORT,
#                               MOCK_URL, MOCK_PID; stdout in $T/NAME.out,
#                               log in $T/NAME.log, aborts in $T/NAME.aborts
#   mock_stop                   SIGTERM, wait (so leak checks run), exit 0
#   mock_fnv FILE               FNV-1a 64 hex of FILE (what x-mock-*-fnv say)
#   mock_abort_of REQUEST_ID    "at_ms events_sent path" of the abort record
#                               with that X-Request-Id, or nothing
#   sse_times                   stdin -> "<unix_ms> <line>" per "data:" line

MOCK=${MOCK:-$top_builddir/tests/mock/tl-mock-openai}
MOCK_PID=
MOCK_PORT=
MOCK_URL=

mock_setup()
{
	[ -x "$MOCK" ] || skip "no mock at $MOCK"
	command -v curl >/dev/null || skip "curl not installed"
	tl_tempdir
	log "temp dir $T"
}

# The port comes from the mock itself (-l 127.0.0.1:0): no race.
mock_start()
{
	local name=$1 i
	shift
	"$MOCK" -l 127.0.0.1:0 --abort-log "$T/$name.aborts" "$@" \
	    >"$T/$name.out" 2>"$T/$name.log" </dev/null &
	MOCK_PID=$!
	TL_PIDS+=("$MOCK_PID")
	for i in $(seq 1 100); do
		MOCK_PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$T/$name.out" 2>/dev/null)
		[ -n "$MOCK_PORT" ] && break
		kill -0 "$MOCK_PID" 2>/dev/null || fail "mock $name exited at start: $(cat "$T/$name.log")"
		sleep 0.05
	done
	[ -n "$MOCK_PORT" ] || fail "mock $name did not say \"listening on\" within 5 s"
	MOCK_URL=http://127.0.0.1:$MOCK_PORT
	log "mock $name pid $MOCK_PID on $MOCK_URL ($*)"
}

mock_stop()
{
	local pid=${1:-$MOCK_PID} i rc
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && fail "mock $pid still running 5 s after SIGTERM"
	wait "$pid"
	rc=$?
	[ "$rc" -eq 0 ] || fail "mock $pid exited with status $rc on SIGTERM"
}

mock_fnv() { "$MOCK" --fnv "$1" | cut -d' ' -f1; }

mock_abort_of()
{
	local url=${2:-$MOCK_URL} rec
	rec=$(curl -s --max-time 3 "$url/mock/aborts" |
	    grep -o "{\"at_ms\":[0-9]*,\"request_id\":\"$1\",\"path\":\"[^\"]*\",\"events_sent\":[0-9]*}" |
	    head -n 1)
	[ -n "$rec" ] || return 1
	sed 's/.*"at_ms":\([0-9]*\).*"path":"\([^"]*\)".*"events_sent":\([0-9]*\).*/\1 \3 \2/' <<<"$rec"
}

# Timestamps without a fork per line (bash 5: EPOCHREALTIME).
sse_times()
{
	local line t
	while IFS= read -r line; do
		case $line in
		data:*)
			t=${EPOCHREALTIME/[.,]/}
			printf '%s %s\n' "${t:0:13}" "$line"
			;;
		esac
	done
}
