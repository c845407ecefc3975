#!/bin/bash
# pg-keys.sh: end-user API keys in PostgreSQL mode (issue 14): two nodes,
# one PostgreSQL, the agent (tokiame + the mock) linked to node b.
#
#   - keys made by tokilakectl work on both nodes (a forwards to b); with
#     keys in the database a request without one is 401 missing_api_key;
#   - key disable: 403 key_disabled on both nodes, key enable: 200 again,
#     key revoke: 401 invalid_api_key; each change is seen on both nodes
#     within 1 s of tokilakectl returning (times printed);
#   - 60 keys of 64 long patterns each (about 1 MiB: several KEYS frames)
#     all reach the workers; a key whose pattern is too long for any
#     worker is left out with a warning, the others still work;
#   - node a reloaded (SIGHUP): its new workers get the keys too;
#   - every key revoked: both (loopback-only) nodes still answer 401 to a
#     request without a key and to the revoked key, never 200: a network
#     whose operator ever made a key does not fall open;
#   - the workers of node b killed: the master respawns them and they get
#     the keys again (a kept key 200, the revoked one 401, never 503 for
#     long);
#   - a node whose database is unreachable has no keys yet: 503
#     (node_unavailable, or keys_not_loaded once it has the rest), not 401
#     (the key may well be valid);
#   - a database not migrated to 003 (no table api_keys): the node says so
#     once and serves as before keys existed (loopback, anonymous), never
#     503 for ever.
. "$(dirname "$0")/fwd-lib.sh"
fwd_setup
fwd_up
A=$(fwd_api a)
B=$(fwd_api b)
BODY_PLAIN='{"model":"lab:qwen3:0.6b","messages":[{"role":"user","content":"hi"}]}'

newkey()
{
	"$CTL" -d "$(pg_url)" key new "$@" >"$T/key.out" 2>"$T/key.err" ||
	    fail "key new $*: $(cat "$T/key.err")"
	cat "$T/key.out"
}
ctlk()
{
	"$CTL" -d "$(pg_url)" key "$@" >"$T/ctl.out" 2>&1 || fail "key $*: $(cat "$T/ctl.out")"
}

# code NODE KEY: the status of a chat request to NODE with KEY ("" = none);
# the body is in $T/body
code()
{
	local auth=()
	[ -n "$2" ] && auth=(-H "Authorization: Bearer $2")
	curl -s -o "$T/body" -w '%{http_code}' --max-time 10 "${auth[@]}" \
	    -H 'content-type: application/json' --data-binary "$BODY_PLAIN" \
	    "$(fwd_api "$1")/v1/chat/completions"
}
# see NODE KEY STATUS: five requests in a row answer STATUS
see()
{
	local i
	for i in 1 2 3 4 5; do
		[ "$(code "$1" "$2")" = "$3" ] || return 1
	done
}
# errcode: error.code of the last body, which must be OpenAI-shaped
errcode() { oai_error_shape "$T/body" || fail "not an OpenAI-shaped error: $(head -c 300 "$T/body")"; }

# after_change WHAT KEY STATUS: tokilakectl just returned at T0; both
# nodes answer STATUS for KEY within 1 s; prints the times
after_change()
{
	local n took
	for n in b a; do
		wait_until 10 see "$n" "$2" "$3" ||
		    fail "$1: node $n still answers $(code "$n" "$2") 10 s after tokilakectl returned"
		took=$(($(now_ms) - T0))
		log "$1: node $n answers $3 $took ms after tokilakectl returned"
		[ "$took" -le 1000 ] || fail "$1: node $n took $took ms (> 1 s)"
	done
}

# -- keys made by tokilakectl work on both nodes --------------------------
ALICE=$(newkey alice --owner alice@example.org --allow 'lab:*')
OTHER=$(newkey other --allow 'nomatch:*')
T0=$(now_ms)
after_change "key new alice" "$ALICE" 200
see a "$OTHER" 404 || fail "a key that may not use the model: $(code a "$OTHER") $(cat "$T/body")"
check [ "$(code a "")" = 401 ] "node a: no key is 401 once keys exist"
check [ "$(errcode)" = missing_api_key ] "no key: missing_api_key"
check [ "$(code b "sk-tlk-$(printf '0%.0s' $(seq 1 64))")" = 401 ] "node b: an unknown key is 401"
check [ "$(errcode)" = invalid_api_key ] "unknown key: invalid_api_key"
grep -q 'forwarded to node b' "$T/node-a.log" || fail "node a's log does not say it forwarded"
grep -q "$ALICE" "$T"/node-*.log && fail "a node logged the key itself"

