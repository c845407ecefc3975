#!/usr/bin/env bash
# Start a node: /healthz answers 200 within 5 s; /v1/models is an empty
# OpenAI list; bad requests get OpenAI-shaped JSON errors with the right
# status; `tokilake -n` accepts the config and rejects a broken one with
# exit 2 and "file:line:".
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
tl_setup

write_config "$T/tokilake.yaml"

# -n: a good config passes, a broken one names its file and line.
"$TOKILAKE" -n -c "$T/tokilake.yaml" >"$T/check.out" 2>&1
rc=$?
[ $rc -eq 0 ] || fail "tokilake -n on a valid config: exit $rc, $(cat "$T/check.out")"
log "ok: tokilake -n on the test config: exit 0"

cp "$T/tokilake.yaml" "$T/unknown.yaml"
echo "no_such_key: 1" >>"$T/unknown.yaml"
line=$(wc -l <"$T/unknown.yaml")
"$TOKILAKE" -n -c "$T/unknown.yaml" >"$T/unknown.out" 2>"$T/unknown.err"
rc=$?
[ $rc -eq 2 ] || fail "tokilake -n with an unknown key: exit $rc (want 2): $(cat "$T/unknown.err")"
grep -q "$T/unknown.yaml:$line:" "$T/unknown.err" ||
    fail "tokilake -n with an unknown key on line $line: no \"$T/unknown.yaml:$line:\" in stderr: $(cat "$T/unknown.err")"
log "ok: unknown key -> exit 2: $(head -n 1 "$T/unknown.err")"

sed 's/^workers: .*/workers: many/' "$T/tokilake.yaml" >"$T/badval.yaml"
"$TOKILAKE" -n -c "$T/badval.yaml" >/dev/null 2>"$T/badval.err"
rc=$?
[ $rc -eq 2 ] || fail "tokilake -n with workers: many: exit $rc (want 2): $(cat "$T/badval.err")"
grep -q "$T/badval.yaml:1:" "$T/badval.err" ||
    fail "workers: many on line 1: no \"$T/badval.yaml:1:\" in stderr: $(cat "$T/badval.err")"
log "ok: bad value -> exit 2: $(head -n 1 "$T/badval.err")"

printf 'workers: 2\nhttp: [unclosed\n' >"$T/syntax.yaml"
"$TOKILAKE" -n -c "$T/syntax.yaml" >/dev/null 2>"$T/syntax.err"
rc=$?
[ $rc -eq 2 ] || fail "tokilake -n on a YAML syntax error: exit $rc (want 2): $(cat "$T/syntax.err")"
grep -Eq "$T/syntax.yaml:[0-9]+:" "$T/syntax.err" ||
    fail "YAML syntax error: no file:line in stderr: $(cat "$T/syntax.err")"
log "ok: YAML syntax error -> exit 2: $(head -n 1 "$T/syntax.err")"

"$TOKILAKE" -n -c "$T/does-not-exist.yaml" >/dev/null 2>"$T/missing.err"
rc=$?
[ $rc -eq 2 ] || fail "tokilake -n on a missing file: exit $rc (want 2)"
log "ok: missing config file -> exit 2: $(head -n 1 "$T/missing.err")"

# Start it.
start_and_wait "$T/tokilake.yaml" 2
log "time from start to the first /healthz 200: ${HEALTHZ_MS} ms"

req GET /healthz
[ "$CODE" = 200 ] || fail "GET /healthz: $CODE"

req GET /v1/models
[ "$CODE" = 200 ] || fail "GET /v1/models: expected 200, got $CODE: $BODY"
[[ $BODY =~ \"object\"[[:space:]]*:[[:space:]]*\"list\" ]] ||
    fail "GET /v1/models: no \"object\":\"list\" in $BODY"
[[ $BODY =~ \"data\"[[:space:]]*:[[:space:]]*\[[[:space:]]*\] ]] ||
    fail "GET /v1/models: data is not an empty list: $BODY"
grep -qi '^content-type: *application/json' <<<"$HDRS" ||
    fail "GET /v1/models: not application/json: $HDRS"
log "ok: GET /v1/models -> 200 $BODY"

expect_error 404 GET /no/such/path
expect_error 404 GET /v1/no-such-endpoint
expect_error 405 DELETE /v1/models
expect_error 405 GET /v1/chat/completions
expect_error 400 POST /v1/chat/completions -H 'Content-Type: application/json' \
    --data-binary '{"model": "x:y", "messages": [}'
expect_error 400 POST /v1/chat/completions -H 'Content-Type: application/json' \
    --data-binary '{"messages": [{"role": "user", "content": "hi"}]}'
expect_error 400 POST /v1/chat/completions -H 'Content-Type: application/json' \
    --data-binary '{"model": 42, "messages": []}'

# 1.5 MiB against a 1 MiB limit.
head -c 1572864 /dev/zero | tr '\0' 'a' >"$T/big"
expect_error 413 POST /v1/chat/completions -H 'Content-Type: application/json' \
    --data-binary @"$T/big"

# Still serving after all that.
req GET /healthz
[ "$CODE" = 200 ] || fail "GET /healthz after the error cases: $CODE"

pass "first /healthz 200 after ${HEALTHZ_MS} ms"
