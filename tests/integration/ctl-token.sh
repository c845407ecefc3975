#!/usr/bin/env bash
# ctl-token: `tokilakectl token new | list | revoke` on a real PostgreSQL.
#  - a new token is printed once, alone on stdout; only its hash is stored
#    and it is the hash `tokilake token hash` gives; list shows it;
#  - revoke by id or by a hash prefix sets revoked_at; twice is harmless;
#    unknown or ambiguous references fail clearly;
#  - events record token_added and token_revoked.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ctl-lib.sh"
ctl_setup pg
ctl_ok db migrate
ctl_ok namespace add lab
ctl_ok namespace add other

# -- new ---------------------------------------------------------------------
ctl_ok token new lab --label "gpu box 1"
TOKEN=$OUT
[[ $TOKEN =~ ^tlk_[0-9a-f]{64}$ ]] || fail "token new printed: $OUT"
must_contain "$ERR" "shown only this once" "token new note"
HASH=$(echo "$TOKEN" | "$TOKILAKE" token hash) || fail "tokilake token hash failed"
[[ $HASH =~ ^sha256:[0-9a-f]{64}$ ]] || fail "tokilake token hash: $HASH"
[ "$(pgq "SELECT token_hash FROM namespace_tokens WHERE namespace = 'lab'")" = "$HASH" ] ||
    fail "stored hash differs from tokilake token hash: $(pgq 'SELECT * FROM namespace_tokens')"
[ "$(pgq "SELECT count(*) FROM namespace_tokens t, events e WHERE t.token_hash LIKE '%${TOKEN#tlk_}%' OR e.detail LIKE '%${TOKEN#tlk_}%' OR t.label LIKE '%tlk_%'")" = 0 ] ||
    fail "the token itself was stored"
ctl_ok token list
printf '%s\n' "$OUT" | head -n 1 | grep -Eq '^ID +NAMESPACE +LABEL +HASH +CREATED +REVOKED$' ||
    fail "token list header: $OUT"
printf '%s\n' "$OUT" | grep -Eq "^1 +lab +gpu box 1 +$HASH +[0-9-]+ [0-9:+]+ +-$" ||
    fail "token list does not show the hash $HASH: $OUT"
log "ok: token new: only the hash ($HASH) is stored, list shows it"

# a second token for lab, one for other; list filters by namespace
ctl_ok token new lab
TOKEN2=$OUT
[ "$TOKEN2" != "$TOKEN" ] || fail "the same token twice"
ctl_ok --json token new other --label json
/usr/bin/python3 -c '
import json, sys
t = json.loads(sys.argv[1])
assert t["id"] == 3 and t["namespace"] == "other", t
assert t["token"].startswith("tlk_") and len(t["token"]) == 68, t
assert t["hash"].startswith("sha256:") and len(t["hash"]) == 71, t
' "$OUT" || fail "token new --json: $OUT"
HASH3=$(/usr/bin/python3 -c 'import json, sys; print(json.loads(sys.argv[1])["hash"])' "$OUT")
ctl_ok token list lab
[ "$(printf '%s\n' "$OUT" | grep -c '^[0-9]')" = 2 ] || fail "token list lab: $OUT"
ctl_ok --json token list other
[ "$(/usr/bin/python3 -c 'import json, sys; print(len(json.loads(sys.argv[1])))' "$OUT")" = 1 ] ||
    fail "token list other --json: $OUT"
log "ok: several tokens, list by namespace, --json"

# -- new: errors -------------------------------------------------------------
ctl_rc 1 token new nosuch
must_contain "$ERR" "no namespace nosuch" "token new in a missing namespace"
ctl_rc 2 token new Bad
ctl_rc 2 token new lab --label "$(printf 'a\nb')"
ctl_rc 2 token new lab --label "$(printf 'x%.0s' $(seq 1 201))"
ctl_rc 2 token list lab extra
[ "$(pgq 'SELECT count(*) FROM namespace_tokens')" = 3 ] || fail "a refused token new left a row"

# -- revoke ------------------------------------------------------------------
ctl_ok token revoke "${HASH:0:19}"   # "sha256:" + 12 hex digits
must_contain "$OUT" "token 1 of namespace lab revoked" "revoke by hash prefix"
[ "$(pgq 'SELECT revoked_at IS NOT NULL FROM namespace_tokens WHERE id = 1')" = t ] ||
    fail "revoked_at not set"
[ "$(pgq 'SELECT count(*) FROM namespace_tokens WHERE revoked_at IS NOT NULL')" = 1 ] ||
    fail "revoke touched other tokens"
ctl_ok token revoke 1
must_contain "$OUT" "already revoked" "revoke twice"
ctl_ok token revoke "${HASH3:7:10}"   # bare hex, no "sha256:"
must_contain "$OUT" "token 3 of namespace other revoked" "revoke by bare hex prefix"
ctl_ok token revoke 2
must_contain "$OUT" "token 2 of namespace lab revoked" "revoke by id"
ctl_ok token list lab
printf '%s\n' "$OUT" | grep -Eq "^1 +lab +gpu box 1 +$HASH +[0-9-]+ [0-9:+]+ +[0-9]{4}-[0-9-]+ [0-9:+]+$" ||
    fail "token list after revoke: $OUT"
log "ok: revoke by prefix, bare hex and id; twice is harmless"

ctl_rc 1 token revoke 99
must_contain "$ERR" "no token with id 99" "revoke unknown id"
ctl_rc 1 token revoke sha256:0000000000
must_contain "$ERR" "no token has a hash that starts with" "revoke unknown hash"
# two hashes with the same prefix: ambiguous
pgq "INSERT INTO namespace_tokens (namespace, token_hash) VALUES
    ('lab', 'sha256:abcdef01$(printf '0%.0s' $(seq 1 56))'),
    ('lab', 'sha256:abcdef01$(printf '1%.0s' $(seq 1 56))')" >/dev/null
ctl_rc 1 token revoke abcdef01
must_contain "$ERR" "matches several tokens \(ids 4, 5\)" "ambiguous prefix"
for bad in abc sha256: sha256:xyz12345 -1 "1 2" 1234567890123456789; do
	ctl_rc 2 token revoke -- "$bad"
done
[ "$(pgq 'SELECT count(*) FROM namespace_tokens WHERE revoked_at IS NULL')" = 2 ] ||
    fail "a refused revoke changed something"
log "ok: revoke errors"

# -- events ------------------------------------------------------------------
ev=$(pgq "SELECT kind || ' ' || namespace || ' ' || detail FROM events WHERE kind LIKE 'token%' ORDER BY id" | tr '\n' ',')
[ "$ev" = "token_added lab id 1 ${HASH:0:19},token_added lab id 2 $(pgq 'SELECT left(token_hash, 19) FROM namespace_tokens WHERE id = 2'),token_added other id 3 ${HASH3:0:19},token_revoked lab id 1 ${HASH:0:19},token_revoked other id 3 ${HASH3:0:19},token_revoked lab id 2 $(pgq 'SELECT left(token_hash, 19) FROM namespace_tokens WHERE id = 2')," ] ||
    fail "events: $ev"
log "ok: events"

pass "tokens"