# -- disable, enable, revoke: every node within 1 s -----------------------
ctlk disable alice
T0=$(now_ms)
after_change "key disable" "$ALICE" 403
check [ "$(errcode)" = key_disabled ] "disabled key: key_disabled"
ctlk enable alice
T0=$(now_ms)
after_change "key enable" "$ALICE" 200
ctlk set alice --allow 'nomatch:*'
T0=$(now_ms)
after_change "key set --allow" "$ALICE" 404
ctlk set alice --allow 'lab:*'
T0=$(now_ms)
after_change "key set --allow back" "$ALICE" 200
BOB=$(newkey bob)
ctlk revoke alice
T0=$(now_ms)
after_change "key revoke" "$ALICE" 401
check [ "$(errcode)" = invalid_api_key ] "revoked key: invalid_api_key"
see a "$BOB" 200 || fail "bob after alice's revocation: $(code a "$BOB")"

# -- a table that takes several frames --------------------------------------
# key i is "sk-tlk-" + hex(sha256("k<i>")); 63 patterns of 250 characters
# that match nothing, then lab:*
pgq "INSERT INTO api_keys (name, hash, allow)
    SELECT 'bulk' || i,
      'sha256:' || encode(sha256(convert_to('sk-tlk-' || encode(sha256(convert_to('k' || i, 'UTF8')), 'hex'), 'UTF8')), 'hex'),
      array(SELECT 'zz' || i || '-' || j || '-' || repeat('x', 240) FROM generate_series(1, 63) j) || '{lab:*}'::text[]
    FROM generate_series(1, 60) i" >/dev/null
pgq "INSERT INTO api_keys (name, hash, allow) VALUES ('toolong',
    'sha256:$(printf '%s' "sk-tlk-$(printf 'ab%.0s' $(seq 1 32))" | sha256sum | cut -d' ' -f1)',
    ARRAY['lab:*', repeat('y', 300)])" >/dev/null
T0=$(now_ms)
BULK60=sk-tlk-$(printf 'k60' | sha256sum | cut -d' ' -f1)
after_change "60 keys of 64 patterns" "$BULK60" 200
see a "sk-tlk-$(printf 'k1' | sha256sum | cut -d' ' -f1)" 200 || fail "bulk key 1: $(cat "$T/body")"
see b "sk-tlk-$(printf 'ab%.0s' $(seq 1 32))" 401 || fail "the key out of bounds was loaded"
grep -q 'API key toolong is out of bounds' "$T/node-b.log" || fail "no warning about key toolong"
see b "$BOB" 200 || fail "bob with the bulk keys: $(code b "$BOB")"
grep -q 'KEYS from the master' "$T"/node-*.log && fail "a worker refused part of KEYS: $(grep -h 'KEYS from the master' "$T"/node-*.log | head -n 2)"

# -- node a reloaded: the workers of the new generation get the keys -------
MASTER=${NODE_PID[a]}
OLD=$(pids_of worker | tr '\n' ' ')
kill -HUP "${NODE_PID[a]}"
all_new() { local p n=0; for p in $(pids_of worker); do [[ " $OLD " == *" $p "* ]] && return 1; n=$((n + 1)); done; [ "$n" -ge 2 ]; }
wait_until 15 all_new || fail "node a's workers were not replaced by the reload: $(pids_of worker) (old: $OLD)"
check see a "$BOB" 200 "after a reload of node a: bob 200"
check see a "$ALICE" 401 "after a reload of node a: the revoked key is 401"

