# hostile-link-lib.sh: helpers for the hostile-input tests of the listeners
# (sourced after lib.sh and link-lib.sh).
#
#   pids_snapshot               "master workers agentd" of the node, sorted
#   hostile NAME ARGS...        hostile_conns.py ARGS in the background
#                               (--addr is the caller's); out $T/h-NAME.out
#   hostile_check NAME          wait for it; fail unless it said RESULT ok
#   chats_while_hostile CHECK...  run CHECK (a legitimate request that
#                               fails the test itself unless answered
#                               200) as long as a hostile client runs
#   same_pids BEFORE            no process of the node was respawned
#   early_lines_bounded ERE S   lines matching ERE since log_mark stay
#                               within 10 a second (+ summaries) over S s

HOSTILE_PIDS=()
declare -A HOSTILE_PID

pids_snapshot() { { echo "$MASTER"; children; } | sort -n | tr '\n' ' '; }

hostile()
{
	local name=$1
	shift
	"$PY" -u "$HERE/hostile_conns.py" "$@" >"$T/h-$name.out" 2>&1 </dev/null &
	HOSTILE_PID[$name]=$!
	HOSTILE_PIDS+=("$!")
	TL_PIDS+=("$!")
}

hostile_check()
{
	local name=$1 rc=0
	wait "${HOSTILE_PID[$name]}" || rc=$?
	log "$name: $(grep -E '^(SENT|CLOSED|STATUS|ANSWER|GOAWAY|RESULT)' "$T/h-$name.out" | tr '\n' ' ' | cut -c1-400)"
	[ "$rc" -eq 0 ] || fail "$name: rc $rc: $(tail -n 5 "$T/h-$name.out" | tr '\n' ' ')"
}

# the first "first_ms" a hostile client printed (when the server closed it)
hostile_first_ms() { sed -n 's/^CLOSED [0-9]*\/[0-9]* first_ms \([0-9]*\).*/\1/p' "$T/h-$1.out"; }

any_hostile_running()
{
	local p
	for p in "${HOSTILE_PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null && return 0
	done
	return 1
}

chats_while_hostile()
{
	local n=0
	while any_hostile_running; do
		"$@"
		n=$((n + 1))
		sleep 0.2
	done
	log "ok: '$*' answered 200 $n times while the hostile clients ran"
	HOSTILE_PIDS=()
}

same_pids()
{
	local now
	now=$(pids_snapshot)
	[ "$now" = "$1" ] || fail "a tokilake process was respawned: before [$1] after [$now]"
	no_child_crashed || fail "a child of the node crashed (above)"
	log "ok: no process respawned ($now)"
}

# early_lines_bounded ERE SECONDS: per second of the log's own clock,
# at most 20 lines matching ERE: 10 per window of 1 s (the log_burst
# bound), and a clock second can overlap two windows; plus summaries.
# EARLY_MAX overrides the bound (several processes, each with its own).
early_lines_bounded()
{
	local worst
	worst=$(tail -n +"${LOG_FROM:-1}" "$T/tokilake.log" | grep -E -- "$1" |
	    awk '{ print $1 " " $2 }' | cut -c1-19 | sort | uniq -c | sort -rn | head -n 1 |
	    awk '{ print $1 }')
	log "most '$1' lines in one second: ${worst:-0}"
	[ "${worst:-0}" -le "${EARLY_MAX:-22}" ] ||
	    fail "more than ${EARLY_MAX:-22} lines in one second matched /$1/ ($worst)"
}
