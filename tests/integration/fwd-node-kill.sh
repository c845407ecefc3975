#!/bin/bash
# fwd-node-kill.sh: node b (holding the agent) dies in the middle of a
# request forwarded from node a.
#
#   - the client on a gets an error at once (an SSE error event on its
#     stream), never a hang;
#   - new requests to a get 503 (b cannot be reached, then b's agent
#     leaves a's registry after node.ttl);
#   - once an agent of the namespace links to a, a serves again.
. "$(dirname "$0")/fwd-lib.sh"
fwd_setup
fwd_up
A=$(fwd_api a)

ms_now() { local t=${EPOCHREALTIME/[.,]/}; echo "${t:0:13}"; }

curl -s -N --max-time 30 -o "$T/long.out" -H 'x-mock-pause-ms: 100' -H 'x-mock-chunks: 1000' \
    --data-binary '{"model":"lab:qwen3:0.6b","stream":true,"messages":[]}' \
    "$A/v1/chat/completions" 2>/dev/null &
cpid=$!
TL_PIDS+=("$cpid")
wait_until 10 grep -qs '"tok2 "' "$T/long.out" || fail "the forwarded stream did not start"
t0=$(ms_now)
fwd_node_kill b
log "node b killed (kill -9, every process)"
wait_until 5 none_alive "$cpid" || fail "the client on a still waits 5 s after node b died"
t1=$(ms_now)
wait "$cpid"
log "client on a finished $((t1 - t0)) ms after the kill; its stream ends with: $(tail -c 300 "$T/long.out" | tr '\n' ' ')"
check grep -q '"error"' "$T/long.out" "the stream ended with an error event"
check [ "$(grep -c '"tok' "$T/long.out")" -lt 1000 ] "the stream was cut, not completed"

# new requests: b cannot be reached (503), then its agent leaves a's registry (503 no_agent)
expect_oai 503 - POST /v1/chat/completions --data-binary '{"model":"lab:qwen3:0.6b","messages":[]}'
gone() { ! fwd_linked a "lab:qwen3:0.6b"; }
wait_until 15 gone || fail "b's agent still listed by a 15 s after b died"
log "b's agent left a's registry ${WAITED} ms after the first check"
expect_oai 503 - POST /v1/chat/completions --data-binary '{"model":"lab:qwen3:0.6b","messages":[]}'

# an agent of lab links to a: served again
AGENT_PORT=${NODE_AGENT[a]}
tm_write tm2
tm_start tm2
wait_until 15 fwd_linked a "lab:qwen3:0.6b" || fail "the agent linked to a is not listed by a"
req POST /v1/chat/completions --data-binary '{"model":"lab:qwen3:0.6b","messages":[]}'
check [ "$CODE" = 200 ] "an agent on a: 200 again"

# the agent of the dead node keeps retrying; stop it first
tm_stop tm
fwd_pass
