# lib.sh: shared helpers for the integration tests (sourced, bash).
#
# Each test gets its own temporary directory ($T), free loopback ports,
# a config written there, and a tokilake started in the background with
# its output in $T/tokilake.log. An EXIT trap kills every process the test
# started (and their children), keeps $T when the test failed and removes
# it when it passed (TL_KEEP=1 keeps it always). Every wait is bounded.
# Run one by hand from a build directory:
#   top_builddir=$PWD top_srcdir=/path/to/src bash $top_srcdir/tests/integration/t-reload.sh
#
# Exit codes follow automake: 0 pass, 1 fail, 77 skip.

top_builddir=${top_builddir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
TOKILAKE=${TOKILAKE:-$top_builddir/tokilake}
TESTNAME=$(basename "$0" .sh)

T=
MASTER=
TL_PIDS=()        # every process started in the background
TL_FAILED=1       # cleared by pass()

log() { printf '%s: %s\n' "$TESTNAME" "$*"; }

# Milliseconds since the epoch.
now_ms() { date +%s%3N; }

# Sanitizer reports (ASan, LSan, UBSan) of every process go to files in
# $T: a child that crashed and was respawned must still fail the test.
sanitizer_check()
{
	local f
	for f in "$T"/asan.* "$T"/ubsan.*; do
		[ -s "$f" ] || continue
		# LeakSanitizer's tracer losing a thread of a process that a
		# test SIGKILLed in the middle of its exit-time leak check: no
		# finding, and the only line of such a file
		if ! grep -Evq '^==[0-9]+==Unable to get registers from thread [0-9]+\.$|^$' "$f"; then
			echo "--- ignored: $f (the leak check of a killed process was cut short)"
			continue
		fi
		echo "--- sanitizer report $f"
		head -n 60 "$f"
		return 1
	done
	if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T"/*.log 2>/dev/null; then
		grep -E -A 30 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T"/*.log | head -n 60
		return 1
	fi
	return 0
}

# stop_master: SIGTERM, then wait (10 s at most) for the master and its
# children to exit by themselves, so their exit-time leak checks run.
stop_master()
{
	local kids p
	[ -n "$MASTER" ] && alive "$MASTER" || return 0
	kids=$(children)
	kill -TERM "$MASTER"
	for p in $(seq 1 200); do
		alive "$MASTER" || break
		sleep 0.05
	done
	alive "$MASTER" && fail "master $MASTER still running 10 s after SIGTERM"
	wait "$MASTER"
	p=$?
	[ "$p" -eq 0 ] || fail "master exited with status $p on SIGTERM"
	wait_until 3 none_alive $kids || fail "children $kids still alive after the master exited"
}

pass()
{
	stop_master
	tl_kill_all
	sanitizer_check || fail "sanitizer report (above)"
	TL_FAILED=0
	log "PASS${1:+: $1}"
	exit 0
}

skip()
{
	TL_FAILED=0
	log "SKIP: $*"
	exit 77
}

# fail MESSAGE: say what went wrong, show the end of the logs, exit 1.
fail()
{
	local f
	log "FAIL: $*"
	for f in "$T"/*.log "$T"/*.err "$T"/asan.* "$T"/ubsan.*; do
		[ -s "$f" ] || continue
		echo "--- tail of $f"
		tail -n 40 "$f"
	done
	exit 1
}

# Kill every process whose command line holds our temporary directory
# (the master and the children it forked all carry "-c $T/..."), then
# whatever else we started. Only processes of this test match: $T is unique.
tl_kill_all()
{
	local p pids=() f exe
	[ -n "$T" ] || return 0
	# one grep over every command line (NUL-separated, hence -a)
	for f in $(grep -lsaF -- "$T/" /proc/[0-9]*/cmdline); do
		p=${f#/proc/}
		p=${p%/cmdline}
		[ "$p" = $$ ] || [ "$p" = "$BASHPID" ] || pids+=("$p")
	done
	pids+=("${TL_PIDS[@]}")
	# children seen earlier, if that pid is still a tokilake (not reused)
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

tl_cleanup()
{
	local rc=$?
	trap - EXIT
	[ -n "${TL_WATCHDOG:-}" ] && kill "$TL_WATCHDOG" 2>/dev/null
	tl_kill_all
	if [ -n "$T" ] && [ -d "$T" ]; then
		if [ "$TL_FAILED" = 0 ] && { [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; } && [ -z "${TL_KEEP:-}" ]; then
			rm -rf "$T"
		else
			log "kept $T"
		fi
	fi
	exit "$rc"
}

# tl_setup: temp dir, traps, a built tokilake, curl.
tl_setup()
{
	[ -x "$TOKILAKE" ] || skip "no tokilake binary at $TOKILAKE"
	command -v curl >/dev/null || skip "curl not installed"
	tl_tempdir
	mkdir -p "$T/run"
	log "temp dir $T"
}

# tl_tempdir: the test's temporary directory $T, removed by tl_cleanup at
# exit (kept when the test fails), with the sanitizers' reports in it.
tl_tempdir()
{
	T=$(mktemp -d "${TMPDIR:-/tmp}/tl-$TESTNAME.XXXXXX") || exit 99
	trap tl_cleanup EXIT
	trap 'exit 1' INT TERM HUP
	# a test that hangs fails, saying so, instead of hanging the suite
	# (the slowest take about two minutes under the sanitizers)
	# (tl_cleanup's TERM ends it and its sleep at once: the trap runs
	# while it waits, so it never reaches its kill)
	(
		trap 'kill "$_wd_sleep" 2>/dev/null; exit 0' TERM
		sleep "${TL_TEST_TIMEOUT:-900}" &
		_wd_sleep=$!
		wait "$_wd_sleep"
		echo "$TESTNAME: FAIL: still running after ${TL_TEST_TIMEOUT:-900} s (TL_TEST_TIMEOUT): stopped" >&2
		kill -TERM $$
	) &
	TL_WATCHDOG=$!
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T/asan"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T/ubsan"
}

# freeport: print a loopback TCP port nobody listens on, never the same
# twice in one test (ports given are kept in $T/ports: freeport runs in
# command substitutions). Uses tests/tools/tl-freeport when it was built.
freeport()
{
	local tool=$top_builddir/tests/tools/tl-freeport p i
	for i in $(seq 1 50); do
		p=
		if [ -x "$tool" ]; then
			p=$("$tool" 2>/dev/null | head -n 1 | tr -cd '0-9')
		fi
		if [ -z "$p" ]; then
			p=$((20000 + (RANDOM * 32768 + RANDOM) % 30000))
			port_in_use "$p" && p=
		fi
		if [ -n "$p" ] && ! grep -qx "$p" "$T/ports" 2>/dev/null; then
			echo "$p" >>"$T/ports"
			echo "$p"
			return 0
		fi
	done
	fail "no free port found"
}

# port_in_use PORT: something listens on 127.0.0.1:PORT.
port_in_use()
{
	if command -v ss >/dev/null; then
		[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

# write_config FILE [EXTRA_YAML]: the standalone test config. Sets
# HTTP_PORT and AGENT_PORT if unset. WORKERS (default 2) and LOG_FILE
# (default: stderr) change it. EXTRA_YAML is appended as is.
write_config()
{
	local f=$1 extra=${2:-}
	: "${HTTP_PORT:=$(freeport)}" "${AGENT_PORT:=$(freeport)}"
	{
		echo "workers: ${WORKERS:-2}"
		echo "runtime_dir: $T/run"
		echo "shutdown_timeout: ${SHUTDOWN_TIMEOUT:-10s}"
		if [ -n "${LOG_FILE:-}" ]; then
			echo "log: { level: debug, file: $LOG_FILE }"
		else
			echo "log: { level: debug }"
		fi
		echo "http:"
		echo "  listen: [\"127.0.0.1:$HTTP_PORT\"]"
		echo "  max_body_size: ${MAX_BODY:-1MiB}"
		echo "  header_timeout: 5s"
		echo "  idle_timeout: 10s"
		echo "agents: { listen: \"127.0.0.1:$AGENT_PORT\", plaintext: true }"
		echo "usage: { log_file: \"$T/usage.log\" }"
		[ -n "$extra" ] && printf '%s\n' "$extra"
	} >"$f"
}

# start_tokilake CONF: run the master in the background; MASTER = its pid.
start_tokilake()
{
	local conf=$1
	"$TOKILAKE" -c "$conf" >>"$T/tokilake.log" 2>&1 </dev/null &
	MASTER=$!
	TL_PIDS+=("$MASTER")
	log "started tokilake pid $MASTER ($conf)"
}

# http_code [CURL ARGS...] URL: print the status (000 if none), bounded.
http_code()
{
	curl -sk -o /dev/null -w '%{http_code}' --max-time "${CURL_MAX_TIME:-3}" "$@" 2>/dev/null
	return 0
}

# wait_for_http URL STATUS TIMEOUT_S: poll every 50 ms until URL answers
# STATUS. WAITED = elapsed milliseconds. Returns 1 on timeout.
wait_for_http()
{
	local url=$1 want=$2
	wait_until "$3" http_is "$url" "$want"
}

# http_is URL STATUS: one bounded request answers STATUS.
http_is() { [ "$(CURL_MAX_TIME=1 http_code "$1")" = "$2" ]; }

# wait_until TIMEOUT_S COMMAND...: run COMMAND every POLL seconds (0.05)
# until it succeeds. WAITED = elapsed milliseconds. Returns 1 on timeout.
# Runs in the current shell, so COMMAND may set variables.
wait_until()
{
	# odd names: COMMAND sees our locals (bash scoping) and may use t0
	local _wu_limit=$(($1 * 1000)) _wu_t0 _wu_now
	shift
	_wu_t0=$(now_ms)
	while :; do
		if "$@"; then
			_wu_now=$(now_ms)
			WAITED=$((_wu_now - _wu_t0))
			return 0
		fi
		_wu_now=$(now_ms)
		WAITED=$((_wu_now - _wu_t0))
		[ "$WAITED" -ge "$_wu_limit" ] && return 1
		sleep "${POLL:-0.05}"
	done
}

# children: the live child pids of the master, sorted, one per line.
# Every pid seen is written to $T/kids (children() often runs in a
# subshell) so cleanup can kill it even after the master is gone.
children()
{
	local kids
	kids=$(pgrep -P "$MASTER" | sort -n)
	[ -n "$kids" ] || return 0
	echo "$kids" >>"$T/kids"
	echo "$kids"
}

# role PID: "agentd", "worker" or "" (unknown yet), from the process
# title the master sets ("tokilake: worker 2 -c FILE"), else from the log lines the process
# wrote ("tokilake[PID] worker 1 ...", "tokilake[PID] agentd ...").
role()
{
	local pid=$1 cmd logf
	cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")
	case $cmd in
	"tokilake: agentd"*) echo agentd; return ;;
	"tokilake: worker"*) echo worker; return ;;
	esac
	for logf in "$T/tokilake.log" ${LOG_FILE:+"$LOG_FILE"}; do
		[ -f "$logf" ] || continue
		if grep -q "\[$pid\] agentd" "$logf"; then
			echo agentd; return
		elif grep -q "\[$pid\] worker" "$logf"; then
			echo worker; return
		fi
	done
	echo ""
}

# pids_of ROLE: the master's children in ROLE (worker|agentd), one per line.
pids_of()
{
	local p
	for p in $(children); do
		[ "$(role "$p")" = "$1" ] && echo "$p"
	done
	return 0
}

# count_of ROLE: how many children in ROLE.
count_of() { pids_of "$1" | wc -l; }

# roles_known N_WORKERS: all children are identified: N workers, 1 agentd.
roles_known()
{
	[ "$(count_of worker)" -eq "$1" ] && [ "$(count_of agentd)" -eq 1 ]
}

# start_and_wait CONF [N_WORKERS]: start, wait for /healthz 200 and for all
# children to be identified. Sets HEALTHZ_MS (time to first 200).
start_and_wait()
{
	local conf=$1 n=${2:-${WORKERS:-2}}
	start_tokilake "$conf"
	wait_for_http "http://127.0.0.1:$HTTP_PORT/healthz" 200 5 ||
	    fail "no /healthz 200 within 5 s"
	HEALTHZ_MS=$WAITED
	wait_until 5 roles_known "$n" ||
	    fail "expected $n workers and 1 agentd as children of $MASTER, have: $(for p in $(children); do printf '%s=%s ' "$p" "$(role "$p")"; done)"
	log "up: /healthz 200 after ${HEALTHZ_MS} ms; workers: $(pids_of worker | tr '\n' ' ')agentd: $(pids_of agentd)"
}

# alive PID: the process exists and is not a zombie.
alive()
{
	local st
	kill -0 "$1" 2>/dev/null || return 1
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ]
}

# none_alive PID...: none of them is alive.
none_alive()
{
	local p
	for p in "$@"; do
		alive "$p" && return 1
	done
	return 0
}

# req METHOD PATH [CURL ARGS...]: one request to the test node. Sets CODE
# (000 = no answer), BODY (the body) and HDRS (the response head).
req()
{
	local method=$1 path=$2
	shift 2
	CODE=$(curl -s -X "$method" -o "$T/body" -D "$T/head" -w '%{http_code}' \
	    --max-time "${CURL_MAX_TIME:-5}" "$@" "http://127.0.0.1:$HTTP_PORT$path" 2>/dev/null)
	CURL_RC=$?
	BODY=$(cat "$T/body" 2>/dev/null)
	HDRS=$(tr -d '\r' <"$T/head" 2>/dev/null)
	return 0
}

# is_openai_error: BODY is {"error":{"message":...,"type":...}} and the
# answer says it is JSON.
is_openai_error()
{
	[[ $BODY =~ ^[[:space:]]*\{[[:space:]]*\"error\"[[:space:]]*:[[:space:]]*\{ ]] &&
	    [[ $BODY == *'"message"'* ]] && [[ $BODY == *'"type"'* ]] &&
	    grep -qi '^content-type: *application/json' <<<"$HDRS"
}

# expect_error STATUS METHOD PATH [CURL ARGS...]: the answer is STATUS
# with an OpenAI-shaped JSON error.
expect_error()
{
	local want=$1
	shift
	req "$@"
	[ "$CODE" = "$want" ] || fail "$1 $2: expected $want, got $CODE (curl rc $CURL_RC) body: ${BODY:0:300}"
	is_openai_error || fail "$1 $2: $CODE but not an OpenAI-shaped JSON error: ${BODY:0:300} / head: $HDRS"
	log "ok: $1 $2 -> $CODE ${BODY:0:160}"
}

# load_start PATH [CURL ARGS...]: request PATH on a new connection every
# 20 ms in the background until load_stop; "START_MS STATUS SECONDS" per
# line in $T/load.codes (STATUS 000 = no answer; each bounded at 3 s).
load_start()
{
	local url="http://127.0.0.1:$HTTP_PORT$1"
	shift
	rm -f "$T/load.stop" "$T/load.codes"
	(
		while [ ! -e "$T/load.stop" ]; do
			printf '%s ' "$(now_ms)" >>"$T/load.codes"
			curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 3 \
			    "$@" "$url" >>"$T/load.codes" 2>/dev/null
			sleep 0.02
		done
	) &
	LOAD_PID=$!
	TL_PIDS+=("$LOAD_PID")
}

# load_stop [OK_STATUSES]: end the loop. LOAD_TOTAL, LOAD_BAD (status not
# in OK_STATUSES, default "200"), LOAD_MAX_MS (slowest request) are set.
load_stop()
{
	local ok=${1:-200}
	touch "$T/load.stop"
	wait "$LOAD_PID" 2>/dev/null
	LOAD_TOTAL=$(grep -c . "$T/load.codes")
	LOAD_BAD=$(awk -v ok=" $ok " 'index(ok, " " $2 " ") == 0' "$T/load.codes" | wc -l)
	LOAD_MAX_MS=$(awk '{ ms = $3 * 1000; if (ms > m) m = ms } END { printf "%d", m }' "$T/load.codes")
	return 0
}

# load_bad_away T_MS WINDOW_MS: how many failed requests (status not 200)
# started more than WINDOW_MS away from T_MS (e.g. a kill).
load_bad_away()
{
	awk -v t="$1" -v w="$2" '$2 != "200" && ($1 < t - w || $1 > t + w)' "$T/load.codes" | wc -l
}

# load_summary: "N x STATUS" counts of the last load run.
load_summary() { awk '{ n[$2]++ } END { for (c in n) printf "%d x %s, ", n[c], c }' "$T/load.codes"; }

# new_pid_not_in "OLD PIDS" ROLE: a child in ROLE exists that is not one of
# OLD PIDS; NEW_PID is set to it.
new_pid_not_in()
{
	local p
	for p in $(children); do
		[[ " $1 " == *" $p "* ]] && continue
		# a just-forked child may not have logged its role yet: accept it
		# as soon as it exists unless it is known to be something else
		case $(role "$p") in "$2"|"") NEW_PID=$p; return 0 ;; esac
	done
	return 1
}

# log_mark: remember how far the node's log goes; log_ms then only looks
# at lines written after the mark.
log_mark() { LOG_FROM=$(($(wc -l <"$T/tokilake.log") + 1)); }

# log_ms ERE: the time (epoch ms) of the first line of the node's log (from
# LOG_FROM on) that matches ERE; returns 1 if none. Log lines start with
# "YYYY-MM-DD HH:MM:SS.mmm".
log_ms()
{
	local line
	line=$(tail -n +"${LOG_FROM:-1}" "$T/tokilake.log" | grep -E -m 1 -- "$1")
	[[ $line =~ ^([0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9:]{8}\.[0-9]{3}) ]] || return 1
	date -d "${BASH_REMATCH[1]}" +%s%3N
}

# respawned_ready NAME_ERE T_KILL: a child was killed at T_KILL (epoch
# ms) and NEW_PID replaced it; read from the master's log when it started
# NEW_PID and when NEW_PID said it was ready. Sets STARTED_MS and READY_MS
# (ms after T_KILL). NAME_ERE matches the child's name: "worker [0-9]+".
respawned_ready()
{
	local t
	STARTED_MS="" READY_MS=""
	t=$(log_ms "master .*started $1 \(pid ${NEW_PID}[,)]") && STARTED_MS=$((t - $2))
	t=$(log_ms "master .*$1 \(pid $NEW_PID, generation [0-9]+\) is ready") && READY_MS=$((t - $2))
	[ -n "$STARTED_MS" ] && [ -n "$READY_MS" ]
}
