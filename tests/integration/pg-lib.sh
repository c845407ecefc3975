# pg-lib.sh: a throwaway PostgreSQL cluster for one test (sourced after
# lib.sh and tl_setup, bash).
#
# pg_setup runs initdb in $T/pg with Debian's newest server binaries and
# starts the server on a free loopback port with its socket in $T/pg
# (fsync off: the data dies with the test). PostgreSQL refuses to run as
# root, so when the suite runs as root the cluster belongs to the user
# tltest (tests/run.sh creates it; a root `make check` by hand creates it
# too, or uses Debian's postgres user); otherwise it runs as the current
# user. Either way its superuser is called tltest and trusts every local
# connection: pg_url is postgresql://tltest@127.0.0.1:PORT/tokilake.
#
#   pg_setup       initdb, start, create the database tokilake
#   pg_stop        stop (the data stays), e.g. to test a database outage
#   pg_start       start again on the same port
#   pg_restart     both
#   pg_url         print the URL of the database tokilake
#   pgq SQL        run SQL with psql, print the rows (unaligned, | between
#                  columns); fails the test on an SQL error
#   pg_cleanup     stop at once; runs by itself before the test's processes
#                  are killed (pass, fail, any exit)
#
# A missing PostgreSQL fails the test (tests/deps.txt lists postgresql for
# the test suite): a network test that skips would hide a broken setup.

PG_BIN=
PG_DIR=
PG_PORT=
PG_RUNNING=0
PG_AS=()   # the command prefix that runs a server binary as the cluster's owner

# pg_os_user: the unprivileged user a root test suite runs PostgreSQL as:
# tltest (tests/run.sh creates it); else one made now, for a `make check`
# run by hand as root right after a build; else Debian's postgres user.
pg_os_user()
{
	local u
	id tltest >/dev/null 2>&1 ||
	    useradd -r -M -s /usr/sbin/nologin tltest >/dev/null 2>&1 ||
	    id tltest >/dev/null 2>&1 # another test made it meanwhile
	for u in tltest postgres; do
		if id "$u" >/dev/null 2>&1 && runuser -u "$u" -- test -x "$PG_BIN/postgres" 2>/dev/null; then
			echo "$u"
			return 0
		fi
	done
	return 1
}

# pg_setup: everything a test needs, or fail.
pg_setup()
{
	local owner
	[ -n "$T" ] || fail "pg_setup: call tl_setup first"
	PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] ||
	    fail "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin: install the Debian package postgresql (see tests/deps.txt)"
	command -v psql >/dev/null ||
	    fail "psql not found: install the Debian package postgresql-client"
	PG_DIR=$T/pg
	mkdir -p "$PG_DIR" || fail "cannot create $PG_DIR"
	if [ "$(id -u)" -eq 0 ]; then
		owner=$(pg_os_user) ||
		    skip "PostgreSQL cannot run as root, and no unprivileged user can run $PG_BIN/postgres here (tltest and postgres are missing and useradd failed, or they cannot reach it: / is mode $(stat -c %a /); tests/run.sh fixes both)"
		command -v runuser >/dev/null || fail "runuser not found (util-linux)"
		# the owner must reach $T/pg; $T itself stays closed to listing
		chmod 711 "$T" || fail "cannot chmod $T"
		chown "$owner": "$PG_DIR" || fail "cannot chown $PG_DIR to $owner"
		PG_AS=(runuser -u "$owner" --)
	else
		PG_AS=()
		owner=$(id -un)
	fi
	PG_PORT=$(freeport)
	# lib.sh shows $T/*.log when a test fails
	ln -sf "$PG_DIR/postgres.log" "$T/postgres.log"
	(cd "$PG_DIR" && "${PG_AS[@]}" "$PG_BIN/initdb" -A trust -U tltest -E UTF8 \
	    --locale=C -D "$PG_DIR/data") >"$T/initdb.log" 2>&1 ||
	    fail "initdb as $owner failed (log above)"
	pg_start
	psql -X -q -v ON_ERROR_STOP=1 -d "postgresql://tltest@127.0.0.1:$PG_PORT/postgres" \
	    -c 'CREATE DATABASE tokilake' >>"$T/initdb.log" 2>&1 ||
	    fail "cannot create the database tokilake"
	log "PostgreSQL $(basename "$(dirname "$PG_BIN")") on 127.0.0.1:$PG_PORT, owned by $owner, in $PG_DIR"
}

# pg_start: start the cluster (after pg_setup, or again after pg_stop).
pg_start()
{
	(cd "$PG_DIR" && "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" \
	    -w -t 30 -o "-k $PG_DIR -c listen_addresses=127.0.0.1 -p $PG_PORT -c fsync=off" \
	    start) >>"$T/pg_ctl.log" 2>&1 || fail "PostgreSQL did not start on port $PG_PORT"
	PG_RUNNING=1
}

# pg_stop: a fast shutdown (sessions are cut); the data stays.
pg_stop()
{
	(cd "$PG_DIR" && "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop) \
	    >>"$T/pg_ctl.log" 2>&1 || fail "PostgreSQL did not stop"
	PG_RUNNING=0
}

pg_restart() { pg_stop; pg_start; }

pg_url() { echo "postgresql://tltest@127.0.0.1:$PG_PORT/tokilake"; }

# pgq SQL: the rows, unaligned and without headers.
pgq()
{
	local out
	out=$(psql -X -qAt -v ON_ERROR_STOP=1 -d "$(pg_url)" -c "$1" 2>&1) ||
	    fail "psql: $1: $out"
	printf '%s\n' "$out"
}

# pg_cleanup: stop the server at once (no checkpoint: the data is thrown
# away). Safe to call twice; never fails.
pg_cleanup()
{
	[ "$PG_RUNNING" = 1 ] || return 0
	PG_RUNNING=0
	(cd "$PG_DIR" && "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 30 \
	    stop) >>"$T/pg_ctl.log" 2>&1
	return 0
}

# lib.sh kills every process of the test (postgres too: its command line
# holds $T) in tl_kill_all, on pass and on exit. A postmaster killed with
# SIGKILL leaves its shared memory behind, so stop it properly first.
eval "pg_orig_$(declare -f tl_kill_all)"
tl_kill_all()
{
	pg_cleanup
	pg_orig_tl_kill_all
}
