#!/usr/bin/env bash
# ctl-papercuts: what a new user following the README meets (issue 13).
#  - `tokilakectl db migrate` from the build tree, with neither --dir nor
#    TOKILAKE_SQL_DIR, finds the source tree's sql/ and applies it;
#  - a copy of the binary elsewhere (an installation without the schema)
#    says where the schema is looked for and how to name it, exit 1 (the
#    documented code for "the database or the installation failed"; 2 is
#    for a bad command line);
#  - `token new --json` prints one object, as tokilakectl(8) says.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ctl-lib.sh"
ctl_setup pg
unset TOKILAKE_SQL_DIR

# -- db migrate from the build tree ------------------------------------------
ctl_ok db migrate
# every migration of the source tree, in order
want=$(for f in "$top_srcdir"/sql/[0-9]*.sql; do f=${f##*/}; echo "applied ${f%.sql}"; done)
[ "$OUT" = "$want" ] || fail "migrate from the build tree printed: $OUT (want: $want)"
log "ok: db migrate from the build tree: $OUT"

# -- elsewhere, no schema: say where and how, exit 1 -------------------------
mkdir -p "$T/bin"
cp "$CTL" "$T/bin/tokilakectl"
CTL=$T/bin/tokilakectl ctl -c "$CONF" -d "$(pg_url)" db migrate
if [ "$RC" = 0 ]; then
	log "an installed schema exists: the copy found it; the error is not checked"
else
	CTL=$T/bin/tokilakectl ctl_rc 1 db migrate
	must_contain "$ERR" "cannot open the schema directory .*--dir DIR or TOKILAKE_SQL_DIR" \
	    "db migrate without a schema"
	log "ok: without a schema: exit 1: $ERR"
fi
CTL=$T/bin/tokilakectl TOKILAKE_SQL_DIR=$top_srcdir/sql ctl_ok db migrate
must_contain "$OUT" '^up to date' "db migrate with TOKILAKE_SQL_DIR"

# -- token new --json: one object ---------------------------------------------
ctl_ok namespace add lab
ctl_ok --json token new lab --label papercut
/usr/bin/python3 -c '
import json, sys
t = json.loads(sys.argv[1])
assert isinstance(t, dict), t
assert t["namespace"] == "lab" and t["token"].startswith("tlk_") and t["hash"].startswith("sha256:"), t
' "$OUT" || fail "token new --json: $OUT"
grep -q -- '--json' "$top_builddir/man/tokilakectl.8" || fail "no man/tokilakectl.8 in the build tree"
grep -A8 -- '^\.It Fl -json' "$top_builddir/man/tokilakectl.8" | grep -q 'one object' ||
    fail "tokilakectl(8) does not say token new --json prints one object"
log "ok: token new --json is one object, as tokilakectl(8) says"
pass
