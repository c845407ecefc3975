#!/usr/bin/env bash
# ctl-json: every --json output of tokilakectl is what tokilakectl(8) says,
# in both modes.
#  - standalone (no database; checked before PostgreSQL starts): token new
#    and namespace add print one object {"id":null,"namespace","token",
#    "hash"} and nothing else on stdout (they printed YAML before); the
#    hash is the token's; list commands still need a database (exit 2,
#    stdout empty);
#  - PostgreSQL: token new prints one object with a numeric id; every list
#    (namespace list, token list [NS], agents [NS], models [NS], nodes) is
#    one JSON array of objects, [] when empty; the other commands print
#    their line of text as without --json (the man page says so).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ctl-lib.sh"
ctl_setup
PY=/usr/bin/python3

# is_token_object ID_KIND NS: OUT is one line, one object with exactly the
# keys id (null or int, ID_KIND), namespace NS, token and its hash.
is_token_object()
{
	local hash
	[ "$(printf '%s\n' "$OUT" | wc -l)" = 1 ] || return 1
	"$PY" -c '
import json, re, sys
t = json.loads(sys.argv[1])
assert isinstance(t, dict) and sorted(t) == ["hash", "id", "namespace", "token"], t
assert (t["id"] is None) if sys.argv[2] == "null" else (type(t["id"]) is int and t["id"] > 0), t
assert t["namespace"] == sys.argv[3], t
assert re.fullmatch(r"tlk_[0-9a-f]{64}", t["token"]), t
assert re.fullmatch(r"sha256:[0-9a-f]{64}", t["hash"]), t
print(t["token"])' "$OUT" "$1" "$2" >"$T/token" || return 1
	hash=$("$TOKILAKE" token hash <"$T/token") || return 1
	[[ $OUT == *"\"hash\":\"$hash\""* ]]
}

# is_array: OUT is one JSON array of objects (ROWS = its length).
is_array()
{
	ROWS=$("$PY" -c '
import json, sys
a = json.loads(sys.argv[1])
assert isinstance(a, list) and all(isinstance(r, dict) for r in a), a
print(len(a))' "$OUT") || return 1
}

# -- standalone -------------------------------------------------------------------
ctl -c "$CONF" --json token new lab
[ "$RC" = 0 ] || fail "standalone --json token new: exit $RC: $ERR"
is_token_object null lab || fail "standalone --json token new: not one token object: $OUT"
ctl -c "$CONF" token new lab --label "gpu box" --json
[ "$RC" = 0 ] && is_token_object null lab || fail "standalone token new --label --json: $RC $OUT $ERR"
ctl -c "$CONF" --json namespace add gpu-2
[ "$RC" = 0 ] || fail "standalone --json namespace add: exit $RC: $ERR"
is_token_object null gpu-2 || fail "standalone --json namespace add: not one token object: $OUT"
for cmd in "namespace list" "token list" "agents" "models" "nodes"; do
	ctl -c "$CONF" --json $cmd
	[ "$RC" = 2 ] && [ -z "$OUT" ] || fail "standalone --json $cmd: exit $RC, stdout: $OUT"
done
ctl -c "$CONF" token new lab
[[ $OUT == *"standalone mode"*"tokens: [\"sha256:"* ]] || fail "standalone token new without --json lost its YAML: $OUT"
log "ok: standalone --json token new and namespace add print one object"

# -- PostgreSQL -------------------------------------------------------------------
. "$top_srcdir/tests/integration/pg-lib.sh"
pg_setup
ctl_ok --json db migrate
must_contain "$OUT" "^applied " "--json db migrate"
ctl_ok --json namespace add lab
must_contain "$OUT" "^namespace lab added" "--json namespace add"
for cmd in "namespace list" "token list" "token list lab" "agents" "agents lab" "models" \
    "models lab" "nodes"; do
	ctl_ok --json $cmd
	is_array || fail "--json $cmd: not one array of objects: $OUT"
	case $cmd in
	"namespace list") [ "$ROWS" = 1 ] || fail "--json namespace list: $ROWS rows: $OUT" ;;
	*) [ "$OUT" = "[]" ] || fail "--json $cmd: expected [], got: $OUT" ;;
	esac
done
ctl_ok --json token new lab --label json
is_token_object int lab || fail "--json token new: not one token object: $OUT"
ctl_ok --json token list lab
is_array && [ "$ROWS" = 1 ] || fail "--json token list lab after token new: $OUT"
ctl_ok --json token revoke 1
must_contain "$OUT" "^token 1 of namespace lab revoked" "--json token revoke"
ctl_ok --json namespace disable lab
ctl_ok --json namespace enable lab
log "ok: --json lists are arrays, token new one object, other commands text"
pass "every --json output is the one tokilakectl(8) describes"
