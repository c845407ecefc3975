#!/usr/bin/env bash
# tl-mock-openai, endpoint by endpoint and knob by knob: models (and
# changing them at run time), chat and completions (digests of the exact
# body, streaming order and pauses), embeddings, binary speech answers
# byte for byte, multipart digests, echo, injected failures (status, cut,
# hang, slow first byte), abort records within 100 ms of the client
# leaving (mid-stream, hanging, before the first byte), request counts,
# keep-alive, threads, and a clean exit on SIGTERM.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/mock/mock-lib.sh"
mock_setup

PY=$(command -v /usr/bin/python3 || command -v python3) || skip "python3 not installed"

# jget FILE EXPR: a Python expression on the JSON in FILE (as j).
jget()
{
	"$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); v=eval(sys.argv[2]); print(json.dumps(v) if isinstance(v,(dict,list,bool)) or v is None else v)' "$1" "$2" ||
	    fail "jget $2: not JSON or no such member: $(head -c 300 "$1")"
}

# post PATH [CURL ARGS...]: CODE, BODY ($T/body), HDRS (lower-case names).
post()
{
	local path=$1
	shift
	CODE=$(curl -s -o "$T/body" -D "$T/head" -w '%{http_code}' --max-time 10 "$@" "$MOCK_URL$path")
	CURL_RC=$?
	BODY=$(cat "$T/body")
	HDRS=$(tr -d '\r' <"$T/head")
}
get() { post "$1" "${@:2}"; }
# hdr NAME: the value of response header NAME (any case) in HDRS.
hdr() { grep -i "^$1:" <<<"$HDRS" | head -n 1 | sed 's/^[^:]*: *//'; }

# ---- command line
"$MOCK" -l nonsense >/dev/null 2>&1
check [ $? -eq 2 ] "-l without a port: exit 2"
"$MOCK" -l 127.0.0.1:1 --chunks x >/dev/null 2>&1
check [ $? -eq 2 ] "--chunks x: exit 2"
check [ "$(printf '' | "$MOCK" --fnv)" = "cbf29ce484222325 0" ] "--fnv of nothing is the FNV-1a 64 basis"
check [ "$(printf 'a' | "$MOCK" --fnv)" = "af63dc4c8601ec8c 1" ] "--fnv of \"a\" is FNV-1a 64"

mock_start m -m 'a,b:c'
M_PID=$MOCK_PID

# ---- health, models
get /healthz
check [ "$CODE" = 200 ] "GET /healthz -> 200"
get /v1/models
check [ "$CODE" = 200 ] "GET /v1/models -> 200"
check [ "$(jget "$T/body" '[m["id"] for m in j["data"]]')" = '["a", "b:c"]' ] "models a, b:c: $BODY"
check [ "$(jget "$T/body" 'j["object"]+" "+j["data"][1]["object"]+" "+j["data"][1]["owned_by"]')" = "list model mock" ] "OpenAI list shape"
get /v1/models/b:c
check [ "$CODE:$(jget "$T/body" 'j["id"]')" = "200:b:c" ] "GET /v1/models/b:c -> the model"
get /v1/models/nope
check [ "$CODE:$(jget "$T/body" 'j["error"]["code"]')" = "404:model_not_found" ] "GET /v1/models/nope -> 404 model_not_found"

post /mock/models --data-binary '{"models":["x","lab:qwen3:0.6b"]}'
check [ "$CODE" = 200 ] "POST /mock/models -> 200"
get /v1/models
check [ "$(jget "$T/body" '[m["id"] for m in j["data"]]')" = '["x", "lab:qwen3:0.6b"]' ] "model list changed at run time: $BODY"
post /mock/models --data-binary '{"models":[1]}'
check [ "$CODE" = 400 ] "POST /mock/models with a number -> 400"
post /mock/models --data-binary '{"models":[]}'
get /v1/models
check [ "$(jget "$T/body" 'j["data"]')" = '[]' ] "empty model list"
post /mock/models --data-binary '{"models":["a","b:c"]}'

