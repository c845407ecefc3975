# ctl-lib.sh: helpers for the tokilakectl tests (sourced after lib.sh).
#
# The tests run the built tokilakectl against the migrations of the
# source tree (TOKILAKE_SQL_DIR), never against /etc/tokilake or a
# DATABASE_URL of the environment.

CTL=${TOKILAKECTL:-$top_builddir/tokilakectl}
export TOKILAKE_SQL_DIR=$top_srcdir/sql
unset DATABASE_URL

# ctl_setup [pg]: tl_setup, a standalone config in $T/standalone.yaml
# (CONF), and with "pg" a throwaway PostgreSQL (pg-lib.sh).
ctl_setup()
{
	[ -x "$CTL" ] || fail "no tokilakectl binary at $CTL"
	tl_setup
	CONF=$T/standalone.yaml
	write_config "$CONF"
	if [ "${1:-}" = pg ]; then
		. "$top_srcdir/tests/integration/pg-lib.sh"
		pg_setup
	fi
}

# ctl ARGS...: run tokilakectl; sets RC, OUT (stdout) and ERR (stderr).
ctl()
{
	"$CTL" "$@" >"$T/ctl.out" 2>"$T/ctl.err" </dev/null
	RC=$?
	OUT=$(cat "$T/ctl.out")
	ERR=$(cat "$T/ctl.err")
	return 0
}

# ctl_ok ARGS...: run it against the test database; it must succeed.
ctl_ok()
{
	ctl -c "$CONF" -d "$(pg_url)" "$@"
	[ "$RC" = 0 ] || fail "tokilakectl $*: exit $RC, stderr: $ERR, stdout: $OUT"
}

# ctl_rc WANT ARGS...: run it against the test database; exit status WANT
# and, when it fails, one line on stderr.
ctl_rc()
{
	local want=$1
	shift
	ctl -c "$CONF" -d "$(pg_url)" "$@"
	[ "$RC" = "$want" ] || fail "tokilakectl $*: expected exit $want, got $RC, stderr: $ERR, stdout: $OUT"
	if [ "$want" != 0 ]; then
		[ "$(printf '%s\n' "$ERR" | grep -c .)" = 1 ] ||
		    fail "tokilakectl $*: expected one line on stderr, got: $ERR"
		[[ $ERR == tokilakectl:* || $ERR == "usage: tokilakectl "* ]] ||
		    fail "tokilakectl $*: stderr not prefixed: $ERR"
	fi
}

# must_contain TEXT PATTERN WHAT: TEXT matches the ERE PATTERN.
must_contain()
{
	grep -Eq -- "$2" <<<"$1" || fail "$3: expected /$2/ in: $1"
}
