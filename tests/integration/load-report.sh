#!/bin/bash
# load-report.sh: the load a backend reports reaches agentd (issue 15,
# slice A). The real tokilake and tokiame, the mock backend behind
# tokiame made to look busy through POST /mock/load.
#
# Checks:
#  - the mock's vLLM /metrics says waiting 7, running 3, KV 0.42: agentd
#    logs (debug) "load agent A model lab's qwen3:0.6b: in_flight 0/4
#    waiting 7 running 3 kv 420" from tokiame's heartbeat; agentd measured
#    the link's round trip (its debug line); tokiame's /status shows the
#    backend's load;
#  - under traffic the figures follow the backend (waiting 0 running 1);
#  - /metrics that never answers: each probe is given up (500 ms), the
#    load is unknown meanwhile, chats all answer 200; then it is back;
#  - the same as llama.cpp's /metrics (no model label: the whole backend);
#  - /metrics gone (404): auto finds Ollama's /api/ps (waiting 0; running
#    is what tokiame runs there); everything gone: the load is unknown
#    ("waiting - running - kv -") and, despite traffic, the endpoints are
#    not asked again for a minute (the mock counts the asks);
#  - chats work all along (a probe never fails a task);
#  - load_probe: off asks nothing;
#  - an older agent (python grpcio, heartbeats without models) links and
#    serves as before; agentd logs no load for it.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/mock/mock-lib.sh"
. "$(dirname "$0")/link-lib.sh"

link_setup_with_tokiame
link_stubs

link_token lab
NAMESPACES_YAML="  lab: { tokens: [\"$HASH\"] }"
AGENT_OPTS="ping_interval: 1s, ping_timeout: 5s"
link_node "$T/tokilake.yaml" plain
POLL=0.2

mock_load() { curl -s --max-time 2 -X POST "$MOCK_URL/mock/load" -d "$1" >/dev/null || fail "POST /mock/load $1"; }
mock_asked() { curl -s --max-time 2 "$MOCK_URL/mock/load" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['asked']['$1'])"; }

# load_seen ERE: agentd logged a load line for qwen3:0.6b matching ERE
# (after the mark); each poll sends a chat so the backend has traffic.
load_seen()
{
	chat lab:qwen3:0.6b
	[ "$CODE" = 200 ] || fail "chat during the test: $CODE ${BODY:0:200}"
	tail -n +"${LOG_FROM:-1}" "$T/tokilake.log" |
	    grep -Eq -- "load agent [^ ]+ model qwen3:0\.6b: in_flight [0-9]+/[0-9]+ $1"
}

# ---- vLLM /metrics ----------------------------------------------------------
mock_load '{"waiting":7,"running":3,"kv":0.42,"metrics":"vllm"}'
tm_config a "127.0.0.1:$AGENT_PORT" "$TOKEN" "tls: { plaintext: true }"
log_mark
tm_start a
A=$TM_PID
wait_until 15 listed lab:qwen3:0.6b || fail "lab:qwen3:0.6b not listed within 15 s: $(models)"
wait_until 20 load_seen 'waiting 7 running 3 kv 420$' ||
    fail "agentd never logged waiting 7 running 3 kv 420: $(grep 'load agent' "$T/tokilake.log" | tail -3)"
log "ok: agentd knows the vLLM backend's load: $(grep -m1 'load agent' "$T/tokilake.log" | sed 's/.*load agent/load agent/')"
grep -q 'reading its load from /metrics (vllm)' "$T/tm-a.log" || fail "tokiame did not say where it reads the load"
grep -Eq 'agent [^ ]+: link round trip [0-9]+ us' "$T/tokilake.log" || fail "agentd measured no round trip"
log "ok: $(grep -Eo 'link round trip [0-9]+ us' "$T/tokilake.log" | head -1)"

# tokiame's /status shows it too
status_load()
{
	chat lab:qwen3:0.6b
	tm_api a /status | "$PY" -c '
import json, sys
l = json.load(sys.stdin)["backends"][0]["load"]
sys.exit(0 if (l["from"], l["kind"], l["known"], l.get("waiting"), l.get("running"),
               l.get("kv_permille")) == ("/metrics", "vllm", True, 7, 3, 420) else 1)'
}
wait_until 20 status_load || fail "tokiame /status does not show the load: $(tm_api a /status)"
log "ok: tokiame /status shows the backend's load"

log_mark
mock_load '{"waiting":0,"running":1,"kv":0.05}'
wait_until 20 load_seen 'waiting 0 running 1 kv 50$' || fail "the new figures never reached agentd"
log "ok: the figures follow the backend under traffic"