# ---- chat, not streamed: digest of the exact body, credentials, request id
printf '%s\n%s' '{"model": "lab:qwen3:0.6b",' ' "messages": [{"role": "user", "content": "h\u00e9llo \"you\""}]}' >"$T/chat.json"
want_fnv=$(mock_fnv "$T/chat.json")
want_len=$(stat -c %s "$T/chat.json")
post /v1/chat/completions -H 'Content-Type: application/json' -H 'Authorization: Bearer sk-backend' \
    -H 'X-Request-Id: rid-1' --data-binary @"$T/chat.json"
check [ "$CODE" = 200 ] "POST /v1/chat/completions -> 200"
check [ "$(hdr x-mock-body-fnv)" = "$want_fnv" ] "x-mock-body-fnv = FNV-1a of the body sent ($want_fnv)"
check [ "$(hdr x-mock-body-len)" = "$want_len" ] "x-mock-body-len = $want_len"
check [ "$(hdr x-mock-saw-authorization)" = "Bearer sk-backend" ] "x-mock-saw-authorization echoes the credentials"
check [ "$(hdr x-mock-saw-request-id)" = "rid-1" ] "x-mock-saw-request-id echoes X-Request-Id"
check [ "$(hdr content-type)" = "application/json" ] "chat answer is application/json"
content=$(jget "$T/body" 'j["choices"][0]["message"]["content"]')
[[ $content =~ ^mock\ reply\ [0-9]+\ to\ lab:qwen3:0\.6b:\ len=$want_len\ fnv=$want_fnv$ ]] ||
    fail "chat content: $content"
log "ok: content \"$content\""
check [ "$(jget "$T/body" 'j["object"]+" "+j["model"]+" "+j["choices"][0]["finish_reason"]')" = "chat.completion lab:qwen3:0.6b stop" ] "chat.completion shape"
check [ "$(jget "$T/body" 'j["usage"]["total_tokens"] == j["usage"]["prompt_tokens"] + j["usage"]["completion_tokens"] > 0')" = true ] "usage numbers add up"
post /v1/chat/completions --data-binary '{"model":"m"}'
check [ "$(hdr x-mock-saw-authorization) $(hdr x-mock-saw-request-id)" = "none none" ] "no credentials, no request id: none none"

post /v1/completions --data-binary '{"model":"m","prompt":"x"}'
check [ "$CODE:$(jget "$T/body" 'j["object"]')" = "200:text_completion" ] "POST /v1/completions -> text_completion"
[[ $(jget "$T/body" 'j["choices"][0]["text"]') == "mock reply "*" to m: len=26 fnv="* ]] ||
    fail "completion text: $BODY"

# ---- errors
post /v1/chat/completions --data-binary '{"model": "x", "messages": [}'
check [ "$CODE:$(jget "$T/body" 'j["error"]["type"]')" = "400:invalid_request_error" ] "invalid JSON -> 400 OpenAI error"
post /v1/chat/completions --data-binary '{"messages": []}'
check [ "$CODE:$(jget "$T/body" 'j["error"]["code"]')" = "400:missing_model" ] "no model -> 400"
post /v1/chat/completions --data-binary "$(printf '%.0s[' $(seq 1 100))"
check [ "$CODE" = 400 ] "JSON nested 100 deep -> 400"
get /v1/chat/completions
check [ "$CODE" = 405 ] "GET /v1/chat/completions -> 405"
get /nope
check [ "$CODE:$(jget "$T/body" 'j["error"]["code"]')" = "404:not_found" ] "GET /nope -> 404"
post /v1/chat/completions -H 'x-mock-chunks: lots' --data-binary '{"model":"m"}'
check [ "$CODE" = 400 ] "x-mock-chunks: lots -> 400"
post /v1/chat/completions --data-binary '{"model":"m","mock_fail":"explode"}'
check [ "$CODE" = 400 ] "mock_fail: explode -> 400"

# ---- streaming: order, pauses, knobs
# stream_to FILE [CURL ARGS...]: the events with their arrival times.
stream_to()
{
	local out=$1
	shift
	curl -s -N --max-time 20 -D "$T/shead" "$@" | sse_times >"$out"
	HDRS=$(tr -d '\r' <"$T/shead")
}
# tokens_of FILE: the contents of the events, in order.
tokens_of()
{
	local ts line
	while read -r ts line; do
		[ "$line" = "data: [DONE]" ] && { printf 'DONE'; continue; }
		"$PY" -c 'import json,sys; c=json.loads(sys.argv[1][6:])["choices"][0]; print(c.get("delta",{}).get("content", c.get("text")), end="|")' "$line"
	done <"$1"
}

