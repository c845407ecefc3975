#!/bin/bash
# route-retry.sh: a request a replica could not start goes to another
# one, and a replica that keeps failing is taken out of rotation and
# brought back (issue 15: retry before the first byte, circuit breaker).
#
# Two replicas of lab:qwen3:0.6b: tm (mock "m", healthy) and tm2, whose
# backend refuses connections (nothing listens on its port).
#  0. four requests with a 300 KB body, one after the other (replicas
#     take turns): each succeeds and the backend gets the exact body,
#     also when it was retried.
#  1. 40 requests, 4 at a time: every one succeeds (those given to tm2
#     come back as backend_unreachable and are retried on tm), and after
#     agents.breaker_failures (5) failures in a row tm2's breaker opens
#     (logged at info).
#  2. a mock starts on tm2's port; after agents.breaker_cooldown (2s) a
#     request probes tm2, succeeds, and the breaker closes (logged); tm2
#     serves again.
#  3. tm2 goes; tm3's backend answers every request with 503 before any
#     byte: 30 requests all get 200 (retried on tm), tm3's 503 never
#     reaches a client.
#  3b. tm3 goes, tm4's backend answers 429: the same, and the 429s do
#     not open tm4's breaker (they are load, not failures).
#  4. tm goes too: with no other replica, tm4's 429 reaches the client
#     unchanged (its own error body).
#
# On main before the change, the requests given to tm2 failed with 502
# backend_unavailable and those given to tm3 with its 503: about half.
. "$(dirname "$0")/path-lib.sh"
path_setup
eval "path_lib_$(declare -f path_write_config)"
path_write_config()
{
	path_lib_path_write_config "$1"
	sed -i 's/^  ping_timeout: .*/&\n  breaker_failures: 5\n  breaker_cooldown: 2s\n  retries: 1/' "$1"
}
in_log() { tail -n +"${LOG_FROM:-1}" "$T/tokilake.log" | grep -Eq -- "$1"; }
linked_count() { grep -c 'of namespace lab linked from' "$T/tokilake.log"; }
chat() { req POST /v1/chat/completions -H 'content-type: application/json' \
    -d '{"model":"lab:qwen3:0.6b","messages":[]}'; }

TM_CONCURRENCY=8 # as the others: equal scores when idle
path_up
GOOD_URL=$MOCK_URL GOOD_PID=$MOCK_PID
DEAD=$(freeport)
tm_write tm2 "{ name: dead, url: \"http://127.0.0.1:$DEAD/v1\", api_key: sk-backend, concurrency: 8, models: [\"qwen3:0.6b\"], discover: false }"
tm_start tm2
wait_until 15 eval '[ "$(linked_count)" -ge 2 ]' || fail "tm2 did not link"
sleep 1 # its model list follows the link

# 0. a body too big to go inside the offer (300 KB, streamed to the agent
# after its accept): the replica that could not reach its backend had it
# already; the retry sends it again from agentd's copy, byte for byte
"$PY" -c 'import json; print(json.dumps({"model": "lab:qwen3:0.6b", "messages": [{"role": "user", "content": "x" * 300000}]}), end="")' >"$T/big.json"
sed 's/"lab:qwen3:0.6b"/"qwen3:0.6b"/' "$T/big.json" >"$T/big-backend.json"
want="len=$(stat -c %s "$T/big-backend.json") fnv=$(mock_fnv "$T/big-backend.json")"
log_mark
for i in 1 2 3 4; do
	req POST /v1/chat/completions -H 'content-type: application/json' --data-binary "@$T/big.json"
	[ "$CODE" = 200 ] || fail "300 KB body, request $i: $CODE $BODY"
	grep -q "$want" "$T/body" || fail "300 KB body, request $i: the backend saw another body: $BODY (want $want)"
done
check in_log 'could not start it \(backend dead: .*\): retried on agent' \
    "a 300 KB body was retried whole ($want)"

# 1. refused connections: retried, zero client errors, the breaker opens
log_mark
"$PY" "$HERE/route_load.py" --url "$API" --model lab:qwen3:0.6b -n 40 -c 4 \
    >"$T/load1.json" 2>"$T/load1.err" || fail "load client: $(tail -n 5 "$T/load1.err")"
log "refused backend: $(cat "$T/load1.json")"
check [ "$(jget "$T/load1.json" 'j["codes"].get("200", 0)')" = 40 ] \
    "every request succeeded with one backend refusing connections"
check in_log 'could not start it \(backend dead: .*\): retried on agent' \
    "requests were retried on the other replica"
check grep -q 'backend_unreachable' "$T/tm-tm2.log" "tm2 said backend_unreachable"
check in_log 'circuit breaker open for 2000 ms after 5 failures in a row' \
    "tm2's breaker opened: $(grep -m1 'circuit breaker' "$T/tokilake.log" | sed 's/^.*agentd[^ ]* //')"

