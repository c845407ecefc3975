#!/usr/bin/env bash
# run.sh: the whole test suite, from a fresh Debian 12 to one line of
# results. Installs what is missing (as root), builds in ./build, runs
# `make check`; builds again with ASan+UBSan in ./build-san and runs
# `make check` there; then `make distcheck`. Ends with
#     N passed, N failed[, N skipped]
# summed over every pass, and exits 1 if anything failed.
#
# Environment: TL_SKIP_SANITIZERS=1 skips the sanitizer pass,
# TL_SKIP_DISTCHECK=1 skips distcheck, TL_JOBS=N sets make -j (default:
# the number of CPUs).
set -u
cd "$(dirname "$0")/.." || exit 1
SRC=$(pwd)
JOBS=${TL_JOBS:-$(nproc)}
RESULTS=$(mktemp "${TMPDIR:-/tmp}/tl-results.XXXXXX")
trap 'rm -f "$RESULTS"' EXIT
T_START=$(date +%s)

say() { printf '\n== %s\n' "$*"; }

# result STATUS NAME PASS: record one result (PASS FAIL SKIP); print it
# unless QUIET is set (make check already showed it).
result()
{
	printf '%s %s [%s]\n' "$1" "$2" "$3" >>"$RESULTS"
	[ -n "${QUIET:-}" ] || printf '%-5s %s [%s]\n' "$1:" "$2" "$3"
}

# run_logged LOGFILE COMMAND...: run quietly into LOGFILE; on failure show
# its tail.
run_logged()
{
	local logf=$1
	shift
	if "$@" >"$logf" 2>&1; then
		return 0
	fi
	echo "failed: $* (log: $logf)"
	tail -n 60 "$logf"
	return 1
}

# collect BUILDDIR PASS: one result per test of the last `make check`,
# read from the automake .trs files; the tail of each failed test's log.
collect()
{
	local dir=$1 pass=$2 logs lg trs res name n=0 bad=0
	logs=$(make -s -C "$dir" --no-print-directory \
	    --eval 'tl-print-test-logs: ; @echo $(TEST_LOGS)' tl-print-test-logs 2>/dev/null)
	for lg in $logs; do
		name=${lg%.log}
		trs=$dir/$name.trs
		n=$((n + 1))
		if [ ! -f "$trs" ]; then
			QUIET='' result FAIL "$name (did not run)" "$pass"
			bad=$((bad + 1))
			continue
		fi
		for res in $(sed -n 's/^:test-result: *//p' "$trs"); do
			case $res in
			PASS|XFAIL) result PASS "$name" "$pass" ;;
			SKIP) result SKIP "$name" "$pass" ;;
			*) result FAIL "$name ($res)" "$pass"; bad=$((bad + 1)) ;;
			esac
		done
		if grep -Eq '^:test-result: *(FAIL|ERROR|XPASS)' "$trs"; then
			echo "---- tail of $dir/$lg"
			tail -n 40 "$dir/$lg"
			echo "----"
		fi
	done
	[ "$n" -gt 0 ] || { QUIET='' result FAIL "no tests found" "$pass"; bad=1; }
	return "$bad"
}

# check_pass NAME BUILDDIR CONFIGURE-ARGS...: configure, build, make check.
check_pass()
{
	local pass=$1 dir=$SRC/$2 rc
	shift 2
	say "$pass: configure and build in $dir"
	mkdir -p "$dir"
	if [ ! -f "$dir/Makefile" ]; then
		(cd "$dir" && run_logged "$dir/tl-configure.log" "$SRC/configure" "$@") ||
		    { result FAIL "configure" "$pass"; return 1; }
	fi
	run_logged "$dir/tl-build.log" make -C "$dir" -j"$JOBS" ||
	    { result FAIL "build" "$pass"; return 1; }
	if grep -E 'warning:' "$dir/tl-build.log" | grep -v 'ar: ' >/dev/null; then
		echo "compiler warnings:"
		grep -E 'warning:' "$dir/tl-build.log" | sort -u | head -n 20
	fi
	say "$pass: make check"
	# show each result as automake reports it; the full output is kept
	make -C "$dir" -j"$JOBS" check 2>&1 | tee "$dir/tl-check.log" |
	    grep --line-buffered -E '^(PASS|FAIL|SKIP|XFAIL|XPASS|ERROR):'
	rc=${PIPESTATUS[0]}
	grep -E '^(PASS|FAIL|SKIP|XFAIL|XPASS|ERROR):' "$dir/tl-check.log" >/dev/null ||
	    tail -n 40 "$dir/tl-check.log"
	QUIET=1 collect "$dir" "$pass"
	if [ $rc -ne 0 ] && [ "$(grep -c "^FAIL .*\[$pass\]" "$RESULTS")" -eq 0 ]; then
		tail -n 40 "$dir/tl-check.log"
		result FAIL "make check exited $rc" "$pass"
	fi
}

