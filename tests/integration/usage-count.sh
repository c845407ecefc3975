#!/bin/bash
# usage-count.sh: the tokens of each request, counted by the worker from
# the bytes it relays (tokilake -> agentd -> tokiame -> the mock), and
# the stream usage it asks for on a client's behalf.
#
# Checks, for each request the worker's usage record (its log line
# "usage req=ID ..."):
#   - a plain chat answer and an embedding: the answer's own counts;
#   - a stream whose client did not ask for usage: the counts the mock
#     would have sent (the worker asked), and the client gets byte for
#     byte what the mock sends to a direct request that did not ask (no
#     "usage":null, no usage chunk) -- also with include_usage false;
#   - a stream whose client asked: it gets the usage chunk, byte for byte
#     as from the mock directly, and the record has the same counts;
#   - usage in the last content chunk (llama.cpp's way): it reaches the
#     client as it would unasked, and is counted;
#   - answers without usage, plain and streamed: tokens=unknown;
#   - a failed request and a client that left have a record too.
. "$(dirname "$0")/path-lib.sh"
path_setup
path_up

# urec ID FIELD: FIELD of request ID's usage record.
urec() { grep -h "usage req=$1 " "$T/tokilake.log" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p"; }
has_rec() { grep -q "usage req=$1 " "$T/tokilake.log"; }
# rec_is ID PROMPT COMPLETION: the record says known, these counts, ok.
rec_is()
{
	wait_until 10 has_rec "$1" || fail "$1: no usage record in the log"
	local got
	got="$(urec "$1" ns) $(urec "$1" model) $(urec "$1" status) $(urec "$1" tokens) $(urec "$1" prompt_tokens) $(urec "$1" completion_tokens) $(urec "$1" end)"
	check [ "$got" = "lab qwen3:0.6b 200 known $2 $3 ok" ] "$1: record $got (want $2 prompt, $3 completion tokens)"
}
rec_unknown()
{
	wait_until 10 has_rec "$1" || fail "$1: no usage record in the log"
	check [ "$(urec "$1" tokens) $(urec "$1" prompt_tokens) $(urec "$1" completion_tokens)" = "unknown - -" ] \
	    "$1: record says tokens=unknown: $(grep -h "usage req=$1 " "$T/tokilake.log")"
}
# stream ID OUT BODY [CURL ARGS]: a streamed request through tokilake.
stream()
{
	local id=$1 out=$2 body=$3
	shift 3
	curl -s -N --max-time 20 -o "$out" -D "$out.head" -H "X-Request-Id: $id" \
	    -H 'Content-Type: application/json' "$@" --data-binary "$body" "$API/v1/chat/completions" ||
	    fail "$id: curl failed"
}
# direct OUT BODY [CURL ARGS]: the same from the mock itself.
direct()
{
	local out=$1 body=$2
	shift 2
	curl -s -N --max-time 20 -o "$out" -H 'Content-Type: application/json' "$@" \
	    --data-binary "$body" "$MOCK_URL/v1/chat/completions" || fail "direct: curl failed"
}
# same A B WHAT: identical bytes.
same()
{
	cmp -s "$1" "$2" || { diff <(cat -A "$2") <(cat -A "$1") | head -n 20; fail "$3: the bytes differ"; }
	log "ok: $3: byte for byte ($(stat -c %s "$1") bytes)"
}
hd() { tr -d '\r' <"$1" | sed -n "s/^$2: *//Ip" | head -n 1; }

# ---- a plain chat answer
req POST /v1/chat/completions -H 'X-Request-Id: u-plain' -H 'Content-Type: application/json' \
    --data-binary '{"model":"lab:qwen3:0.6b","messages":[{"role":"user","content":"hello"}]}'
check [ "$CODE" = 200 ] "plain chat 200"
rec_is u-plain "$(jbody 'j["usage"]["prompt_tokens"]')" "$(jbody 'j["usage"]["completion_tokens"]')"
check [ "$(urec u-plain stream)" = 0 ] "u-plain: not a stream"
check [ "$(urec u-plain key)" = - ] "u-plain: anonymous"
check [ "$(urec u-plain ttfb_ms)" != - ] "u-plain: a time to first byte"

# ---- an embedding: no completion tokens
req POST /v1/embeddings -H 'X-Request-Id: u-emb' -H 'Content-Type: application/json' \
    --data-binary '{"model":"lab:qwen3:0.6b","input":["a","b"]}'
check [ "$CODE" = 200 ] "embeddings 200"
rec_is u-emb "$(jbody 'j["usage"]["prompt_tokens"]')" 0

# ---- a stream whose client did not ask
K=(-H 'x-mock-fixed-id: 7' -H 'x-mock-chunks: 5')
stream u-s1 "$T/s1" '{"model":"lab:qwen3:0.6b","stream":true,"messages":[]}' "${K[@]}"
direct "$T/s1.direct" '{"model":"qwen3:0.6b","stream":true,"messages":[]}' "${K[@]}"
check grep -q '"tok4 "' "$T/s1" "u-s1: the stream came whole"
check [ "$(grep -c usage "$T/s1")" = 0 ] "u-s1: nothing of usage reaches a client that did not ask"
same "$T/s1" "$T/s1.direct" "u-s1: the client gets what the mock sends unasked"
# the mock counts (body length + 3) / 4 for the prompt, one per token event
len=$(hd "$T/s1.head" x-mock-body-len)
ask='"stream_options":{"include_usage":true},'
plain='{"model":"qwen3:0.6b","stream":true,"messages":[]}'
check [ "$len" = $((${#plain} + ${#ask})) ] "u-s1: the backend was asked for usage ($len bytes)"
rec_is u-s1 $(((len + 3) / 4)) 5
check [ "$(urec u-s1 stream)" = 1 ] "u-s1: a stream"

# ... with the events arriving one by one (a pause between them), over HTTP/1
# keep-alive: the same bytes (path-stream-timing.sh checks none waits)
stream u-s1p "$T/s1p" '{"model":"lab:qwen3:0.6b","stream":true,"messages":[]}' "${K[@]}" -H 'x-mock-pause-ms: 40'
same "$T/s1p" "$T/s1.direct" "u-s1p (events one by one): the client gets what the mock sends unasked"
rec_is u-s1p $(((len + 3) / 4)) 5


stream u-s2 "$T/s2" '{"model":"lab:qwen3:0.6b","stream":true,"stream_options":{"include_usage":false},"messages":[]}' "${K[@]}"
direct "$T/s2.direct" '{"model":"qwen3:0.6b","stream":true,"stream_options":{"include_usage":false},"messages":[]}' "${K[@]}"
same "$T/s2" "$T/s2.direct" "u-s2 (include_usage false): the client gets what the mock sends unasked"
len=$(hd "$T/s2.head" x-mock-body-len)
rec_is u-s2 $(((len + 3) / 4)) 5

# ---- a stream whose client asked: everything, as the mock sends it
stream u-s3 "$T/s3" '{"model":"lab:qwen3:0.6b","stream":true,"stream_options":{"include_usage":true},"messages":[]}' "${K[@]}"
direct "$T/s3.direct" '{"model":"qwen3:0.6b","stream":true,"stream_options":{"include_usage":true},"messages":[]}' "${K[@]}"
same "$T/s3" "$T/s3.direct" "u-s3 (asked): the client gets the usage chunk"
check [ "$(grep -c '"usage":null' "$T/s3")" = 5 ] "u-s3: every token chunk has usage null"
grep '"choices":\[\]' "$T/s3" | sed 's/^data: //' >"$T/s3.usage"
rec_is u-s3 "$(jget "$T/s3.usage" 'j["usage"]["prompt_tokens"]')" \
    "$(jget "$T/s3.usage" 'j["usage"]["completion_tokens"]')"

# ---- usage in the last content chunk, asked or not (llama.cpp)
stream u-s4 "$T/s4" '{"model":"lab:qwen3:0.6b","stream":true,"messages":[]}' "${K[@]}" -H 'x-mock-usage: last'
# (the body as the backend got it: the mock counts the prompt by its length)
direct "$T/s4.direct" '{"stream_options":{"include_usage":true},"model":"qwen3:0.6b","stream":true,"messages":[]}' \
    "${K[@]}" -H 'x-mock-usage: last'
same "$T/s4" "$T/s4.direct" "u-s4 (usage in the last content chunk): what the mock sends"
len=$(hd "$T/s4.head" x-mock-body-len)
rec_is u-s4 $(((len + 3) / 4)) 5

# ---- no usage in the answer: unknown, never a guess
req POST /v1/chat/completions -H 'X-Request-Id: u-none' -H 'x-mock-usage: none' \
    -H 'Content-Type: application/json' --data-binary '{"model":"lab:qwen3:0.6b","messages":[]}'
check [ "$CODE" = 200 ] "no-usage chat 200"
rec_unknown u-none
stream u-s5 "$T/s5" '{"model":"lab:qwen3:0.6b","stream":true,"messages":[]}' "${K[@]}" -H 'x-mock-usage: none'
direct "$T/s5.direct" '{"model":"qwen3:0.6b","stream":true,"messages":[]}' "${K[@]}" -H 'x-mock-usage: none'
same "$T/s5" "$T/s5.direct" "u-s5 (a backend that never sends usage): unchanged"
rec_unknown u-s5

# ---- a failed request has a record too
req POST /v1/chat/completions -H 'X-Request-Id: u-fail' -H 'x-mock-fail: status:503' \
    -H 'Content-Type: application/json' --data-binary '{"model":"lab:qwen3:0.6b","messages":[]}'
wait_until 10 has_rec u-fail || fail "u-fail: no usage record"
check [ "$(urec u-fail status) $(urec u-fail tokens)" = "503 unknown" ] \
    "u-fail: the backend's 503, tokens unknown: $(grep -h 'usage req=u-fail ' "$T/tokilake.log")"

# ---- a client that leaves mid-stream: client_gone, no tokens
curl -s -N --max-time 1 -o /dev/null -H 'X-Request-Id: u-gone' -H 'x-mock-pause-ms: 300' \
    -H 'x-mock-chunks: 50' --data-binary '{"model":"lab:qwen3:0.6b","stream":true,"messages":[]}' \
    "$API/v1/chat/completions"
wait_until 10 has_rec u-gone || fail "u-gone: no usage record after the client left"
check [ "$(urec u-gone end) $(urec u-gone tokens) $(urec u-gone status)" = "client_gone unknown 200" ] \
    "u-gone: $(grep -h 'usage req=u-gone ' "$T/tokilake.log")"

path_pass "usage counted from the relayed bytes; streams asked for and stripped"