# 2. its backend comes back: after the cool-down one probe closes it
"$MOCK" -l "127.0.0.1:$DEAD" >"$T/dead.out" 2>"$T/dead.log" </dev/null &
TL_PIDS+=("$!")
DEAD_PID=$!
wait_until 5 eval 'grep -q listening "$T/dead.out"' || fail "the mock on $DEAD did not start"
probe_closed() { chat; [ "$CODE" = 200 ] || fail "during the cool-down: $CODE $BODY"; in_log 'circuit breaker closed'; }
wait_until 20 probe_closed || fail "the breaker did not close after the backend came back"
log "closed: $(grep -m1 'circuit breaker closed' "$T/tokilake.log" | sed 's/^.*agentd[^ ]* //')"
before=$(grep -c 'on dead: 200' "$T/tm-tm2.log")
for i in $(seq 1 10); do chat; [ "$CODE" = 200 ] || fail "after the close: $CODE $BODY"; done
check [ "$(grep -c 'on dead: 200' "$T/tm-tm2.log")" -gt "$before" ] "tm2 serves again"
tm_stop tm2
kill "$DEAD_PID"

# 3. a backend that answers 503 before any byte: retried
cat >"$T/busy.py" <<'PYEOF'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        b = b'{"error":{"message":"busy backend says no","type":"server_error","param":null,"code":"overloaded"}}'
        self.send_response(int(sys.argv[2]))
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PYEOF
"$PY" "$T/busy.py" "$T/busy.port" 503 2>"$T/busy.log" &
TL_PIDS+=("$!")
wait_until 5 test -s "$T/busy.port" || fail "the 503 backend did not start"
BUSY=$(cat "$T/busy.port")
tm_write tm3 "{ name: busy, url: \"http://127.0.0.1:$BUSY/v1\", api_key: sk-backend, concurrency: 8, models: [\"qwen3:0.6b\"], discover: false }"
n0=$(linked_count)
tm_start tm3
wait_until 15 eval '[ "$(linked_count)" -gt "$n0" ]' || fail "tm3 did not link"
sleep 1
log_mark
"$PY" "$HERE/route_load.py" --url "$API" --model lab:qwen3:0.6b -n 30 -c 3 \
    >"$T/load3.json" 2>"$T/load3.err" || fail "load client: $(tail -n 5 "$T/load3.err")"
log "503 backend: $(cat "$T/load3.json")"
check [ "$(jget "$T/load3.json" 'j["codes"].get("200", 0)')" = 30 ] \
    "every request succeeded with one backend answering 503"
check in_log 'could not start it \(the backend answered 503\): retried on agent' \
    "the 503 answers were retried on the other replica"

# 3b. the same with 429 (the backend's rate limit): retried, and not a
# failure for the breaker (5 in a row would open it)
tm_stop tm3
"$PY" "$T/busy.py" "$T/limited.port" 429 2>"$T/limited.log" &
TL_PIDS+=("$!")
wait_until 5 test -s "$T/limited.port" || fail "the 429 backend did not start"
tm_write tm4 "{ name: limited, url: \"http://127.0.0.1:$(cat "$T/limited.port")/v1\", api_key: sk-backend, concurrency: 8, models: [\"qwen3:0.6b\"], discover: false }"
n0=$(linked_count)
tm_start tm4
wait_until 15 eval '[ "$(linked_count)" -gt "$n0" ]' || fail "tm4 did not link"
sleep 1
log_mark
"$PY" "$HERE/route_load.py" --url "$API" --model lab:qwen3:0.6b -n 30 -c 3 \
    >"$T/load4.json" 2>"$T/load4.err" || fail "load client: $(tail -n 5 "$T/load4.err")"
log "429 backend: $(cat "$T/load4.json")"
check [ "$(jget "$T/load4.json" 'j["codes"].get("200", 0)')" = 30 ] \
    "every request succeeded with one backend answering 429"
check in_log 'could not start it \(the backend answered 429\): retried on agent' \
    "the 429 answers were retried on the other replica"
check [ "$(grep -c 'on limited: 429' "$T/tm-tm4.log")" -ge 5 ] \
    "tm4 answered 429 at least 5 times ($(grep -c 'on limited: 429' "$T/tm-tm4.log"))"
in_log 'circuit breaker open' && fail "a 429 counted as a failure: $(grep 'circuit breaker open' "$T/tokilake.log" | tail -n 1)"

# 4. no other replica: the 429 reaches the client as the backend said it
# (whatever tm4's breaker says, with nobody else it gets the request)
log_mark
tm_stop tm
wait_until 10 in_log 'of namespace lab .* unlinked' || fail "tm did not unlink"
chat
check [ "$CODE" = 429 ] "a 429 with no other replica reaches the client ($CODE)"
check grep -q 'busy backend says no' "$T/body" "with the backend's own body: $BODY"
path_pass "refused, 503 and 429 backends: every request retried elsewhere; breaker opened and closed"