# ---- /metrics hangs: 500 ms, unknown, chats unharmed -------------------------
log_mark
mock_load '{"hang":true}'
wait_until 20 load_seen 'waiting - running - kv -$' || fail "a hung /metrics did not make the load unknown"
wait_until 5 grep -Eq 'reading its load fails: GET /metrics: .*(timed out|Timeout)' "$T/tm-a.log" ||
    fail "tokiame did not say the probe timed out: $(grep load "$T/tm-a.log" | tail -3)"
aborts=$(curl -s --max-time 2 "$MOCK_URL/mock/aborts" | grep -o '"/metrics"' | wc -l)
[ "$aborts" -ge 1 ] || fail "the mock saw no probe given up"
log_mark
mock_load '{"hang":false,"waiting":7,"running":3,"kv":0.42}'
wait_until 20 load_seen 'waiting 7 running 3 kv 420$' || fail "the load did not come back after the hang"
log "ok: a hung /metrics (given up $aborts times) made the load unknown, chats still 200, then back"

# ---- llama.cpp /metrics: no model label -------------------------------------
log_mark
mock_load '{"waiting":2,"running":5,"kv":0.9,"metrics":"llamacpp"}'
wait_until 20 load_seen 'waiting 2 running 5 kv 900$' || fail "llama.cpp metrics never reached agentd"
log "ok: llama.cpp's /metrics (whole backend) applies to its model"

# ---- /metrics gone: Ollama's /api/ps ----------------------------------------
log_mark
mock_load '{"metrics":"off"}'
wait_until 20 load_seen 'waiting 0 running [0-9]+ kv 0$' || fail "no Ollama-style load after /metrics went away"
wait_until 5 grep -q 'reading its load from /api/ps (ollama)' "$T/tm-a.log" ||
    fail "tokiame did not move to /api/ps: $(grep load "$T/tm-a.log" | tail -3)"
log "ok: /metrics 404 -> /api/ps (Ollama has no queue figure)"

# ---- everything gone: unknown, and not asked again for a minute -------------
log_mark
mock_load '{"ps_on":false,"slots_on":false}'
wait_until 20 load_seen 'waiting - running - kv -$' || fail "the load did not become unknown"
wait_until 10 grep -q 'cannot read its load' "$T/tm-a.log" || fail "tokiame did not say it cannot read the load"
m0=$(mock_asked metrics) p0=$(mock_asked ps) s0=$(mock_asked slots)
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
	chat lab:qwen3:0.6b
	[ "$CODE" = 200 ] || fail "chat with no load endpoint: $CODE ${BODY:0:200}"
	sleep 0.2
done
m1=$(mock_asked metrics) p1=$(mock_asked ps) s1=$(mock_asked slots)
[ "$m1" = "$m0" ] && [ "$p1" = "$p0" ] && [ "$s1" = "$s0" ] ||
    fail "endpoints that answered 404 were asked again within the minute: metrics $m0->$m1 ps $p0->$p1 slots $s0->$s1"
log "ok: 15 chats over 3 s, no probe after the 404s (metrics $m1, ps $p1, slots $s1 asks in all)"
kill -TERM "$A"
wait "$A" 2>/dev/null

# ---- load_probe: off --------------------------------------------------------
curl -s -X POST "$MOCK_URL/mock/reset" >/dev/null
mock_load '{"metrics":"vllm","ps_on":true,"slots_on":true}'
TM_BACKEND_EXTRA="load_probe: off" tm_config off "127.0.0.1:$AGENT_PORT" "$TOKEN" "tls: { plaintext: true }"
log_mark
tm_start off
OFF=$TM_PID
wait_until 15 listed lab:qwen3:0.6b || fail "tokiame with load_probe: off did not link"
wait_until 20 load_seen 'waiting - running - kv -$' || fail "load_probe off: no unknown load line"
[ "$(mock_asked metrics)$(mock_asked ps)$(mock_asked slots)" = 000 ] || fail "load_probe: off asked the backend"
log "ok: load_probe: off asks nothing, reports in_flight/capacity only"
kill -TERM "$OFF"
wait "$OFF" 2>/dev/null

# ---- an older agent: heartbeats without models ------------------------------
log_mark
py_agent old --addr "127.0.0.1:$AGENT_PORT" --namespace lab --token "$TOKEN" \
    --agent-id old-agent --models m-old
wait_py old '^REGISTERED ' 15
wait_until 10 listed lab:m-old || fail "the older agent's model is not listed"
sleep 2.5 # two heartbeats at least
chat lab:m-old
[ "$CODE" = 200 ] || fail "chat through the older agent: $CODE ${BODY:0:200}"
! tail -n +"$LOG_FROM" "$T/tokilake.log" | grep -q 'load agent old-agent' ||
    fail "agentd logged a load for an agent that reports none"
log "ok: an agent without per-model load links and serves"

link_pass "load reported per model reaches agentd"