# tokilake processes running from our build trees, one pid per line.
our_daemons()
{
	local p exe
	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		case $exe in "$SRC"/build*/tokilake*|"$SRC"/build*/tokiame*) echo "${p#/proc/}" ;; esac
	done
}

# -- packages and the test user --------------------------------------------
say "packages"
. "$SRC/tests/deps.sh"
tl_install_deps "$SRC/tests/deps.txt" build test || {
	echo "cannot install the packages the tests need"
	exit 1
}
# Tests that must not run as root (PostgreSQL) use this user.
if [ "$(id -u)" -eq 0 ] && ! id tltest >/dev/null 2>&1; then
	useradd -r -M -s /usr/sbin/nologin tltest || echo "warning: could not create user tltest"
fi
# A root directory closed to other users (a chroot unpacked into a
# `mktemp -d` directory is mode 700) stops tltest from running anything,
# PostgreSQL included. A normal system has / at 755 and skips this.
if [ "$(id -u)" -eq 0 ] && id tltest >/dev/null 2>&1 &&
    ! runuser -u tltest -- test -x /usr/bin/env 2>/dev/null; then
	echo "note: user tltest cannot reach /usr/bin (/ is mode $(stat -c %a /)): chmod o+x / so that PostgreSQL can run as tltest"
	chmod o+x / || echo "warning: chmod o+x / failed; the PostgreSQL tests will fail"
fi
echo "ok"

if [ -f "$SRC/config.status" ]; then
	echo "the source tree itself is configured (config.status): run 'make distclean' there first"
	exit 1
fi

say "autoreconf"
run_logged "$RESULTS.autoreconf" autoreconf -fi || { rm -f "$RESULTS.autoreconf"; exit 1; }
rm -f "$RESULTS.autoreconf"

before=$(our_daemons)

check_pass normal build

if [ "${TL_SKIP_SANITIZERS:-0}" != 1 ]; then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	check_pass sanitizers build-san --enable-sanitizers
	unset ASAN_OPTIONS UBSAN_OPTIONS
else
	say "sanitizers: skipped (TL_SKIP_SANITIZERS=1)"
fi

if [ "${TL_SKIP_DISTCHECK:-0}" != 1 ]; then
	say "distcheck"
	# The integration tests already ran twice above: the tarball's own
	# check runs the unit tests, which prove it builds and works whole.
	unit_tests=$(make -s -C "$SRC/build" --no-print-directory \
	    --eval 'tl-print-tests: ; @echo $(TESTS)' tl-print-tests 2>/dev/null |
	    tr ' ' '\n' | grep -E '^tests/(unit|fuzz)/' | tr '\n' ' ')
	if [ -f "$SRC/build/Makefile" ] &&
	    make -C "$SRC/build" -j"$JOBS" distcheck TESTS="$unit_tests" \
	    >"$SRC/build/tl-distcheck.log" 2>&1; then
		result PASS "make distcheck" distcheck
	else
		tail -n 60 "$SRC/build/tl-distcheck.log" 2>/dev/null
		for f in $(find "$SRC/build" -path '*/_build/*' -name test-suite.log 2>/dev/null); do
			echo "---- $f"
			tail -n 80 "$f"
		done
		result FAIL "make distcheck (log: build/tl-distcheck.log)" distcheck
	fi
else
	say "distcheck: skipped (TL_SKIP_DISTCHECK=1)"
fi

# Nothing the tests started may outlive them.
sleep 1
stray=
for p in $(our_daemons); do
	grep -qx "$p" <<<"$before" || stray+="$p "
done
if [ -n "$stray" ]; then
	ps -o pid,ppid,args -p "${stray// /,}" 2>/dev/null | sed 's/^/    /'
	result FAIL "no stray tokilake/tokiame process after the tests: $stray" cleanup
	kill -9 $stray 2>/dev/null
else
	result PASS "no stray tokilake/tokiame process after the tests" cleanup
fi

passed=$(grep -c '^PASS ' "$RESULTS")
failed=$(grep -c '^FAIL ' "$RESULTS")
skipped=$(grep -c '^SKIP ' "$RESULTS")
say "results ($(( $(date +%s) - T_START )) s)"
grep '^FAIL ' "$RESULTS" | sed 's/^/  /'
grep '^SKIP ' "$RESULTS" | sed 's/^/  /'
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
