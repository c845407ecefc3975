#!/bin/bash
# keys-sdk.sh: the official openai npm client (v4) against tokilake with
# API keys (issue 14, K1): a good key chats and streams, models.list shows
# only the key's models, and the errors are the SDK's own classes: a wrong
# key AuthenticationError, a disabled one PermissionDeniedError, a model
# the key may not use NotFoundError (keys_sdk.js); a key past its rpm, and
# one whose daily token budget is spent, RateLimitError (429, codes
# rate_limit_exceeded and insufficient_quota).
#
# Needs node and the openai package: $TL_OPENAI_NODE (a directory holding
# node_modules/openai), else $top_builddir/tests/npm, where it is
# installed with npm once if npm can reach its registry; skipped otherwise.
. "$(dirname "$0")/path-lib.sh"
path_setup
command -v node >/dev/null || skip "no node"
NPMDIR=${TL_OPENAI_NODE:-$top_builddir/tests/npm}
if [ ! -f "$NPMDIR/node_modules/openai/package.json" ] && [ -z "${TL_OPENAI_NODE:-}" ] &&
    command -v npm >/dev/null; then
	mkdir -p "$NPMDIR"
	timeout 180 npm install --prefix "$NPMDIR" --no-audit --no-fund openai@4 >"$T/npm.log" 2>&1 ||
	    log "npm install openai@4 failed: $(tail -n 3 "$T/npm.log")"
fi
[ -f "$NPMDIR/node_modules/openai/package.json" ] || skip "the openai npm package is not available"

. "$(dirname "$0")/keys-lib.sh"
newkey good
newkey off
newkey fam
newkey rpm
newkey broke
LINK_KEY=$KEY_good
keys_yaml()
{
	cat <<EOF
keys:
  good: { hash: "$HASH_good" }
  off: { hash: "$HASH_off", disabled: true }
  fam: { hash: "$HASH_fam", allow: ["*:llama3*"] }
  rpm: { hash: "$HASH_rpm", rpm: 1 }
  broke: { hash: "$HASH_broke", tokens_per_day: 1 }
EOF
}
TM_BACKENDS=("{ name: mock2, url: \"@MOCK_URL@/v1\", models: [\"llama3:8b\"], discover: false }")
path_up
wait_until 10 path_linked lab:llama3:8b || fail "lab:llama3:8b not listed"
log "openai $(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$NPMDIR/node_modules/openai/package.json")"
node "$HERE/keys_sdk.js" "$NPMDIR/node_modules/openai" "$API/v1" "$KEY_good" "$KEY_off" \
    "$KEY_fam" "$KEY_rpm" "$KEY_broke" >"$T/sdk.out" 2>&1
rc=$?
while read -r l; do log "$l"; done <"$T/sdk.out"
[ $rc -eq 0 ] || fail "the openai client: $(grep FAIL "$T/sdk.out")"
path_pass "the openai npm client sees 401/403/404/429 as its own error classes"