# -- node b's workers killed: the respawned ones get the keys again -------
MASTER=${NODE_PID[b]}
OLD=$(pids_of worker | tr '\n' ' ')
[ -n "$OLD" ] || fail "no workers of node b found"
kill -9 $OLD
T0=$(now_ms)
has_two_new() { local p n=0; for p in $(pids_of worker); do [[ " $OLD " == *" $p "* ]] || n=$((n + 1)); done; [ "$n" -ge 2 ]; }
wait_until 15 has_two_new || fail "node b's workers were not respawned: $(pids_of worker)"
wait_until 15 see b "$BOB" 200 ||
    fail "respawned workers of node b: bob gets $(code b "$BOB") $(head -c 200 "$T/body")"
log "node b's workers respawned; bob served $(($(now_ms) - T0)) ms after the kill"
check see b "$ALICE" 401 "respawned workers: the revoked key is 401"
check see b "" 401 "respawned workers: no key is 401"

# -- the last key revoked: a network that had keys stays closed -----------
# (no live key left, but api_keys has rows: loopback nodes do not fall
# back to serving anonymous requests, and a key is still checked)
pgq "UPDATE api_keys SET revoked_at = now() WHERE revoked_at IS NULL AND name <> 'bob'" >/dev/null
ctlk revoke bob
T0=$(now_ms)
after_change "the last key revoked" "$BOB" 401
check [ "$(errcode)" = invalid_api_key ] "the last key revoked: invalid_api_key"
check [ -z "$(pgq "SELECT name FROM api_keys WHERE revoked_at IS NULL")" ] "no live key is left"
for n in a b; do
	check see "$n" "" 401 "node $n, no live key left: no key is 401, not served"
	check [ "$(errcode)" = missing_api_key ] "node $n: missing_api_key"
done

# -- no database yet: 503, not 401 ----------------------------------------
# (node_unavailable: without any snapshot the node says that first; a
# node with a snapshot but no keys yet says keys_not_loaded)
NODE_HTTP[c]=$(freeport) NODE_AGENT[c]=$(freeport) NODE_PORT[c]=$(freeport)
mkdir -p "$T/run-c"
PG_PORT_SAVED=$PG_PORT
PG_PORT=$(freeport)
fwd_write_config c
PG_PORT=$PG_PORT_SAVED
"$TOKILAKE" -c "$T/c.yaml" >>"$T/node-c.log" 2>&1 </dev/null &
NODE_PID[c]=$!
TL_PIDS+=("${NODE_PID[c]}")
c_answers() { [ "$(code c "$BOB")" != 000 ]; }
wait_until 10 c_answers || fail "node c does not answer"
check [ "$(code c "$BOB")" = 503 ] "node c (database unreachable): a key gets 503"
C_CODE=$(errcode)
check grep -Eqx 'keys_not_loaded|node_unavailable' <<<"$C_CODE" "node c: $C_CODE"
check [ "$(code c "")" = 503 ] "node c: no key is 503 too"
fwd_node_stop c

# -- a database without table api_keys (only 001 and 002 applied) --------
pgq 'CREATE DATABASE old' >/dev/null
mkdir "$T/sql-old"
cp "$top_srcdir"/sql/001_*.sql "$top_srcdir"/sql/002_*.sql "$T/sql-old/"
OLD_URL=$(pg_url)
OLD_URL=${OLD_URL%/tokilake}/old
"$CTL" -d "$OLD_URL" db migrate --dir "$T/sql-old" >"$T/ctl.out" 2>&1 || fail "migrate old: $(cat "$T/ctl.out")"
eval "$(declare -f pg_url | sed '1s/pg_url/pg_url_saved/')"
pg_url() { echo "$OLD_URL"; }
fwd_node_start d
eval "$(declare -f pg_url_saved | sed '1s/pg_url_saved/pg_url/')"
wait_until 10 grep -q 'no table api_keys' "$T/node-d.log" || fail "node d did not say that api_keys is missing"
wait_until 10 http_is "$(fwd_api d)/v1/models" 200 ||
    fail "node d (no table api_keys): /v1/models is $(http_code "$(fwd_api d)/v1/models")"
check [ "$(grep -c 'no table api_keys' "$T/node-d.log")" = 1 ] "node d said it once"
fwd_node_stop d

fwd_pass "keys"