stream_to "$T/s1" -H 'x-mock-chunks: 5' -H 'x-mock-pause-ms: 200' \
    "$MOCK_URL/v1/chat/completions" --data-binary '{"model":"lab:qwen3:0.6b","stream":true}'
check [ "$(tokens_of "$T/s1")" = "tok0 |tok1 |tok2 |tok3 |tok4 |DONE" ] "stream: 5 tokens in order, then [DONE]"
check [ "$(hdr content-type)" = "text/event-stream" ] "stream is text/event-stream"
check [ -n "$(hdr x-mock-body-fnv)" ] "stream answers carry x-mock-body-fnv"
gaps=$(awk 'NR > 1 { printf "%d ", $1 - prev } { prev = $1 }' "$T/s1")
for g in $gaps; do
	[ "$g" -ge 170 ] && [ "$g" -le 400 ] || fail "gaps between events (want ~200 ms each): $gaps"
done
log "ok: gaps between events: $gaps ms (pause 200)"
grep -q '"role":"assistant"' <(head -n 1 "$T/s1") || fail "first chat event has no role"
grep -q '"finish_reason":"stop"' <(sed -n 5p "$T/s1") || fail "last token event has no finish_reason stop"
[ "$(grep -c '"object":"chat.completion.chunk"' "$T/s1")" = 5 ] || fail "not 5 chat.completion.chunk events"

stream_to "$T/s2" "$MOCK_URL/v1/completions" \
    --data-binary '{"model":"m","stream":true,"mock_chunks":3,"mock_pause_ms":50}'
check [ "$(tokens_of "$T/s2")" = "tok0 |tok1 |tok2 |DONE" ] "completions stream with body knobs mock_chunks 3"
[ "$(grep -c '"object":"text_completion"' "$T/s2")" = 3 ] || fail "not 3 text_completion events"
stream_to "$T/s3" "$MOCK_URL/v1/chat/completions" -H 'x-mock-chunks: 4' \
    --data-binary '{"model":"m","stream":true,"mock_chunks":2}'
check [ "$(tokens_of "$T/s3")" = "tok0 |tok1 |tok2 |tok3 |DONE" ] "the header wins over the body field"
stream_to "$T/s4" "$MOCK_URL/v1/chat/completions" --data-binary '{"model":"m","stream":true}'
check [ "$(wc -l <"$T/s4")" = 9 ] "--chunks default: 8 events and [DONE]"

