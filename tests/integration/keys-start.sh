#!/bin/bash
# keys-start.sh: secure by default (issue 14, K1). A standalone node whose
# HTTP API listens beyond loopback with no API key and http.anonymous not
# true refuses to start: `tokilake -n` and a real start both exit 2 with
# file:line: http.listen[N] and what to do. Anonymous access switched on
# explicitly starts and serves without a key; a key configured starts and
# requires one. On loopback with no key at all, anonymous requests are
# served as before (the quick start, most tests), whatever Authorization
# a client sends; with keys, only http.anonymous lets a keyless request
# through, and a wrong key is still refused. An empty keys: block counts
# as having keys: removing the last key (SIGHUP) leaves a loopback node
# closed, not anonymous.
. "$(dirname "$0")/lib.sh"
tl_setup
# check COND... MESSAGE
check() { if "${@:1:$#-1}"; then log "ok: ${*: -1}"; else fail "${*: -1}"; fi; }

OUT=$("$TOKILAKE" key new ci) || fail "tokilake key new ci failed"
KEY=$(sed -n 's/^#   \(sk-tlk-[0-9a-f]*\)$/\1/p' <<<"$OUT")
KEYS_YAML=$(sed -n '/^keys:/,$p' <<<"$OUT")

# conf FILE HOST [EXTRA_YAML]: lib.sh's config, listening on HOST
conf()
{
	write_config "$1" "${3:-}"
	sed -i "s|^  listen: .*|  listen: [\"127.0.0.1:$HTTP_PORT\", \"$2:$ALT_PORT\"]|" "$1"
}
HTTP_PORT=$(freeport)
ALT_PORT=$(freeport)
AGENT_PORT=$(freeport)
API=http://127.0.0.1:$HTTP_PORT

# ---- refused: beyond loopback, no key, anonymous not set
conf "$T/open.yaml" 0.0.0.0
line=$(grep -n '^  listen:' "$T/open.yaml" | cut -d: -f1)
"$TOKILAKE" -n -c "$T/open.yaml" >/dev/null 2>"$T/open.err"
rc=$?
[ $rc -eq 2 ] || fail "tokilake -n beyond loopback without keys: exit $rc (want 2): $(cat "$T/open.err")"
grep -q "^$T/open.yaml:$line: http.listen\[1\]: 0.0.0.0:$ALT_PORT is beyond loopback and no API key" "$T/open.err" ||
    fail "the refusal does not name file:line: http.listen[1]: $(cat "$T/open.err")"
grep -q 'http.anonymous: true' "$T/open.err" && grep -q 'key new' "$T/open.err" ||
    fail "the refusal does not say what to set: $(cat "$T/open.err")"
log "ok: -n refuses: $(cat "$T/open.err")"
"$TOKILAKE" -c "$T/open.yaml" >"$T/open-start.log" 2>&1 </dev/null &
pid=$!
TL_PIDS+=("$pid")
gone() { ! alive "$pid"; }
wait_until 10 gone || fail "tokilake beyond loopback without keys still running after 10 s"
wait "$pid"
rc=$?
[ $rc -eq 2 ] || fail "a start beyond loopback without keys: exit $rc (want 2): $(cat "$T/open-start.log")"
grep -q "http.listen\[1\]: 0.0.0.0:$ALT_PORT is beyond loopback" "$T/open-start.log" ||
    fail "the start does not say why: $(cat "$T/open-start.log")"
port_in_use "$HTTP_PORT" && fail "port $HTTP_PORT still in use after the refused start"
log "ok: a real start exits 2 and says why"
conf "$T/open6.yaml" '[::]'
"$TOKILAKE" -n -c "$T/open6.yaml" >/dev/null 2>&1 && fail "[::] without keys passes tokilake -n"
log "ok: [::] is refused too"

# up CONF: start and wait for /healthz; down: stop cleanly
up()
{
	start_tokilake "$1"
	wait_for_http "$API/healthz" 200 10 || fail "no /healthz 200 within 10 s ($1)"
}
down() { stop_master; MASTER=; }
code() { CURL_MAX_TIME=5 http_code "$@" "$API/v1/models"; }

# ---- anonymous on purpose: starts, serves without a key
conf "$T/anon.yaml" 0.0.0.0
sed -i 's/^  idle_timeout: 10s$/  idle_timeout: 10s\n  anonymous: true/' "$T/anon.yaml"
up "$T/anon.yaml"
check [ "$(code)" = 200 ] "anonymous: true beyond loopback, no key: 200"
check [ "$(code -H 'Authorization: Bearer whatever')" = 200 ] "anonymous, no keys at all: any Authorization is ignored"
down

# ---- a key beyond loopback: starts, requires it
conf "$T/keyed.yaml" 0.0.0.0 "$KEYS_YAML"
up "$T/keyed.yaml"
check [ "$(code)" = 401 ] "a key beyond loopback: no key 401"
check [ "$(code -H "Authorization: Bearer $KEY")" = 200 ] "a key beyond loopback: the key 200"
down

# ---- loopback, no key: anonymous as before
write_config "$T/lo.yaml"
up "$T/lo.yaml"
check [ "$(code)" = 200 ] "loopback without keys: no key 200"
check [ "$(code -H 'Authorization: Bearer sk-anything')" = 200 ] "loopback without keys: any bearer 200"
check [ "$(code -H 'x-api-key: x')" = 200 ] "loopback without keys: any x-api-key 200"
down

# ---- loopback with a key: required; with anonymous true as well: optional, but checked
write_config "$T/lokey.yaml" "$KEYS_YAML"
up "$T/lokey.yaml"
check [ "$(code)" = 401 ] "loopback with a key: no key 401"
down
write_config "$T/lokeyanon.yaml" "$KEYS_YAML"
sed -i 's/^  idle_timeout: 10s$/  idle_timeout: 10s\n  anonymous: true/' "$T/lokeyanon.yaml"
up "$T/lokeyanon.yaml"
check [ "$(code)" = 200 ] "keys and anonymous: true: no key 200"
check [ "$(code -H "Authorization: Bearer $KEY")" = 200 ] "keys and anonymous: true: the key 200"
check [ "$(code -H 'Authorization: Bearer sk-tlk-wrong')" = 401 ] "keys and anonymous: true: a wrong key 401"
down

# ---- loopback, every key removed but an empty keys: block left: closed
# (the standalone "revoke the last key": no fall back to anonymous)
write_config "$T/lolast.yaml" "$KEYS_YAML"
up "$T/lolast.yaml"
check [ "$(code -H "Authorization: Bearer $KEY")" = 200 ] "loopback, one key: the key 200"
write_config "$T/lolast.yaml" 'keys: {}'
kill -HUP "$MASTER"
key_gone() { [ "$(code -H "Authorization: Bearer $KEY")" = 401 ]; }
wait_until 15 key_gone || fail "keys: {} after SIGHUP: the removed key still gets $(code -H "Authorization: Bearer $KEY")"
check [ "$(code)" = 401 ] "loopback, keys: {} (the last key removed): no key 401, not served"
check [ "$(code -H 'Authorization: Bearer sk-anything')" = 401 ] "loopback, keys: {}: any bearer 401"
down
write_config "$T/loempty.yaml" 'keys: {}'
up "$T/loempty.yaml"
check [ "$(code)" = 401 ] "loopback, keys: {} from the start: no key 401"
pass "secure by default: refused beyond loopback without keys; anonymous and keys as configured"
