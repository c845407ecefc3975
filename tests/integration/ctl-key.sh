#!/usr/bin/env bash
# ctl-key: `tokilakectl key new | list | show | set | disable | enable |
# revoke` on a real PostgreSQL (issue 14).
#  - a new key ("sk-tlk-" + 64 hex) is printed once, alone on stdout (or in
#    the --json object); only its hash is stored;
#  - list and show (text and --json) show the settings and the state;
#  - set changes only what it is given (--allow replaces the list);
#  - disable, enable, revoke; twice is harmless; a revoked key cannot be
#    changed; names are never reused;
#  - bad input is exit 2 with one line, an unknown key exit 1;
#  - standalone mode: key new prints the key and the lines for keys: (with
#    --json the object of PostgreSQL mode, id null).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ctl-lib.sh"
ctl_setup pg
ctl_ok db migrate
PY=/usr/bin/python3
jget() { "$PY" -c 'import json, sys; v = json.loads(sys.argv[1]); print(eval(sys.argv[2], {"v": v}))' "$1" "$2"; }

# -- new -----------------------------------------------------------------------
ctl_ok key new alice --owner "alice@example.org" --allow 'lab:*' --allow '*:llama3*' \
    --rpm 600 --tpm 100000 --max-in-flight 4 --tokens-per-month 2000000 --expires 2030-06-30
KEY=$OUT
[[ $KEY =~ ^sk-tlk-[0-9a-f]{64}$ ]] || fail "key new printed: $OUT"
must_contain "$ERR" "shown only this once" "key new note"
HASH=$(printf '%s' "$KEY" | sha256sum | cut -d' ' -f1)
[ "$(pgq "SELECT hash FROM api_keys WHERE name = 'alice'")" = "sha256:$HASH" ] ||
    fail "stored hash is not sha256 of the key: $(pgq 'SELECT * FROM api_keys')"
[ "$(pgq "SELECT count(*) FROM api_keys k, events e WHERE k.hash LIKE '%${KEY#sk-tlk-}%' OR e.detail LIKE '%${KEY#sk-tlk-}%'")" = 0 ] ||
    fail "the key itself was stored"
[ "$(pgq "SELECT owner, allow, rpm, tpm, max_in_flight, tokens_per_day, tokens_per_month, expires_at AT TIME ZONE 'UTC', disabled, revoked_at IS NULL FROM api_keys WHERE name = 'alice'")" = \
    'alice@example.org|{lab:*,*:llama3*}|600|100000|4|0|2000000|2030-06-30 00:00:00|f|t' ] ||
    fail "alice's row: $(pgq "SELECT * FROM api_keys WHERE name = 'alice'")"
ctl_ok --json key new bob --expires 30d
[ "$(jget "$OUT" 'v["name"] + " " + str(v["id"]) + " " + str(v["key"].startswith("sk-tlk-") and len(v["key"]) == 71) + " " + str(len(v["hash"]))')" = "bob 2 True 71" ] ||
    fail "key new --json: $OUT"
BOBKEY=$(jget "$OUT" 'v["key"]')
[ "$(pgq "SELECT allow, rpm, expires_at BETWEEN now() + interval '29 days 23 hours' AND now() + interval '30 days 1 hour' FROM api_keys WHERE name = 'bob'")" = '{*}|0|t' ] ||
    fail "bob's defaults: $(pgq "SELECT * FROM api_keys WHERE name = 'bob'")"
[ "$BOBKEY" != "$KEY" ] || fail "the same key twice"
log "ok: key new (text, --json), only the hash stored"

# -- list and show -----------------------------------------------------------
ctl_ok key list
printf '%s\n' "$OUT" | head -n 1 | grep -Eq '^ID +NAME +OWNER +ALLOW +RPM +TPM +MAX_IN_FLIGHT +TOKENS_PER_DAY +TOKENS_PER_MONTH +EXPIRES +STATE +CREATED +REVOKED$' ||
    fail "key list header: $OUT"
printf '%s\n' "$OUT" | grep -Eq '^1 +alice +alice@example.org +lab:\* \*:llama3\* +600 +100000 +4 +0 +2000000 +2030-06-30 .* active ' ||
    fail "key list alice: $OUT"
ctl_ok --json key list
[ "$(jget "$OUT" '[(k["name"], k["allow"], k["state"]) for k in v]')" = "[('alice', ['lab:*', '*:llama3*'], 'active'), ('bob', ['*'], 'active')]" ] ||
    fail "key list --json: $OUT"
ctl_ok key show alice
must_contain "$OUT" '^rpm +600$' "key show rpm"
must_contain "$OUT" '^allow +lab:\* \*:llama3\*$' "key show allow"
ctl_ok --json key show alice
[ "$(jget "$OUT" '(v["name"], v["owner"], v["rpm"], v["tokens_per_month"], v["state"])')" = "('alice', 'alice@example.org', 600, 2000000, 'active')" ] ||
    fail "key show --json: $OUT"
log "ok: list and show, text and --json"

# -- set ---------------------------------------------------------------------
ctl_ok key set alice --rpm 0 --allow 'other:*' --expires never
must_contain "$OUT" "key alice changed" "key set"
[ "$(pgq "SELECT owner, allow, rpm, tpm, expires_at IS NULL FROM api_keys WHERE name = 'alice'")" = 'alice@example.org|{other:*}|0|100000|t' ] ||
    fail "after key set: $(pgq "SELECT * FROM api_keys WHERE name = 'alice'")"
ctl_ok key set alice --owner ""
[ "$(pgq "SELECT owner FROM api_keys WHERE name = 'alice'")" = '' ] || fail "key set --owner ''"
ctl_rc 2 key set alice
ctl_rc 1 key set nosuch --rpm 1
must_contain "$ERR" "no key named nosuch" "set unknown"
log "ok: set changes what it is given"

