#!/bin/bash
# queue-bounds.sh: the admission queue's bounds (issue 15). One agent of
# capacity 2 whose backend takes 10 s per request; http.queue_max 3,
# http.queue_timeout 3s.
#   - two requests run; three more wait; one more finds the queue full:
#     429 at once, OpenAI-shaped (server_error / model_overloaded) with
#     Retry-After a number >= 1
#   - the three waiting past queue_timeout: 429 with Retry-After
#   - a waiting request whose client goes away leaves the queue (agentd
#     says so) and never reaches the backend nor holds a slot: once the
#     two end, a new request is served; the backend saw 3 requests in all
#   - http.queue_timeout 0 (by a reload): nothing waits, 429 at once
#   - no agent linked at all: 503 no_agent at once, as without a queue
. "$(dirname "$0")/queue-lib.sh"
path_setup
TM_CONCURRENCY=2
QUEUE_MAX=3
QUEUE_TIMEOUT=3s
FIRST_BYTE=60s
path_up

# is429 NAME: 429, OpenAI-shaped model_overloaded, Retry-After >= 1
is429()
{
	local ra
	[ "$(cat "$T/$1.code")" = 429 ] || fail "$1: expected 429, got $(cat "$T/$1.code"): $(cat "$T/$1.body")"
	[ "$(oai_error_shape "$T/$1.body")" = model_overloaded ] ||
	    fail "$1: not an OpenAI-shaped model_overloaded error: $(cat "$T/$1.body")"
	[ "$(jget "$T/$1.body" 'j["error"]["type"]')" = server_error ] || fail "$1: type: $(cat "$T/$1.body")"
	ra=$(tr -d '\r' <"$T/$1.head" | sed -n 's/^[Rr]etry-[Aa]fter: *//p')
	[[ $ra =~ ^[0-9]+$ ]] && [ "$ra" -ge 1 ] && [ "$ra" -le 60 ] ||
	    fail "$1: Retry-After '$ra' is not a number of seconds in 1..60"
	log "ok: $1: 429 after $(cat "$T/$1.ms") ms, Retry-After $ra: $(jget "$T/$1.body" 'j["error"]["message"]')"
}

bg run1 "$KEY_greedy" 10000
bg run2 "$KEY_greedy" 10000
wait_until 10 offered 2 || fail "the two first requests were not offered to the agent"
bg q1 "$KEY_greedy" 100
bg q2 "$KEY_polite" 100
bg q3 "$KEY_greedy" 100
wait_until 10 waiting 3 || fail "three requests do not wait: $(grep 'waits for' "$T/tokilake.log" | tail -n 3)"
log "ok: 2 run, 3 wait"

# ---- the queue's bound: 429 at once
bg full "$KEY_polite" 100
wait_until 5 done_file full || fail "the request past queue_max was not answered within 5 s"
is429 full

# ---- queue_timeout: the three waiting get 429
for n in q1 q2 q3; do
	wait_until 10 done_file $n || fail "$n not answered 10 s after queue_timeout"
	is429 $n
	[ "$(cat "$T/$n.ms")" -ge 2500 ] || fail "$n answered after $(cat "$T/$n.ms") ms, before queue_timeout (3s)"
done

# ---- a waiting request whose client leaves
bg gone "$KEY_polite" 100 --max-time 1
wait_until 10 done_file gone || fail "curl --max-time 1 did not end"
cancelled() { grep -q 'queued request [0-9]* cancelled by the client' "$T/tokilake.log"; }
wait_until 5 cancelled || fail "agentd did not drop the waiting request whose client left"
log "ok: the waiting request whose client left was dropped"
wait_until 20 done_file run1 && wait_until 5 done_file run2 || fail "the two running requests did not end"
check [ "$(cat "$T/run1.code")/$(cat "$T/run2.code")" = 200/200 ] "the two running requests were served"
bg after "$KEY_polite" 100
wait_until 10 done_file after || fail "a request after the others ended was not answered"
check [ "$(cat "$T/after.code")" = 200 ] "a request after them is served (no slot held by the dropped one)"
total=$(curl -s "$MOCK_URL/mock/requests" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["paths"].get("/v1/chat/completions", 0))')
check [ "$total" = 3 ] "the backend saw 3 chat requests (none of the refused, timed out or cancelled)"

# ---- http.queue_timeout 0, by a reload: 429 at once
QUEUE_TIMEOUT=0s
path_write_config "$T/tokilake.yaml"
kill -HUP "$MASTER"
reloaded() { grep -q 'reload: generation [0-9]* serves' "$T/tokilake.log"; }
wait_until 10 reloaded || fail "the reload to queue_timeout 0 did not complete"
bg run3 "$KEY_greedy" 5000
bg run4 "$KEY_greedy" 5000
wait_until 10 offered 5 || fail "two more requests were not offered to the agent"
bg zero "$KEY_polite" 100
wait_until 10 done_file zero || fail "the request with queue_timeout 0 was not answered"
is429 zero
[ ! -s "$T/run3.ms" ] || fail "the 429 came only after a running request ended"
wait_until 20 done_file run3 && wait_until 5 done_file run4 || fail "the two running requests did not end"

# ---- no agent linked at all: 503 as before
tm_stop tm
unlinked() { ! path_linked lab:qwen3:0.6b; }
LINK_KEY=$KEY_polite wait_until 10 unlinked || fail "the model is still listed after its agent stopped"
CURL_MAX_TIME=10 expect_oai 503 no_agent POST /v1/chat/completions -H "Authorization: Bearer $KEY_polite" \
    -H 'Content-Type: application/json' -d '{"model":"lab:qwen3:0.6b","messages":[]}'
for p in "${BG[@]}"; do wait "$p"; done
path_pass "queue bound and timeout 429 with Retry-After, cancel frees, 503 without agents"
