#!/usr/bin/env bash
# ctl-namespace: `tokilakectl namespace add | list | disable` on a real
# PostgreSQL: rows, events, aligned and JSON lists, bad names refused by
# tokilakectl and by the schema's CHECK, exit statuses.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ctl-lib.sh"
ctl_setup pg
ctl_ok db migrate

# -- add -------------------------------------------------------------------
ctl_ok namespace add lab
must_contain "$OUT" "namespace lab added" "namespace add"
ctl_ok namespace add us-1.gpu_2
[ "$(pgq 'SELECT name FROM namespaces ORDER BY name' | tr '\n' ' ')" = "lab us-1.gpu_2 " ] ||
    fail "namespaces: $(pgq 'SELECT * FROM namespaces')"
ctl_rc 1 namespace add lab
must_contain "$ERR" "namespace lab already exists" "duplicate add"
log "ok: add"

# -- bad names: tokilakectl says why, exit 2; the database refuses too -----
long=$(printf 'a%.0s' $(seq 1 64))
for bad in Lab "-lab" ".lab" "a:b" "a b" "lab/x" "$long" "é"; do
	ctl_rc 2 namespace add -- "$bad"
	must_contain "$ERR" "bad namespace name" "namespace add '$bad'"
done
ctl_ok namespace add "${long:1}"   # 63 characters is fine
for bad in Lab "-lab" "a:b" "$long" ""; do
	if psql -X -qAt -d "$(pg_url)" -c "INSERT INTO namespaces (name) VALUES ('$bad')" \
	    >"$T/psql.out" 2>&1; then
		fail "the schema accepted namespace name '$bad'"
	fi
	grep -q namespace_name_valid "$T/psql.out" || fail "'$bad' refused, but why: $(cat "$T/psql.out")"
done
log "ok: bad names refused by tokilakectl (exit 2) and by the CHECK constraint"

# -- list --------------------------------------------------------------------
ctl_ok namespace list
printf '%s\n' "$OUT" >"$T/list.txt"
head -n 1 "$T/list.txt" | grep -Eq '^NAME +CREATED +DISABLED +TOKENS +AGENTS$' ||
    fail "list header: $(head -n 1 "$T/list.txt")"
[ "$(grep -c . "$T/list.txt")" = 4 ] || fail "list rows: $OUT"
grep -Eq '^lab +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}[+-][0-9]{2} +- +0 +0$' "$T/list.txt" ||
    fail "list row of lab: $OUT"
# aligned: every row starts its second column where the header does
col=$(head -n 1 "$T/list.txt" | awk '{ print index($0, "CREATED") }')
awk -v c="$col" 'NR > 1 && substr($0, c - 2, 3) !~ /^  [0-9]$/ { bad = 1 } END { exit bad }' "$T/list.txt" ||
    fail "columns not aligned: $OUT"
ctl_ok --json namespace list
/usr/bin/python3 -c '
import json, sys
rows = json.loads(sys.argv[1])
assert [r["name"] for r in rows][:2] == ["a" * 63, "lab"], rows
assert rows[1]["disabled"] is None and rows[1]["tokens"] == 0, rows[1]
' "$OUT" || fail "namespace list --json: $OUT"
log "ok: list, aligned and --json"

# -- disable -------------------------------------------------------------------
ctl_ok token new lab --label before
ctl_ok namespace disable lab
must_contain "$OUT" "namespace lab disabled" "disable"
[ "$(pgq "SELECT disabled_at IS NOT NULL FROM namespaces WHERE name = 'lab'")" = t ] || fail "disabled_at not set"
ctl_ok namespace disable lab
must_contain "$OUT" "already disabled" "disable twice"
ctl_rc 1 namespace disable nosuch
must_contain "$ERR" "no namespace nosuch" "disable unknown"
ctl_rc 1 token new lab
must_contain "$ERR" "namespace lab is disabled" "token new in a disabled namespace"
ctl_rc 1 namespace add lab
must_contain "$ERR" "already exists, disabled since" "add a disabled namespace"
ctl_ok namespace list
printf '%s\n' "$OUT" | grep -Eq '^lab +[0-9-]+ [0-9:+]+ +[0-9]{4}-[0-9-]+ [0-9:+]+ +1 +0$' ||
    fail "list after disable: $OUT"
log "ok: disable"

# -- enable ----------------------------------------------------------------------
ctl_ok namespace enable lab
must_contain "$OUT" "namespace lab enabled" "enable"
[ "$(pgq "SELECT disabled_at IS NULL FROM namespaces WHERE name = 'lab'")" = t ] || fail "disabled_at still set"
ctl_ok namespace enable lab
must_contain "$OUT" "was not disabled" "enable twice"
ctl_rc 1 namespace enable nosuch
must_contain "$ERR" "no namespace nosuch" "enable unknown"
ctl_ok token new lab --label after
log "ok: enable"

# -- events ----------------------------------------------------------------------
ev=$(pgq "SELECT kind || ' ' || namespace FROM events ORDER BY id" | tr '\n' ',')
[ "$ev" = "namespace_added lab,namespace_added us-1.gpu_2,namespace_added ${long:1},token_added lab,namespace_disabled lab,namespace_enabled lab,token_added lab," ] ||
    fail "events: $ev"
log "ok: events"

# -- usage -----------------------------------------------------------------------
ctl_rc 2 namespace
ctl_rc 2 namespace add
ctl_rc 2 namespace frobnicate lab
ctl_rc 2 namespace list extra
ctl_rc 2 namespace add lab --label x
log "ok: usage errors exit 2"

pass "namespaces"
