#!/bin/bash
# keys-fwd.sh: API keys across forwarding (issue 14, K1). Node a and node
# b (one PostgreSQL, fwd-lib.sh) each have their own keys in their config:
# a knows "ka", b knows "kb". A request with ka to node a for a model
# whose agent is linked to b is admitted by a and forwarded to b's
# node.listen, where the node secret admitted it: b does not check the
# key again (it does not even know ka), and the key never reaches the
# backend. ka's ACL is enforced at a; b refuses ka from a client.
. "$(dirname "$0")/fwd-lib.sh"
fwd_setup
. "$(dirname "$0")/keys-lib.sh"
newkey ka
newkey kb
newkey narrow

eval "orig_$(declare -f fwd_write_config)"
fwd_write_config()
{
	orig_fwd_write_config "$@"
	if [ "$1" = a ]; then
		printf 'keys:\n  ka: { hash: "%s" }\n  narrow: { hash: "%s", allow: ["other:*"] }\n' \
		    "$HASH_ka" "$HASH_narrow" >>"$T/$1.yaml"
	else
		printf 'keys:\n  kb: { hash: "%s" }\n' "$HASH_kb" >>"$T/$1.yaml"
	fi
}
fwd_linked()
{
	local k=KEY_k$1
	curl -s --max-time 2 -H "Authorization: Bearer ${!k}" "$(fwd_api "$1")/v1/models" 2>/dev/null |
	    grep -q "\"id\":\"$2\""
}
fwd_up
M='{"model":"lab:qwen3:0.6b","messages":[{"role":"user","content":"hi"}]}'

req POST /v1/chat/completions -H "Authorization: Bearer $KEY_ka" --data-binary "$M"
[ "$CODE" = 200 ] || fail "ka on node a for b's agent: $CODE $BODY"
saw=$(grep -i '^x-mock-saw-authorization:' <<<"$HDRS" | sed 's/^[^:]*: *//')
[ "$saw" = "Bearer sk-backend" ] || fail "the backend saw \"$saw\", not its own key only"
# b's node.listen speaks HTTP/2 only; its public listener here HTTP/1.1
wait_until 5 grep -q 'POST /v1/chat/completions HTTP/2 -> 200' "$T/node-b.log" ||
    fail "node b shows no forwarded request served"
log "ok: ka admitted by a, forwarded to b (which does not know ka): 200; the backend saw its own key only"
req POST /v1/chat/completions -H "Authorization: Bearer $KEY_ka" --data-binary "${M%\}},\"stream\":true}"
[ "$CODE" = 200 ] || fail "ka streamed through a to b: $CODE $BODY"
log "ok: a stream too"
expect_oai 404 model_not_found POST /v1/chat/completions -H "Authorization: Bearer $KEY_narrow" --data-binary "$M"
expect_oai 401 missing_api_key POST /v1/chat/completions --data-binary "$M"
HTTP_PORT=${NODE_HTTP[b]}
expect_oai 401 invalid_api_key POST /v1/chat/completions -H "Authorization: Bearer $KEY_ka" --data-binary "$M"
req POST /v1/chat/completions -H "Authorization: Bearer $KEY_kb" --data-binary "$M"
[ "$CODE" = 200 ] || fail "kb on node b: $CODE $BODY"
log "ok: node b refuses ka from a client and serves kb"
fwd_pass "a key is checked once, by the node the client called"
