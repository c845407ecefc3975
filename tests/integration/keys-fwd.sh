#!/bin/bash
# keys-fwd.sh: API keys across forwarding (issue 14). Nodes a and b share
# one PostgreSQL (fwd-lib.sh), and with it the keys made by tokilakectl.
# A request with key ka to node a, for a model whose agent is linked to
# b, is checked by a and forwarded to b's node.listen, where the node
# secret admits it: the key is checked once, by the node the client
# called, and never reaches the backend. A key's access patterns are
# enforced at a; b, called directly, wants a key like any node.
. "$(dirname "$0")/fwd-lib.sh"
fwd_setup

fwd_linked()
{
	curl -s --max-time 2 -H "Authorization: Bearer $KEY_ka" "$(fwd_api "$1")/v1/models" 2>/dev/null |
	    grep -q "\"id\":\"$2\""
}
newkey ka
newkey narrow --allow 'other:*'
fwd_up
M='{"model":"lab:qwen3:0.6b","messages":[{"role":"user","content":"hi"}]}'

req POST /v1/chat/completions -H "Authorization: Bearer $KEY_ka" --data-binary "$M"
[ "$CODE" = 200 ] || fail "ka on node a for b's agent: $CODE $BODY"
saw=$(grep -i '^x-mock-saw-authorization:' <<<"$HDRS" | sed 's/^[^:]*: *//')
[ "$saw" = "Bearer sk-backend" ] || fail "the backend saw \"$saw\", not its own key only"
# b's node.listen speaks HTTP/2 only; its public listener here HTTP/1.1
wait_until 5 grep -q 'POST /v1/chat/completions HTTP/2 -> 200' "$T/node-b.log" ||
    fail "node b shows no forwarded request served"
! grep -q "$KEY_ka" "$T"/node-*.log || fail "a node logged the key's secret"
log "ok: ka checked by a, forwarded to b by the node secret: 200; the backend saw its own key only"
req POST /v1/chat/completions -H "Authorization: Bearer $KEY_ka" --data-binary "${M%\}},\"stream\":true}"
[ "$CODE" = 200 ] || fail "ka streamed through a to b: $CODE $BODY"
log "ok: a stream too"
expect_oai 404 model_not_found POST /v1/chat/completions -H "Authorization: Bearer $KEY_narrow" --data-binary "$M"
expect_oai 401 missing_api_key POST /v1/chat/completions --data-binary "$M"
HTTP_PORT=${NODE_HTTP[b]}
expect_oai 401 missing_api_key POST /v1/chat/completions --data-binary "$M"
expect_oai 404 model_not_found POST /v1/chat/completions -H "Authorization: Bearer $KEY_narrow" --data-binary "$M"
req POST /v1/chat/completions -H "Authorization: Bearer $KEY_ka" --data-binary "$M"
[ "$CODE" = 200 ] || fail "ka on node b: $CODE $BODY"
log "ok: node b, called directly, checks keys the same way"
fwd_pass "a key is checked once, by the node the client called"
