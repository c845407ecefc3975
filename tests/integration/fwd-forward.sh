#!/bin/bash
# fwd-forward.sh: two nodes on one PostgreSQL, the agent (tokiame + the
# mock) linked to node b; requests to node a are forwarded a -> b over b's
# internal listener (node.listen, h2c).
#
#   - a plain answer through a equals the one b gives directly (the reply
#     counter and the created time aside), and the backend saw the same
#     body bytes (x-mock-body-fnv);
#   - a streamed answer arrives whole, event by event;
#   - a 3 MiB request body reaches the backend intact (digest);
#   - a client that leaves mid-stream makes the backend's request close
#     (the mock's abort record), delays printed;
#   - b's internal listener wants the node secret: none or a wrong one is
#     401 (OpenAI-shaped), the right one is served; a request that came
#     from another node is never forwarded again;
#   - one connection a -> b carries every forwarded request, also across
#     idle gaps longer than b's http.idle_timeout (a PINGs it);
#   - the added latency of a cross-node request: FWD_N (200) sequential
#     requests to b (local agent) and to a (forwarded), medians printed.
. "$(dirname "$0")/fwd-lib.sh"
FWD_IDLE=3s
fwd_setup
fwd_up
A=$(fwd_api a)
B=$(fwd_api b)
BODY_PLAIN='{"model":"lab:qwen3:0.6b","messages":[{"role":"user","content":"hi"}]}'

# norm FILE: the answer without what differs between two requests
norm() { sed -E 's/mock reply [0-9]+/mock reply N/; s/"created":[0-9]+/"created":T/g; s/chatcmpl-mock-[0-9]+/chatcmpl-mock-N/g' "$1"; }
# heads FILE: the response head without what differs between two requests
heads() { tr -d '\r' <"$1" | grep -viE '^(date|x-request-id|x-mock-saw-request-id):'; }

# --- plain answer, through a and directly from b
curl -s -o "$T/direct.json" -D "$T/direct.head" --max-time 10 "$B/v1/chat/completions" \
    -H 'content-type: application/json' --data-binary "$BODY_PLAIN"
curl -s -o "$T/fwd.json" -D "$T/fwd.head" --max-time 10 "$A/v1/chat/completions" \
    -H 'content-type: application/json' --data-binary "$BODY_PLAIN"
check grep -q '^HTTP/1.1 200' "$T/fwd.head" "forwarded plain request: 200"
check [ "$(norm "$T/direct.json")" = "$(norm "$T/fwd.json")" ] \
    "forwarded plain answer equals the direct one: $(head -c 160 "$T/fwd.json")"
hd() { grep -i "^$2:" "$1" | head -n 1 | tr -d '\r' | sed 's/^[^:]*: *//'; }
check [ "$(hd "$T/direct.head" x-mock-body-fnv)" = "$(hd "$T/fwd.head" x-mock-body-fnv)" ] \
    "the backend saw the same body bytes both ways ($(hd "$T/fwd.head" x-mock-body-fnv))"
check [ "$(heads "$T/direct.head")" = "$(heads "$T/fwd.head")" ] \
    "same response head both ways (date and request ids aside)"
check [ "$(hd "$T/fwd.head" x-request-id)" = "$(hd "$T/fwd.head" x-mock-saw-request-id)" ] \
    "the request id reaches the backend through both nodes"
grep -q 'forwarded to node b' "$T/node-a.log" || fail "node a's log does not say it forwarded"

# --- streamed
curl -s -N -o "$T/stream.fwd" --max-time 20 "$A/v1/chat/completions" -H 'x-mock-chunks: 50' \
    --data-binary '{"model":"lab:qwen3:0.6b","stream":true,"messages":[]}'
curl -s -N -o "$T/stream.direct" --max-time 20 "$B/v1/chat/completions" -H 'x-mock-chunks: 50' \
    --data-binary '{"model":"lab:qwen3:0.6b","stream":true,"messages":[]}'
check [ "$(grep -c '^data: ' "$T/stream.fwd")" = 51 ] "forwarded stream: 50 events and [DONE]"
check grep -q '^data: \[DONE\]' "$T/stream.fwd" "forwarded stream ends with [DONE]"
check [ "$(norm "$T/stream.direct")" = "$(norm "$T/stream.fwd")" ] \
    "forwarded stream equals the direct one"

# --- a large body (> 1 MiB: more than one body window)
"$PY" -c '
import json, sys
pad = "x" * (3 * 1024 * 1024)
sys.stdout.write(json.dumps({"model": "lab:qwen3:0.6b", "messages": [{"role": "user", "content": pad}]}))
' >"$T/big.json"
sed 's/"lab:qwen3:0.6b"/"qwen3:0.6b"/' "$T/big.json" >"$T/big.backend"
want=$(mock_fnv "$T/big.backend")
curl -s -o "$T/big.out" -D "$T/big.head" --max-time 30 "$A/v1/chat/completions" \
    --data-binary @"$T/big.json"
check grep -q '^HTTP/1.1 200' "$T/big.head" "3 MiB body forwarded: 200"
check [ "$(hd "$T/big.head" x-mock-body-fnv)" = "$want" ] \
    "3 MiB body reached the backend intact (fnv $want, $(hd "$T/big.head" x-mock-body-len) bytes)"