# ---- embeddings: 8 floats from the FNV of each input
# want_vec TEXT: the vector the mock must give for TEXT.
want_vec()
{
	local h k out=
	h=$((16#$(printf '%s' "$1" | "$MOCK" --fnv | cut -d' ' -f1)))
	for k in 0 1 2 3 4 5 6 7; do
		out+=$(awk -v b=$(((h >> (8 * k)) & 255)) 'BEGIN { printf "%.6f,", b / 127.5 - 1 }')
	done
	echo "[${out%,}]"
}
post /v1/embeddings --data-binary '{"model":"e","input":"hello"}'
check [ "$CODE" = 200 ] "POST /v1/embeddings -> 200"
got=$(jget "$T/body" '"[" + ",".join("%.6f" % x for x in j["data"][0]["embedding"]) + "]"')
check [ "$got" = "$(want_vec hello)" ] "embedding of \"hello\" = $got"
check [ "$(jget "$T/body" 'j["object"]+" "+j["data"][0]["object"]+" "+j["model"]')" = "list embedding e" ] "embeddings list shape"
post /v1/embeddings --data-binary '{"model":"e","input":["a","hello","b"]}'
check [ "$(jget "$T/body" '[d["index"] for d in j["data"]]')" = "[0, 1, 2]" ] "three inputs, three vectors"
got=$(jget "$T/body" '"[" + ",".join("%.6f" % x for x in j["data"][1]["embedding"]) + "]"')
check [ "$got" = "$(want_vec hello)" ] "same input, same vector"
post /v1/embeddings --data-binary '{"model":"e","input":{"x":1}}'
check [ "$CODE" = 400 ] "embeddings of an object -> 400"

# ---- speech: binary, byte for byte
curl -s -o "$T/a1.mp3" -D "$T/ah" --max-time 10 "$MOCK_URL/v1/audio/speech" \
    --data-binary '{"model":"tts","input":"hello world","voice":"x"}'
curl -s -o "$T/a2.mp3" --max-time 10 "$MOCK_URL/v1/audio/speech" \
    --data-binary '{"model":"tts","input":"hello world","voice":"x"}'
curl -s -o "$T/a3.mp3" --max-time 10 "$MOCK_URL/v1/audio/speech" \
    --data-binary '{"model":"tts","input":"other","voice":"x"}'
check [ "$(stat -c %s "$T/a1.mp3")" = 65536 ] "speech: 64 KiB"
check [ "$(sha256sum <"$T/a1.mp3")" = "$(sha256sum <"$T/a2.mp3")" ] "speech: same input, same bytes (sha256)"
check [ "$(sha256sum <"$T/a1.mp3")" != "$(sha256sum <"$T/a3.mp3")" ] "speech: other input, other bytes"
check [ "$(tr -d '\r' <"$T/ah" | sed -n 's/^x-mock-response-fnv: //Ip')" = "$(mock_fnv "$T/a1.mp3")" ] "x-mock-response-fnv = FNV of the bytes received"
grep -qi '^content-type: audio/mpeg' "$T/ah" || fail "speech is not audio/mpeg"
curl -s -o "$T/big.mp3" -D "$T/bh" --max-time 20 "$MOCK_URL/v1/audio/speech" -H 'x-mock-bytes: 10485760' \
    --data-binary '{"model":"tts","input":"hello world"}'
check [ "$(stat -c %s "$T/big.mp3")" = 10485760 ] "speech with x-mock-bytes: 10 MiB"
check [ "$(tr -d '\r' <"$T/bh" | sed -n 's/^x-mock-response-fnv: //Ip')" = "$(mock_fnv "$T/big.mp3")" ] "10 MiB answer digest matches"
check [ "$(head -c 65536 "$T/big.mp3" | sha256sum)" = "$(sha256sum <"$T/a1.mp3")" ] "the stream of bytes depends on the input only"

# ---- transcriptions: multipart, digest of the raw body
{
	printf -- '--XyZ\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper:1\r\n'
	printf -- '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.mp3"\r\nContent-Type: audio/mpeg\r\n\r\n'
	cat "$T/a1.mp3"
	printf -- '\r\n--XyZ--\r\n'
} >"$T/form"
post /v1/audio/transcriptions -H 'Content-Type: multipart/form-data; boundary=XyZ' --data-binary @"$T/form"
check [ "$CODE" = 200 ] "POST /v1/audio/transcriptions -> 200"
check [ "$(jget "$T/body" 'j["fnv"]')" = "$(mock_fnv "$T/form")" ] "transcription fnv = FNV of the multipart body"
check [ "$(jget "$T/body" 'j["bytes"]')" = "$(stat -c %s "$T/form")" ] "transcription bytes = body size"
check [ "$(jget "$T/body" 'j["model"]')" = "whisper:1" ] "the model form field is found"
post /v1/audio/transcriptions -F model=w -F file=@"$T/a2.mp3"
check [ "$(jget "$T/body" 'j["fnv"]') $(jget "$T/body" 'j["bytes"]')" = "$(hdr x-mock-body-fnv) $(hdr x-mock-body-len)" ] "curl -F upload: JSON and headers agree"

# ---- echo
post /v1/images/generations --data-binary '{"model":"img:1","prompt":"cat"}'
check [ "$CODE:$(jget "$T/body" 'j["object"]+" "+j["path"]+" "+j["model"]+" "+str(j["bytes"])')" = "200:mock.echo /v1/images/generations img:1 32" ] "echo of another /v1 POST"
post /v1/rerank --data-binary '{"query":"q"}'
check [ "$(jget "$T/body" 'j["model"]')" = "null" ] "echo without a model: null"
post /v1/rerank --data-binary 'not json'
check [ "$CODE" = 400 ] "echo of a body that is not JSON -> 400"

# ---- injected failures
post /v1/chat/completions -H 'x-mock-fail: status:503' --data-binary '{"model":"m"}'
check [ "$CODE:$(jget "$T/body" 'j["error"]["type"]')" = "503:server_error" ] "x-mock-fail status:503 -> 503 OpenAI error"
check [ -n "$(hdr x-mock-body-fnv)" ] "failed answers carry x-mock-body-fnv too"
post /v1/embeddings --data-binary '{"model":"m","input":"x","mock_fail":"status:429"}'
check [ "$CODE:$(jget "$T/body" 'j["error"]["type"]')" = "429:invalid_request_error" ] "mock_fail status:429 in the body"
get /v1/models -H 'x-mock-fail: status:500'
check [ "$CODE" = 500 ] "failures work on GET /v1/models too"

curl -s -N --max-time 10 "$MOCK_URL/v1/chat/completions" -H 'x-mock-fail: cut:3' -H 'x-mock-pause-ms: 20' \
    --data-binary '{"model":"m","stream":true}' >"$T/cut" 2>/dev/null
rc=$?
check [ "$rc" = 18 ] "cut:3 on a stream: curl sees a truncated transfer (rc $rc)"
check [ "$(grep -c '^data: ' "$T/cut")" = 3 ] "cut:3: exactly 3 events"
check [ "$(grep -c 'DONE' "$T/cut")" = 0 ] "cut:3: no [DONE]"
curl -s -D "$T/ch" -o "$T/cutb" --max-time 10 "$MOCK_URL/v1/chat/completions" -H 'x-mock-fail: cut:1' \
    --data-binary '{"model":"m"}' 2>/dev/null
rc=$?
clen=$(tr -d '\r' <"$T/ch" | sed -n 's/^content-length: //Ip')
check [ "$rc:$(stat -c %s "$T/cutb")" = "18:$((clen / 2))" ] "cut on a plain answer: half of Content-Length $clen, then FIN"

ttfb=$(curl -s -o "$T/body" -w '%{http_code} %{time_starttransfer}' --max-time 10 \
    -H 'x-mock-fail: slow-first-byte:300' "$MOCK_URL/v1/chat/completions" --data-binary '{"model":"m"}')
ms=$(awk -v t="${ttfb#* }" 'BEGIN { printf "%d", t * 1000 }')
check [ "${ttfb% *}" = 200 ] "slow-first-byte:300 still answers 200"
check [ "$ms" -ge 295 -a "$ms" -le 600 ] "slow-first-byte:300: first byte after $ms ms"

# ---- abort records: the mock notices a client leaving within 100 ms
ABORT_MAX_MS=${ABORT_MAX_MS:-100}
# abort_case NAME EXPECT_EVENTS CURL ARGS...: start curl (X-Request-Id NAME),
# wait for EXPECT_EVENTS events, kill curl, find the record.
abort_case()
{
	local id=$1 events=$2 pid t_kill rec i
	shift 2
	curl -s -N --max-time 30 -H "X-Request-Id: $id" "$@" >"$T/$id.out" 2>/dev/null &
	pid=$!
	for i in $(seq 1 200); do
		[ "$(grep -c '^data: ' "$T/$id.out")" -ge "$events" ] && break
		sleep 0.02
	done
	[ "$events" -eq 0 ] && sleep 0.3 # in the hang or the wait
	t_kill=${EPOCHREALTIME/[.,]/}
	t_kill=${t_kill:0:13}
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	for i in $(seq 1 50); do
		rec=$(mock_abort_of "$id") && break
		sleep 0.02
	done
	[ -n "$rec" ] || fail "$id: no abort record: $(curl -s "$MOCK_URL/mock/aborts")"
	read -r ABORT_AT ABORT_EVENTS ABORT_PATH <<<"$rec"
	ABORT_LAT=$((ABORT_AT - t_kill))
	[ "$ABORT_LAT" -le "$ABORT_MAX_MS" ] ||
	    fail "$id: abort noticed $ABORT_LAT ms after the kill (limit $ABORT_MAX_MS)"
	grep -q "^$ABORT_AT $id $ABORT_PATH $ABORT_EVENTS\$" "$T/m.aborts" ||
	    fail "$id: no line \"$ABORT_AT $id $ABORT_PATH $ABORT_EVENTS\" in the abort log: $(cat "$T/m.aborts")"
	log "ok: $id: abort recorded $ABORT_LAT ms after the kill, events_sent $ABORT_EVENTS, path $ABORT_PATH"
}
abort_case mid-stream 2 "$MOCK_URL/v1/chat/completions" -H 'x-mock-pause-ms: 400' \
    --data-binary '{"model":"m","stream":true,"mock_chunks":20}'
check [ "$ABORT_EVENTS" = 2 ] "mid-stream abort: events_sent 2"
check [ "$ABORT_PATH" = /v1/chat/completions ] "mid-stream abort: path"
abort_case in-hang 0 "$MOCK_URL/v1/completions" -H 'x-mock-fail: hang' --data-binary '{"model":"m"}'
check [ "$ABORT_EVENTS:$ABORT_PATH" = "0:/v1/completions" ] "abort during a hang: 0 events"
abort_case before-first-byte 0 "$MOCK_URL/v1/chat/completions" -H 'x-mock-fail: slow-first-byte:5000' \
    --data-binary '{"model":"m","stream":true}'
abort_case hang-get 0 "$MOCK_URL/v1/models" -H 'x-mock-fail: hang'
check [ "$ABORT_PATH" = /v1/models ] "abort of a hanging GET /v1/models"
# A client that waits for everything is not an abort.
n_before=$(wc -l <"$T/m.aborts")
curl -s -N --max-time 10 -H 'X-Request-Id: complete' "$MOCK_URL/v1/chat/completions" -H 'x-mock-pause-ms: 10' \
    --data-binary '{"model":"m","stream":true}' >/dev/null
curl -s --max-time 10 "$MOCK_URL/v1/chat/completions" -H 'x-mock-fail: cut:2' \
    --data-binary '{"model":"m","stream":true}' >/dev/null 2>&1
sleep 0.1
check [ "$(wc -l <"$T/m.aborts")" = "$n_before" ] "complete and cut answers are not recorded as aborts"
get /mock/aborts
check [ "$(jget "$T/body" 'len(j["aborts"])')" = 4 ] "GET /mock/aborts lists the 4 aborts"

# ---- request counts, reset
post /mock/reset -X POST
for i in 1 2 3; do post /v1/chat/completions --data-binary '{"model":"m"}'; done
post /v1/embeddings --data-binary '{"model":"m","input":"x"}'
get /v1/models
get /mock/requests
check [ "$(jget "$T/body" '[j["total"], j["paths"]["/v1/chat/completions"], j["paths"]["/v1/embeddings"], j["paths"]["/v1/models"]]')" = "[5, 3, 1, 1]" ] "GET /mock/requests counts per path: $BODY"
get /mock/aborts
check [ "$(jget "$T/body" 'j["aborts"]')" = "[]" ] "POST /mock/reset forgets aborts"

# ---- keep-alive, HTTP/1.1 only
n=$(curl -s -o /dev/null -o /dev/null -w '%{num_connects} ' "$MOCK_URL/healthz" "$MOCK_URL/v1/models")
check [ "$n" = "1 0 " ] "two requests share one connection (connects per request: $n)"
code=$(curl -s -o /dev/null -w '%{http_code}' --http2-prior-knowledge --max-time 3 "$MOCK_URL/healthz")
check [ "$code" != 200 ] "no HTTP/2 (prior knowledge answered $code)"

# ---- strict models, threads
mock_start strict --strict-models -m only --threads 3
STRICT_URL=$MOCK_URL
post /v1/chat/completions --data-binary '{"model":"other"}'
check [ "$CODE:$(jget "$T/body" 'j["error"]["code"]')" = "404:model_not_found" ] "--strict-models: unknown model -> 404"
urls=()
for i in $(seq 1 200); do urls+=(-o /dev/null "$STRICT_URL/v1/chat/completions"); done
curl -s -Z --parallel-max 50 --max-time 20 -w '%{http_code} %{num_connects}\n' \
    --data-binary '{"model":"only"}' "${urls[@]}" >"$T/burst" 2>/dev/null
check [ "$(grep -c '^200 ' "$T/burst")" = 200 ] "--threads 3: 200 requests on up to 50 connections all 200 ($(grep -c ' 1$' "$T/burst") connections)"
get /mock/requests
check [ "$(jget "$T/body" 'j["paths"]["/v1/chat/completions"]')" = 201 ] "counts add up across threads"
mock_stop "$MOCK_PID"
mock_stop "$M_PID"
log "ok: both mocks exited 0 on SIGTERM"

pass "abort notice latencies: see the lines above"
