#!/bin/bash
# fwd-tls.sh: forwarding between nodes over TLS (node.tls, internal_url
# https://): the receiving node's certificate is verified against the
# trust store (here a throwaway CA given by SSL_CERT_FILE) and must name
# the host of internal_url.
#
#   - plain and streamed answers through a (agent on b), over TLS + ALPN h2;
#   - b's internal listener over TLS wants the node secret too (401);
#   - a node that does not trust b's certificate cannot forward: 503, and
#     says why in its log.
. "$(dirname "$0")/fwd-lib.sh"
FWD_TLS=1
fwd_setup
fwd_up
A=$(fwd_api a)

req POST /v1/chat/completions --data-binary '{"model":"lab:qwen3:0.6b","messages":[]}'
check [ "$CODE" = 200 ] "forwarded over TLS: 200 (${BODY:0:120})"
grep -q 'forwarded to node b' "$T/node-a.log" || fail "node a's log does not say it forwarded"
curl -s -N -o "$T/stream.fwd" --max-time 20 "$A/v1/chat/completions" -H 'x-mock-chunks: 20' \
    --data-binary '{"model":"lab:qwen3:0.6b","stream":true,"messages":[]}'
check [ "$(grep -c '^data: ' "$T/stream.fwd")" = 21 ] "streamed over TLS: 20 events and [DONE]"

code=$(curl -s --http2 --cacert "$T/ca.crt" --max-time 5 -o "$T/body" -w '%{http_code}' \
    "https://127.0.0.1:${NODE_PORT[b]}/v1/models" -H 'authorization: Bearer nope')
check [ "$code" = 401 ] "b's internal listener over TLS without the secret: 401"

# a third node that does not trust the CA (its own empty trust file)
: >"$T/empty.pem"
FWD_CA=$T/empty.pem fwd_node_start c
wait_until 10 fwd_linked c "lab:qwen3:0.6b" || fail "node c does not list b's agent"
code=$(curl -s --max-time 10 -o "$T/body" -w '%{http_code}' "$(fwd_api c)/v1/chat/completions" \
    --data-binary '{"model":"lab:qwen3:0.6b","messages":[]}')
check [ "$code" = 503 ] "a node that does not trust b's certificate: 503 ($(head -c 200 "$T/body"))"
grep -Eq 'TLS handshake failed|certificate' "$T/node-c.log" ||
    fail "node c's log does not say the TLS handshake failed"
log "node c says: $(grep -Eh 'TLS handshake failed' "$T/node-c.log" | head -n 1 | sed 's/^.*agentd //')"

fwd_pass
