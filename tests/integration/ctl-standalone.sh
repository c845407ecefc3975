#!/usr/bin/env bash
# ctl-standalone: tokilakectl without a database.
#  - token new and namespace add print a token and YAML lines that, pasted
#    into tokilake.yaml, make a valid config holding the token's hash;
#  - every command that needs the database says so, exit 2;
#  - usage and config errors exit 2 with one line; -h and -V work;
#  - DATABASE_URL switches to PostgreSQL mode (an unreachable one: exit 1).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ctl-lib.sh"
ctl_setup

# -- token new: the lines to paste ----------------------------------------------
ctl -c "$CONF" token new lab --label "gpu box 1"
[ "$RC" = 0 ] || fail "standalone token new: exit $RC: $ERR"
printf '%s\n' "$OUT" >"$T/token.yaml"
TOKEN=$(sed -n 's/^#   \(tlk_[0-9a-f]\{64\}\)$/\1/p' "$T/token.yaml")
[ -n "$TOKEN" ] || fail "no token in: $OUT"
HASH=$(echo "$TOKEN" | "$TOKILAKE" token hash)
grep -qF "tokens: [\"$HASH\"]" "$T/token.yaml" || fail "the YAML does not hold the token's hash $HASH: $OUT"
grep -q '^    # gpu box 1$' "$T/token.yaml" || fail "the label is not a comment: $OUT"
must_contain "$OUT" "standalone mode" "token new"
write_config "$T/pasted.yaml" "$(grep -v '^#' "$T/token.yaml")"
"$TOKILAKE" -n -c "$T/pasted.yaml" >"$T/check.log" 2>&1 ||
    fail "the pasted lines do not make a valid config: $(cat "$T/check.log")"
log "ok: token new prints YAML that tokilake -n accepts"

ctl -c "$CONF" namespace add gpu-2
[ "$RC" = 0 ] || fail "standalone namespace add: exit $RC: $ERR"
must_contain "$OUT" "namespace gpu-2 needs a token" "namespace add"
must_contain "$OUT" '^  gpu-2:$' "namespace add"
must_contain "$OUT" '^    tokens: \["sha256:[0-9a-f]{64}"\]$' "namespace add"
write_config "$T/pasted2.yaml" "$(printf '%s\n' "$OUT" | grep -v '^#')"
"$TOKILAKE" -n -c "$T/pasted2.yaml" >"$T/check.log" 2>&1 ||
    fail "namespace add: the pasted lines do not make a valid config: $(cat "$T/check.log")"
log "ok: namespace add prints YAML with a first token"

# -- commands that need a database -----------------------------------------------
for cmd in "namespace list" "namespace disable lab" "token list" "token list lab" \
    "token revoke 1" "agents" "agents lab" "models" "nodes" "db migrate"; do
	ctl -c "$CONF" $cmd
	[ "$RC" = 2 ] || fail "standalone $cmd: exit $RC (want 2): $OUT $ERR"
	[ -z "$OUT" ] || fail "standalone $cmd printed on stdout: $OUT"
	must_contain "$ERR" "^tokilakectl: [a-z ]+ needs a database, and none is configured" "standalone $cmd"
	[ "$(printf '%s\n' "$ERR" | wc -l)" = 1 ] || fail "standalone $cmd: more than one line: $ERR"
done
log "ok: database commands say they need one ($ERR)"

# -- usage and config errors -----------------------------------------------------
for args in "" "frobnicate" "token" "token new" "token new lab extra" "token new Bad" \
    "namespace add a:b" "nodes extra" "db" "db migrate extra" "--frob nodes" \
    "token list --label x" "nodes --dir /tmp" "-d"; do
	ctl -c "$CONF" $args
	[ "$RC" = 2 ] || fail "tokilakectl $args: exit $RC (want 2): $OUT $ERR"
	[ -n "$ERR" ] || fail "tokilakectl $args: nothing on stderr"
done
ctl -c "$T/nonexistent.yaml" token new lab
[ "$RC" = 2 ] && [[ $ERR == *nonexistent.yaml* ]] || fail "missing -c file: exit $RC: $ERR"
echo 'workers: [' >"$T/bad.yaml"
ctl -c "$T/bad.yaml" nodes
[ "$RC" = 2 ] && [[ $ERR == *bad.yaml* ]] || fail "bad config: exit $RC: $ERR"
ctl -h
[ "$RC" = 0 ] && [[ $OUT == usage:* ]] || fail "-h: $RC $OUT"
ctl -V
[ "$RC" = 0 ] && [[ $OUT == "tokilakectl "[0-9]* ]] || fail "-V: $RC $OUT"
log "ok: usage and config errors exit 2"

# -- DATABASE_URL, or a database in the config file, means PostgreSQL mode -------
dead=$(freeport)
DATABASE_URL="postgresql://tltest:pw0rd@127.0.0.1:$dead/tokilake" ctl -c "$CONF" token new lab
[ "$RC" = 1 ] || fail "DATABASE_URL set: exit $RC (want 1, unreachable): $OUT $ERR"
must_contain "$ERR" "cannot connect to the database" "DATABASE_URL"
[[ $OUT$ERR != *pw0rd* ]] || fail "the password was printed"
[ -z "$OUT" ] || fail "a token was printed although it could not be stored: $OUT"
write_config "$T/pg.yaml" "database: { url: \"postgresql://tltest@127.0.0.1:$dead/tokilake\" }
node: { listen: \"127.0.0.1:$(freeport)\", internal_url: \"h2c://127.0.0.1:1\", secret: \"s\" }"
ctl -c "$T/pg.yaml" namespace add lab
[ "$RC" = 1 ] || fail "database.url set: exit $RC (want 1, unreachable): $OUT $ERR"
log "ok: DATABASE_URL and database.url select PostgreSQL mode"

pass "standalone mode"
