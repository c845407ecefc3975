#!/bin/bash
# keys-auth.sh: end-user API keys in the worker (issue 14, K1), through
# tokilake, a real tokiame and the mock backend, with curl.
#
# Every answer and its exact body shape: no key 401 missing_api_key, an
# unknown, expired key 401 invalid_api_key (one body for both), a
# disabled key 403 key_disabled, all with WWW-Authenticate on the 401s;
# /healthz needs no key. Bearer (any case), api-key and x-api-key all
# work. ACL patterns ("*", "lab:*", "*:llama3*", an exact id, none): a
# model a key may not use gets exactly the 404 of an unknown model, in the
# relay and in /v1/models/{id}, and /v1/models lists only what the key
# may use. The key never reaches the backend and never appears in the
# log, which names the key instead. SIGHUP adds a key and revokes one.
. "$(dirname "$0")/path-lib.sh"
path_setup
CHAT=/v1/chat/completions

. "$(dirname "$0")/keys-lib.sh"
for k in all lab fam exact none old off later new; do
	newkey "$k"
done
[[ $KEY_all == sk-tlk-* ]] && [ ${#KEY_all} = 71 ] || fail "key new printed no key: $KEY_all"
LINK_KEY=$KEY_all

# a second namespace (no agent serves it), then the keys
keys_yaml()
{
	cat <<EOF
  home:
    tokens: ["$HASH_all"]
keys:
  all: { hash: "$HASH_all", owner: "ops@example.org" }
  fam: { hash: "$HASH_fam", allow: ["*:llama3*"] }
  exact: { hash: "$HASH_exact", allow: ["lab:qwen3:0.6b"] }
  none: { hash: "$HASH_none", allow: [] }
  old: { hash: "$HASH_old", expires: 2020-01-01 }
  off: { hash: "$HASH_off", disabled: true }
  later: { hash: "$HASH_later", expires: "2999-01-01T00:00:00Z" }
EOF
	[ "${WITH_LAB:-1}" = 1 ] && echo "  lab: { hash: \"$HASH_lab\", allow: [\"lab:*\"] }"
	[ "${WITH_NEW:-0}" = 1 ] && echo "  new: { hash: \"$HASH_new\" }"
	return 0
}

TM_BACKENDS=("{ name: mock2, url: \"@MOCK_URL@/v1\", models: [\"llama3:8b\"], discover: false }")
path_up
wait_until 10 path_linked lab:llama3:8b || fail "lab:llama3:8b not listed"
B() { printf 'Authorization: Bearer %s' "$1"; }
M='{"model":"lab:qwen3:0.6b","messages":[{"role":"user","content":"hi"}]}'

# ---- who may call
req GET /healthz
check [ "$CODE" = 200 ] "/healthz needs no key"
expect_oai 401 missing_api_key GET /v1/models
check [ "$(hdr www-authenticate)" = Bearer ] "401 has WWW-Authenticate: Bearer"
check [ "$(jbody 'j["error"]["type"]')" = invalid_request_error ] "missing key: type invalid_request_error"
expect_oai 401 missing_api_key POST $CHAT --data-binary "$M"
expect_oai 401 missing_api_key POST $CHAT --data-binary "$M" -H "Authorization: Bearer "
expect_oai 401 missing_api_key POST $CHAT --data-binary "$M" -H "Authorization: Basic $(printf a:b | base64)"
expect_oai 401 invalid_api_key POST $CHAT --data-binary "$M" -H "$(B "sk-tlk-$(printf %064d 7)")"
bad=$BODY
check [ "$(hdr www-authenticate)" = Bearer ] "invalid key: WWW-Authenticate: Bearer"
check [ "$(jbody 'j["error"]["type"]')" = invalid_request_error ] "invalid key: type invalid_request_error"
expect_oai 401 invalid_api_key POST $CHAT --data-binary "$M" -H "$(B "$KEY_old")"
check [ "$BODY" = "$bad" ] "an expired key gets the very body of an unknown one"
expect_oai 401 invalid_api_key GET /v1/models -H "x-api-key: $(head -c 5000 /dev/zero | tr '\0' a)"
expect_oai 403 key_disabled POST $CHAT --data-binary "$M" -H "$(B "$KEY_off")"
check [ "$(jbody 'j["error"]["type"]')" = permission_error ] "disabled: type permission_error"
check [ -z "$(hdr www-authenticate)" ] "403 has no WWW-Authenticate"
expect_oai 403 key_disabled GET /v1/models -H "$(B "$KEY_off")"

# ---- the three ways to present a key, and what reaches the backend
for how in "Authorization: Bearer $KEY_all" "authorization: bearer $KEY_all" \
    "Authorization: Bearer   $KEY_all  " "api-key: $KEY_all" "x-api-key: $KEY_all" \
    "Authorization: Bearer $KEY_later"; do
	req POST $CHAT -H 'Content-Type: application/json' -H "$how" --data-binary "$M"
	check [ "$CODE" = 200 ] "${how%%:*} (${how:15:12}...): 200"
	saw=$(hdr x-mock-saw-authorization)
	check [ "$saw" = "Bearer sk-backend" ] "the backend saw its own key only ($saw)"
done
# a Bearer wins over api-key
expect_oai 401 invalid_api_key POST $CHAT --data-binary "$M" -H "$(B sk-tlk-nope)" -H "api-key: $KEY_all"
req POST $CHAT -H "$(B "$KEY_all")" --data-binary '{"model":"lab:qwen3:0.6b","stream":true}'
check [ "$CODE" = 200 ] "a stream with a key: 200"

# ---- ACL patterns: the relay
# allowed KEYVAR MODEL: 200; denied KEYVAR MODEL: the 404 an unknown model gets
allowed()
{
	local k=KEY_$1
	req POST $CHAT -H "$(B "${!k}")" --data-binary "{\"model\":\"$2\",\"messages\":[]}"
	check [ "$CODE" = 200 ] "key $1 may use $2"
}
denied()
{
	local k=KEY_$1 want
	req POST $CHAT -H "$(B "$KEY_all")" --data-binary "{\"model\":\"$3\",\"messages\":[]}"
	want=$(sed "s/$4/$5/" <<<"$BODY")
	expect_oai 404 model_not_found POST $CHAT -H "$(B "${!k}")" --data-binary "{\"model\":\"$2\",\"messages\":[]}"
	check [ "$BODY" = "$want" ] "key $1 on $2: the same 404 as an unknown model ($BODY)"
}
allowed all lab:qwen3:0.6b
allowed all lab:llama3:8b
allowed lab lab:qwen3:0.6b
allowed lab lab:llama3:8b
allowed fam lab:llama3:8b
allowed exact lab:qwen3:0.6b
# the unknown model "lab:zz" says "model zz is not published ...": same words for the real one
denied fam lab:qwen3:0.6b lab:zz 'model zz ' 'model qwen3:0.6b '
denied exact lab:llama3:8b lab:zz 'model zz ' 'model llama3:8b '
denied none lab:qwen3:0.6b lab:zz 'model zz ' 'model qwen3:0.6b '
denied lab nosuch:x nosuch:x x x
denied fam nosuch:x nosuch:x x x
req POST /v1/embeddings -H "$(B "$KEY_exact")" --data-binary '{"model":"lab:llama3:8b","input":"x"}'
check [ "$CODE" = 404 ] "embeddings: the ACL holds on every endpoint ($CODE)"
# a namespace the key may use but no agent serves: the key goes through (503 or 404 from agentd)
req POST $CHAT -H "$(B "$KEY_all")" --data-binary '{"model":"home:x"}' --max-time 15
check [ "$CODE" = 503 ] "an allowed namespace without agents: agentd's 503 ($CODE)"
expect_oai 404 model_not_found POST $CHAT -H "$(B "$KEY_lab")" --data-binary '{"model":"home:x"}'
check [ "$(jbody 'j["error"]["message"]')" = "model x is not published by any agent of namespace home" ] \
    "a namespace that exists but is not allowed: not-published words"

# ---- /v1/models and /v1/models/{id}
models()
{
	local k=KEY_$1
	req GET /v1/models -H "$(B "${!k}")"
	[ "$CODE" = 200 ] || fail "GET /v1/models with key $1: $CODE $BODY"
	jbody '",".join(sorted(m["id"] for m in j["data"]))'
}
check [ "$(models all)" = "lab:llama3:8b,lab:qwen3:0.6b" ] "all sees both models"
check [ "$(models lab)" = "lab:llama3:8b,lab:qwen3:0.6b" ] "lab:* sees both models"
check [ "$(models fam)" = "lab:llama3:8b" ] "*:llama3* sees lab:llama3:8b only"
check [ "$(models exact)" = "lab:qwen3:0.6b" ] "an exact pattern sees that model only"
check [ "$(models none)" = "" ] "an empty allow list sees nothing"
req GET /v1/models/lab:llama3:8b -H "$(B "$KEY_fam")"
check [ "$CODE" = 200 ] "GET /v1/models/lab:llama3:8b with fam: 200"
req GET /v1/models/lab:zz -H "$(B "$KEY_all")"
want=${BODY//lab:zz/lab:qwen3:0.6b}
expect_oai 404 model_not_found GET /v1/models/lab:qwen3:0.6b -H "$(B "$KEY_fam")"
check [ "$BODY" = "$want" ] "GET /v1/models/{id} not allowed: the 404 of an unknown id"

# ---- the log names keys, never a secret
wait_until 5 grep -q 'key=fam' "$T/tokilake.log" || fail "no key=fam in the log"
for k in all lab fam exact none old off later; do
	v=KEY_$k
	grep -q "${!v}" "$T/tokilake.log" && fail "the secret of key $k is in the log"
done
log "ok: the log names keys (key=all, key=fam), never their secrets"

# ---- SIGHUP: add a key, revoke one
expect_oai 401 invalid_api_key GET /v1/models -H "$(B "$KEY_new")"
WITH_NEW=1 WITH_LAB=0
path_write_config "$T/tokilake.yaml"
kill -HUP "$MASTER"
new_works() { [ "$(CURL_MAX_TIME=2 http_code -H "$(B "$KEY_new")" "$API/v1/models")" = 200 ]; }
lab_revoked() { [ "$(CURL_MAX_TIME=2 http_code -H "$(B "$KEY_lab")" "$API/v1/models")" = 401 ]; }
wait_until 15 new_works || fail "the key added by SIGHUP does not work 15 s later"
log "ok: a key added to the config works ${WAITED} ms after SIGHUP"
wait_until 15 lab_revoked || fail "the key removed by SIGHUP still works 15 s later"
expect_oai 401 invalid_api_key POST $CHAT -H "$(B "$KEY_lab")" --data-binary "$M"
allowed new lab:qwen3:0.6b
path_pass "keys: statuses, presentation, ACL, /v1/models filtering, log, SIGHUP"
