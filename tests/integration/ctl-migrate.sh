#!/usr/bin/env bash
# ctl-migrate: `tokilakectl db migrate` on a real PostgreSQL.
#  - before it, commands fail with a hint to run it;
#  - applies every migration of sql/ once; a second run says "up to date"; one row in
#    schema_migrations; the tables of the contract exist;
#  - two migrators started at once on a fresh database: both succeed, the
#    schema is applied once (advisory lock);
#  - a broken migration is rolled back whole and named file:line; after
#    the fix it applies;
#  - the database comes from -d, from database.url of the config, or from
#    DATABASE_URL; an unreachable one is exit 1 without the password.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ctl-lib.sh"
ctl_setup pg

# -- before: a clear hint ---------------------------------------------------
ctl_rc 1 namespace list
must_contain "$ERR" 'relation "namespaces" does not exist \(has "tokilakectl db migrate" been run' "unmigrated database"

# -- twice ---------------------------------------------------------------
# every NNN_name.sql of the source tree, in order (other issues add some)
ALL=$(for f in "$top_srcdir"/sql/[0-9][0-9][0-9]_*.sql; do f=${f##*/}; echo "applied ${f%.sql}"; done)
NMIG=$(printf '%s\n' "$ALL" | wc -l)
ctl_ok db migrate
[ "$OUT" = "$ALL" ] || fail "first migrate printed: $OUT"
ctl_ok db migrate
must_contain "$OUT" '^up to date' "second migrate"
[ "$(pgq 'SELECT count(*) FROM schema_migrations')" = "$NMIG" ] || fail "schema_migrations: $(pgq 'SELECT * FROM schema_migrations')"
[ "$(pgq 'SELECT version, name FROM schema_migrations ORDER BY version LIMIT 1')" = "1|001_initial" ] ||
    fail "schema_migrations row: $(pgq 'SELECT * FROM schema_migrations')"
tables=$(pgq "SELECT string_agg(table_name, ' ' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'public'")
[ "$tables" = "agent_models agents api_keys events key_load namespace_tokens namespaces nodes schema_migrations usage_rollups" ] ||
    fail "tables: $tables"
log "ok: migrate twice; tables: $tables"

# -- the URL from the config file, then from DATABASE_URL ----------------
pgq 'CREATE DATABASE viaconf' >/dev/null
pgq 'CREATE DATABASE viaenv' >/dev/null
url=$(pg_url)
write_config "$T/pg.yaml" "database: { url: \"${url%/tokilake}/viaconf\" }
node: { listen: \"127.0.0.1:$(freeport)\", internal_url: \"h2c://127.0.0.1:1\", secret: \"test-secret\" }"
ctl -c "$T/pg.yaml" db migrate
[ "$RC" = 0 ] && [ "$OUT" = "$ALL" ] || fail "migrate with database.url: exit $RC: $OUT $ERR"
DATABASE_URL=${url%/tokilake}/viaenv ctl -c "$CONF" db migrate
[ "$RC" = 0 ] && [ "$OUT" = "$ALL" ] || fail "migrate with DATABASE_URL: exit $RC: $OUT $ERR"
# -d wins over the config file
ctl -c "$T/pg.yaml" -d "$url" db migrate
[ "$RC" = 0 ] && [[ $OUT == "up to date"* ]] || fail "migrate with -d over the config: exit $RC: $OUT $ERR"
log "ok: database from the config, DATABASE_URL and -d"

# -- two migrators at once -------------------------------------------------
pgq 'CREATE DATABASE race' >/dev/null
for i in 1 2 3; do
	"$CTL" -c "$CONF" -d "${url%/tokilake}/race" db migrate >"$T/race.$i.out" 2>"$T/race.$i.err" &
	pids[$i]=$!
done
for i in 1 2 3; do
	wait "${pids[$i]}" || fail "concurrent migrator $i failed: $(cat "$T/race.$i.err")"
done
# each migration is applied by one of them (which one is a race: one may
# apply 001 while another, having waited, applies 002)
applied=$(cat "$T"/race.*.out | grep '^applied ' | sort)
[ "$applied" = "$(printf '%s\n' "$ALL" | sort)" ] || fail "3 migrators at once: $(cat "$T"/race.*.out)"
[ "$(psql -X -qAt -d "${url%/tokilake}/race" -c 'SELECT count(*) FROM schema_migrations')" = "$NMIG" ] ||
    fail "race: schema_migrations rows"
log "ok: 3 migrators at once, applied once"

# -- a broken migration ----------------------------------------------------
mkdir "$T/sql"
cp "$top_srcdir"/sql/[0-9][0-9][0-9]_*.sql "$T/sql/"
LAST=$(pgq 'SELECT max(version) FROM schema_migrations')
printf -- '-- 099: broken\nCREATE TABLE extra (a int);\n\nCREATE TABLE oops (;\n' >"$T/sql/099_extra.sql"
echo 'not a migration' >"$T/sql/README"
ctl_rc 1 db migrate --dir "$T/sql"
must_contain "$ERR" "099_extra.sql:4: syntax error" "broken migration"
[ "$(pgq "SELECT count(*) FROM information_schema.tables WHERE table_name = 'extra'")" = 0 ] ||
    fail "the broken migration was not rolled back whole"
[ "$(pgq 'SELECT max(version) FROM schema_migrations')" = "$LAST" ] || fail "the broken migration was recorded"
printf -- '-- 099: fixed\nCREATE TABLE extra (a int);\n' >"$T/sql/099_extra.sql"
ctl_ok db migrate --dir "$T/sql"
[ "$OUT" = "applied 099_extra" ] || fail "fixed migration: $OUT"
# the installed files are now older than the database: a warning, exit 0
ctl_ok db migrate
must_contain "$ERR" "warning: the database has schema version 99" "older files"
log "ok: broken migration rolled back and named; fixed one applied"

# -- errors ----------------------------------------------------------------
mkdir "$T/empty"
ctl_rc 1 db migrate --dir "$T/empty"
must_contain "$ERR" "no migration" "empty dir"
ctl_rc 1 db migrate --dir "$T/nonexistent"
dead=$(freeport)
ctl -c "$CONF" -d "postgresql://tltest:s3cr3tpw@127.0.0.1:$dead/tokilake" db migrate
[ "$RC" = 1 ] || fail "unreachable database: exit $RC"
must_contain "$ERR" "^tokilakectl: cannot connect to the database: " "unreachable database"
[[ $ERR$OUT != *s3cr3tpw* ]] || fail "the password was printed: $ERR"
[ "$(printf '%s\n' "$ERR" | wc -l)" = 1 ] || fail "unreachable: more than one line: $ERR"
ctl -c "$CONF" db migrate
[ "$RC" = 2 ] || fail "migrate without a database: exit $RC"
must_contain "$ERR" "needs a database" "standalone migrate"
log "ok: errors ($ERR)"

pass "migrations"