# -- disable, enable, revoke -----------------------------------------------
ctl_ok key disable alice
must_contain "$OUT" "key alice disabled" "disable"
[ "$(pgq "SELECT disabled FROM api_keys WHERE name = 'alice'")" = t ] || fail "not disabled"
ctl_ok key disable alice
must_contain "$OUT" "already disabled" "disable twice"
ctl_ok --json key show alice
[ "$(jget "$OUT" 'v["state"]')" = disabled ] || fail "state after disable: $OUT"
ctl_ok key enable alice
[ "$(pgq "SELECT disabled FROM api_keys WHERE name = 'alice'")" = f ] || fail "not enabled"
ctl_ok key enable alice
must_contain "$OUT" "already enabled" "enable twice"
ctl_ok key revoke bob
must_contain "$OUT" "key bob revoked" "revoke"
[ "$(pgq "SELECT revoked_at IS NOT NULL FROM api_keys WHERE name = 'bob'")" = t ] || fail "not revoked"
ctl_ok key revoke bob
must_contain "$OUT" "already revoked" "revoke twice"
ctl_rc 1 key enable bob
must_contain "$ERR" "key bob is revoked" "enable a revoked key"
ctl_rc 1 key set bob --rpm 5
ctl_rc 1 key new bob
must_contain "$ERR" "a key named bob exists already" "a name is not reused"
ctl_ok --json key list
[ "$(jget "$OUT" '[(k["name"], k["state"]) for k in v]')" = "[('alice', 'active'), ('bob', 'revoked')]" ] ||
    fail "states: $OUT"
for sub in revoke disable enable show; do
	ctl_rc 1 key $sub nosuch
	must_contain "$ERR" "no key named nosuch" "$sub unknown"
done
log "ok: disable, enable, revoke"

# -- bad input ---------------------------------------------------------------
ctl_rc 2 key new 'bad/name'
ctl_rc 2 key new "$(printf 'x%.0s' $(seq 1 65))"
ctl_rc 2 key new c --rpm -1
ctl_rc 2 key new c --rpm 2147483648
ctl_rc 2 key new c --tpm abc
ctl_rc 2 key new c --expires tomorrow
ctl_rc 2 key new c --expires 2027-02-30
ctl_rc 2 key new c --owner "$(printf 'a\nb')"
ctl_rc 2 key new c --allow ''
ctl_rc 2 key new c --allow 'lab: x'
ctl_rc 2 key new c $(for i in $(seq 1 65); do printf -- '--allow p%d ' "$i"; done)
ctl_rc 2 key list --rpm 5
ctl_rc 2 key revoke alice --owner x
ctl_rc 2 namespace list --rpm 5
ctl_rc 2 key
ctl_rc 2 key frob alice
[ "$(pgq 'SELECT count(*) FROM api_keys')" = 2 ] || fail "a refused command left a row"
log "ok: bad input is exit 2, nothing written"

# -- events ------------------------------------------------------------------
ev=$(pgq "SELECT kind || ' ' || detail FROM events WHERE kind LIKE 'key%' ORDER BY id" | tr '\n' ',')
[ "$ev" = "key_added key alice,key_added key bob,key_changed key alice,key_changed key alice,key_disabled key alice,key_enabled key alice,key_revoked key bob," ] ||
    fail "events: $ev"
log "ok: events"

# -- standalone --------------------------------------------------------------
ctl -c "$CONF" key new carol --owner 'c "q"' --allow 'lab:*' --rpm 10 --expires 2031-01-02
[ "$RC" = 0 ] || fail "standalone key new: $RC $ERR"
SKEY=$(printf '%s\n' "$OUT" | sed -n 's/^#   \(sk-tlk-[0-9a-f]*\)$/\1/p')
[[ $SKEY =~ ^sk-tlk-[0-9a-f]{64}$ ]] || fail "standalone key: $OUT"
SHASH=$(printf '%s' "$SKEY" | sha256sum | cut -d' ' -f1)
want="keys:
  carol:
    hash: \"sha256:$SHASH\"
    owner: \"c \\\"q\\\"\"
    allow: [\"lab:*\"]
    rpm: 10
    expires: \"2031-01-02T00:00:00Z\""
[ "$(printf '%s\n' "$OUT" | grep -v '^#')" = "$want" ] || fail "standalone YAML: $OUT"
# the lines pasted into the config make a valid one
cp "$CONF" "$T/with-key.yaml"
printf '%s\n' "$OUT" >>"$T/with-key.yaml"
"$TOKILAKE" -n -c "$T/with-key.yaml" >"$T/n.out" 2>&1 || fail "tokilake -n with the pasted lines: $(cat "$T/n.out")"
ctl -c "$CONF" --json key new dave
[ "$RC" = 0 ] || fail "standalone key new --json: $RC $ERR"
[ "$(jget "$OUT" '(v["id"], v["name"], len(v["key"]), v["hash"].startswith("sha256:"), sorted(v))')" = \
    "(None, 'dave', 71, True, ['hash', 'id', 'key', 'name'])" ] || fail "standalone key new --json: $OUT"
[ "$(printf '%s' "$(jget "$OUT" 'v["key"]')" | sha256sum | cut -d' ' -f1)" = "$(jget "$OUT" 'v["hash"][7:]')" ] ||
    fail "standalone key new --json: the hash is not the key's"
for sub in list "show carol" "revoke carol" "disable carol" "enable carol" "set carol --rpm 1"; do
	ctl -c "$CONF" key $sub
	[ "$RC" = 2 ] || fail "standalone key $sub: exit $RC"
	must_contain "$ERR" "needs a database.*keys: in tokilake.yaml" "standalone key $sub"
done
log "ok: standalone"

pass "keys"
