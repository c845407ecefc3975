#!/bin/bash
# link-lazy-status.sh: agentd holds the gRPC status of a finished task
# (a Trailers-Only frame) for the link's next write, so the agent is not
# woken for it alone; with no next write it must still leave within
# LINK_LAZY_FINISH_MS (10 ms). The link here is made idle: agentd pings
# every 60 s and tokiame's heartbeat is 10 minutes, so only that timer can
# deliver the status. tokiame keeps a task (its /status "tasks") until the
# status arrives; without it the task would wait for the next ping.
#
# Checks: after one answer, then after a burst of 20, tokiame's task count
# is back to 0 within 500 ms; the time it took is logged.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/mock/mock-lib.sh"
. "$(dirname "$0")/link-lib.sh"

link_setup_with_tokiame

link_token lab
NAMESPACES_YAML="  lab: { tokens: [\"$HASH\"] }"
AGENT_OPTS="ping_interval: 60s, ping_timeout: 120s"
link_node "$T/tokilake.yaml" tls

TM_HEARTBEAT=10m tm_config a "127.0.0.1:$AGENT_PORT" "$TOKEN" \
    "tls: { ca_file: \"$T/ca.crt\", server_name: localhost }"
tm_start a
wait_until 10 listed lab:qwen3:0.6b || fail "lab:qwen3:0.6b not listed within 10 s: $(models)"

# the top-level count (each of its links has its own "tasks" too)
tasks() { curl -s --max-time 2 "http://127.0.0.1:$(cat "$T/a.api")/status" |
    "$PY" -c 'import json, sys; print(json.load(sys.stdin)["tasks"])' 2>/dev/null; }
no_tasks() { [ "$(tasks)" = 0 ]; }
# within_500ms CMD: CMD succeeds within 500 ms (polled every 20 ms)
within_500ms() { local t0; t0=$(now_ms); while ! "$@"; do [ $(($(now_ms) - t0)) -ge 500 ] && return 1; sleep 0.02; done; }

# let the registration's own traffic (models, first heartbeat) pass
sleep 1
chat_ok lab:qwen3:0.6b
T0=$(now_ms)
within_500ms no_tasks || fail "tokiame still holds $(tasks) task(s) 500 ms after the answer: the held status did not leave"
log "ok: one answer: tokiame's task ended $(ms_since "$T0") ms after it (held status sent by the timer)"

for i in $(seq 1 20); do chat_ok lab:qwen3:0.6b; done
T0=$(now_ms)
within_500ms no_tasks || fail "tokiame still holds $(tasks) task(s) 500 ms after a burst of 20"
log "ok: a burst of 20: no task left $(ms_since "$T0") ms after the last answer"

link_pass "a finished task's status reaches the agent on an idle link"
