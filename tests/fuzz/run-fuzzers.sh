#!/bin/bash
# run-fuzzers.sh: build every fuzz target with libFuzzer (clang,
# -fsanitize=fuzzer,address,undefined) and run each for a while.
#
#   tests/fuzz/run-fuzzers.sh [-b BUILDDIR] [-m] [-n RUNS] [SECONDS] [TARGET...]
#
# SECONDS per target (default 60), or until RUNS executions if -n comes
# first; TARGETs by name (grpc, pb, ...; default
# all). BUILDDIR is a configured build directory (for config.h and the
# generated protobuf code): -b, else the current directory if it is one,
# else $srcdir/build-fuzz, configured here if needed. Binaries, logs,
# crashes and the work corpora live in BUILDDIR/fuzz/. Each run starts
# from the work corpus and the committed seeds (tests/fuzz/corpus/NAME,
# read only) and writes what it finds to the work corpus; -m merges the
# new interesting inputs into the committed seeds too (then review them).
# Prints per target: executions, exec/s, coverage (cov/ft), crashes.
# MAX_LEN in the environment caps the input size (default 65536).
# Exit status 1 if a target crashed (the input is in BUILDDIR/fuzz/crashes).
set -eu

srcdir=$(cd "$(dirname "$0")/../.." && pwd -P)
all="ipc grpc pb task_up request_json multipart config discover token read_guard apikey usage_scan load"
build=
merge=0
runs=-1
while getopts b:mn: opt; do
	case $opt in
	b) build=$OPTARG ;;
	m) merge=1 ;;
	n) runs=$OPTARG ;;
	*) echo "usage: $0 [-b BUILDDIR] [-m] [-n RUNS] [SECONDS] [TARGET...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
secs=60
if [ $# -gt 0 ] && [ "$1" -eq "$1" ] 2>/dev/null; then
	secs=$1
	shift
fi
targets=${*:-$all}

if [ -z "$build" ]; then
	top=$(sed -n 's/^abs_top_srcdir = //p' Makefile 2>/dev/null || true)
	if [ -f config.h ] && [ -n "$top" ] && [ "$(cd "$top" && pwd -P)" = "$srcdir" ]; then
		build=$(pwd)
	else
		build=$srcdir/build-fuzz
	fi
fi
if [ ! -f "$build/config.h" ]; then
	echo "configuring $build"
	[ -x "$srcdir/configure" ] || (cd "$srcdir" && autoreconf -fi)
	mkdir -p "$build"
	(cd "$build" && "$srcdir/configure" >configure.out)
fi
build=$(cd "$build" && pwd)
make -s -C "$build" proto/tokilake.pb-c.c proto/tokilake.pb-c.h
mkvar() { sed -n "s/^$1 = //p" "$build/Makefile"; }

out=$build/fuzz
mkdir -p "$out/crashes"
CC=${CC:-clang}
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -DTL_LIBFUZZER"
# the path macros the Makefile passes (tl_config.c's defaults use them)
CPPFLAGS="-DSYSCONFDIR=\"/etc\" -DLOCALSTATEDIR=\"/var\" -DRUNSTATEDIR=\"/run\" \
	-DDATADIR=\"/usr/share/tokilake\" \
	-I$build -I$srcdir/src/common -I$build/proto -I$srcdir/tests/fuzz \
	$(mkvar H2O_CFLAGS) $(mkvar YAJL_CFLAGS) $(mkvar CURL_CFLAGS)"
LIBS="$(mkvar PROTOBUFC_LIBS) $(mkvar YAML_LIBS) $(mkvar YAJL_LIBS) $(mkvar OPENSSL_LIBS)"
COMMON="log xmalloc buf grpc_wire task_up_wire pb_arena token ipc yaml_tree cfg_value \
	cfg_table tl_config apikey"

build_target() {
	local t=$1 src extra="" libs=$LIBS
	src="$srcdir/tests/fuzz/fuzz_$t.c $build/proto/tokilake.pb-c.c"
	for c in $COMMON; do src="$src $srcdir/src/common/$c.c"; done
	case $t in
	request_json|multipart)
		src="$src $srcdir/src/worker/request_json.c $srcdir/src/worker/request_multipart.c"
		src="$src $srcdir/src/worker/request_rewrite.c"
		extra="-I$srcdir/src/worker"
		libs="$libs $(mkvar H2O_LIBS)" ;;
	config)
		src="$src $srcdir/src/tokiame/tm_config.c"
		extra="-I$srcdir/src/tokiame" ;;
	discover)
		src="$src $srcdir/src/tokiame/discover_parse.c"
		extra="-I$srcdir/src/tokiame" ;;
	load)
		src="$src $srcdir/src/tokiame/load_parse.c"
		extra="-I$srcdir/src/tokiame" ;;
	usage_scan)
		src="$src $srcdir/src/worker/usage_scan.c $srcdir/src/worker/usage_relay.c"
		extra="-I$srcdir/src/worker" ;;
	read_guard) # includes read_guard.c itself, for its static scan
		src="$src $srcdir/src/worker/framing.c"
		extra="-I$srcdir/src/worker"
		libs="$libs $(mkvar H2O_LIBS)" ;;
	esac
	# shellcheck disable=SC2086
	$CC $CFLAGS $CPPFLAGS $extra $src -o "$out/fuzz_$t" $libs
}

stat_of() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; }

failed=0
printf '%-13s %12s %8s %8s %7s %7s %8s\n' target executions exec/s seconds cov ft crashes
for t in $targets; do
	if [ ! -f "$srcdir/tests/fuzz/fuzz_$t.c" ]; then
		echo "$t: no such target (tests/fuzz/fuzz_$t.c)" >&2
		failed=1
		continue
	fi
	if ! build_target "$t" 2>"$out/$t.build.log"; then
		echo "$t: build failed, see $out/$t.build.log" >&2
		failed=1
		continue
	fi
	work=$out/corpus/$t
	seeds=$srcdir/tests/fuzz/corpus/$t
	mkdir -p "$work" "$out/crashes/$t"
	dirs=$work
	[ -d "$seeds" ] && dirs="$dirs $seeds"
	start=$(date +%s)
	# shellcheck disable=SC2086
	(cd "$out" && nice -n 10 "./fuzz_$t" -max_total_time="$secs" -runs="$runs" -timeout=10 \
		-max_len="${MAX_LEN:-65536}" -print_final_stats=1 -artifact_prefix="$out/crashes/$t/" \
		$dirs >"$out/$t.log" 2>&1) || true
	execs=$(stat_of number_of_executed_units "$out/$t.log")
	rate=$(stat_of average_exec_per_sec "$out/$t.log")
	last=$(grep -E '^#[0-9]+.*cov: ' "$out/$t.log" | tail -1)
	cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
	crashes=$(find "$out/crashes/$t" -type f | wc -l)
	printf '%-13s %12s %8s %8s %7s %7s %8s\n' "$t" "${execs:-?}" "${rate:-?}" \
		"$(($(date +%s) - start))" "${cov:-?}" "${ft:-?}" "$crashes"
	if [ "$crashes" -ne 0 ] || grep -q '^==[0-9]*==ERROR' "$out/$t.log"; then
		echo "$t: crashed, see $out/$t.log and $out/crashes/$t/" >&2
		failed=1
	fi
	if [ "$merge" = 1 ] && [ -d "$seeds" ]; then
		(cd "$out" && "./fuzz_$t" -merge=1 "$seeds" "$work" >"$out/$t.merge.log" 2>&1) ||
			echo "$t: merge failed, see $out/$t.merge.log" >&2
	fi
done
exit $failed