# --- a client that leaves mid-stream
ms_now() { local t=${EPOCHREALTIME/[.,]/}; echo "${t:0:13}"; }
delays=()
for i in 1 2 3 4 5; do
	rid=fwd-cancel-$i
	curl -s -N --max-time 30 -o "$T/c.$rid" -H "X-Request-Id: $rid" -H 'x-mock-pause-ms: 200' \
	    -H 'x-mock-chunks: 500' --data-binary '{"model":"lab:qwen3:0.6b","stream":true,"messages":[]}' \
	    "$A/v1/chat/completions" 2>/dev/null &
	cpid=$!
	disown $cpid
	wait_until 10 grep -qs '"tok1 "' "$T/c.$rid" || fail "$rid: the stream did not start"
	t0=$(ms_now)
	kill -9 $cpid
	wait_until 5 mock_abort_of "$rid" >/dev/null ||
	    fail "$rid: the backend saw no abort 5 s after the client left: $(curl -s "$MOCK_URL/mock/aborts")"
	at=$(mock_abort_of "$rid" | cut -d' ' -f1)
	delays+=($((at - t0)))
done
log "client cancel -> backend abort through two nodes (ms): ${delays[*]}; median $(printf '%s\n' "${delays[@]}" | median)"
# and before the answer started (the backend holds the request)
rid=fwd-cancel-hang
curl -s --max-time 30 -o /dev/null -H "X-Request-Id: $rid" -H 'x-mock-fail: hang' \
    --data-binary "$BODY_PLAIN" "$A/v1/chat/completions" 2>/dev/null &
cpid=$!
disown $cpid
arrived() { grep -qF "[$rid] POST /v1/chat/completions model \"qwen3:0.6b\" -> backend" "$T/tm-tm.log"; }
wait_until 10 arrived || fail "$rid did not reach the backend"
sleep 0.2
t0=$(ms_now)
kill -9 $cpid
wait_until 5 mock_abort_of "$rid" >/dev/null || fail "$rid: the backend saw no abort 5 s after the client left"
log "client cancel before the answer -> backend abort: $(( $(mock_abort_of "$rid" | cut -d' ' -f1) - t0 )) ms"
check [ "$(printf '%s\n' "${delays[@]}" | median | cut -d. -f1)" -le 300 ] "median cancel delay under 300 ms"

# --- b's internal listener: the node secret
NODE_B=http://127.0.0.1:${NODE_PORT[b]}
h2() { curl -s --http2-prior-knowledge --max-time 5 -o "$T/body" -D "$T/head" -w '%{http_code}' "$@"; }
code=$(h2 "$NODE_B/v1/chat/completions" -H 'tokilake-namespace: lab' -H 'tokilake-model: qwen3:0.6b' \
    --data-binary '{"model":"qwen3:0.6b","messages":[]}')
check [ "$code" = 401 ] "internal listener without a secret: 401"
check [ "$(oai_error_shape)" = invalid_node_secret ] "401 is an OpenAI-shaped error (invalid_node_secret)"
code=$(h2 "$NODE_B/v1/chat/completions" -H "authorization: Bearer ${NODE_SECRET}x" \
    -H 'tokilake-namespace: lab' -H 'tokilake-model: qwen3:0.6b' \
    --data-binary '{"model":"qwen3:0.6b","messages":[]}')
check [ "$code" = 401 ] "internal listener with a wrong secret: 401"
code=$(h2 "$NODE_B/v1/models" -H "authorization: Bearer wrong")
check [ "$code" = 401 ] "internal listener: every path needs the secret (GET /v1/models: 401)"
code=$(h2 "$NODE_B/v1/chat/completions" -H "authorization: Bearer $NODE_SECRET" \
    -H 'tokilake-namespace: lab' -H 'tokilake-model: qwen3:0.6b' \
    --data-binary '{"model":"qwen3:0.6b","messages":[]}')
check [ "$code" = 200 ] "internal listener with the node secret: 200"
grep -q '^HTTP/2 200' "$T/head" || fail "internal listener did not answer over HTTP/2: $(head -n 1 "$T/head")"
code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$NODE_B/v1/models" 2>/dev/null)
check [ "$code" = 000 ] "internal listener does not speak HTTP/1.1 (got $code)"
# a forwarded request is served by local agents only: node a has none
NODE_A=http://127.0.0.1:${NODE_PORT[a]}
code=$(h2 "$NODE_A/v1/chat/completions" -H "authorization: Bearer $NODE_SECRET" \
    -H 'tokilake-namespace: lab' -H 'tokilake-model: qwen3:0.6b' \
    --data-binary '{"model":"qwen3:0.6b","messages":[]}')
check [ "$code" = 503 ] "a request from another node is never forwarded again: 503 ($(head -c 160 "$T/body"))"

# --- the connection a -> b outlives idle gaps longer than b's idle_timeout
# (a PINGs it), and every forwarded request so far used it
sleep 4
req POST /v1/chat/completions --data-binary "$BODY_PLAIN"
check [ "$CODE" = 200 ] "forwarded after 4 s idle (b's http.idle_timeout is $FWD_IDLE): 200"
conns=$(grep -c 'node b: connecting to' "$T/node-a.log")
check [ "$conns" = 1 ] "one connection a -> b for every forwarded request ($conns)"

# --- latency: local (b) vs forwarded (a)
N=${FWD_N:-200}
lat()
{
	local url=$1 i
	for i in $(seq 1 "$N"); do
		curl -s -o /dev/null -w '%{time_total}\n' --max-time 5 "$url/v1/chat/completions" \
		    --data-binary "$BODY_PLAIN"
	done | awk '{ printf "%.3f\n", $1 * 1000 }' | median
}
local_ms=$(lat "$B")
fwd_ms=$(lat "$A")
log "latency, median of $N sequential requests: local (agent on the same node) $local_ms ms, forwarded (a -> b) $fwd_ms ms, added $(awk -v a="$fwd_ms" -v b="$local_ms" 'BEGIN { printf "%.3f", a - b }') ms"

fwd_pass
