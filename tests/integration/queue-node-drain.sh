#!/bin/bash
# queue-node-drain.sh: a node's graceful stop with requests waiting in
# its admission queue (issue 15: slice D's queue with slice C's drain).
#
# One agent of capacity 1, its backend takes 3 s per request. One request
# runs, two wait. SIGTERM to tokilake: agentd sends the agent Drain, so
# the agent takes no new task from this node. The running request still
# completes (200); the two waiting are answered at once with 503 no_agent
# (OpenAI-shaped), neither dispatched to the draining agent nor kept until
# http.queue_timeout (30 s) for a 429, nor told 404 model_not_found; the
# backend sees the one request only; tokilake exits 0.
. "$(dirname "$0")/queue-lib.sh"
path_setup
TM_CONCURRENCY=1
FIRST_BYTE=60s
SHUTDOWN_TIMEOUT=20s
path_up

bg run "$KEY_greedy" 3000
wait_until 10 offered 1 || fail "the first request was not offered to the agent"
bg q1 "$KEY_greedy" 100
bg q2 "$KEY_polite" 100
wait_until 10 waiting 2 || fail "two requests do not wait: $(grep 'waits for' "$T/tokilake.log" | tail -n 2)"
log "ok: 1 runs, 2 wait"

t0=$(now_ms)
kill -TERM "$MASTER"
drained() { grep -q 'asked 1 agent to drain' "$T/tokilake.log"; }
wait_until 5 drained || fail "agentd did not drain its agent on SIGTERM"
for n in q1 q2; do
	wait_until 5 done_file $n || fail "$n not answered within 5 s of SIGTERM"
	[ "$(cat "$T/$n.code")" = 503 ] || fail "$n: expected 503, got $(cat "$T/$n.code"): $(cat "$T/$n.body")"
	[ "$(oai_error_shape "$T/$n.body")" = no_agent ] ||
	    fail "$n: not an OpenAI-shaped no_agent error: $(cat "$T/$n.body")"
	log "ok: $n: 503 no_agent $(($(now_ms) - t0)) ms after SIGTERM: $(jget "$T/$n.body" 'j["error"]["message"]')"
done
wait_until 10 done_file run || fail "the running request did not end"
check [ "$(cat "$T/run.code")" = 200 ] "the running request completed through the stop ($(cat "$T/run.code"))"
total=$(curl -s "$MOCK_URL/mock/requests" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["paths"].get("/v1/chat/completions", 0))')
check [ "$total" = 1 ] "the backend saw the running request only ($total)"
exited() { ! alive "$MASTER"; }
wait_until 20 exited || fail "tokilake did not exit after its graceful stop"
wait "$MASTER"
rc=$?
check [ "$rc" = 0 ] "tokilake exited 0 ($rc)"
MASTER=
for p in "${BG[@]}"; do wait "$p"; done
path_pass "node stop: the running request served, the waiting ones 503 at once"
