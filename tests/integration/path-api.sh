#!/bin/bash
# path-api.sh: every endpoint through tokilake -> agentd -> tokiame (TLS
# link, throwaway CA) -> the mock, and what reaches the backend.
#
# Checks: GET /v1/models and /v1/models/{ns:model} (colon model names);
# chat, completions, embeddings, streamed and not; the backend gets its
# own model name and the rest of the body byte for byte (odd whitespace,
# unicode, escaped quotes, a model written with a JSON escape); X-Request-Id
# from the client (returned, seen by the backend, logged by tokiame and
# the worker) or generated; the user's credentials never reach the backend,
# the backend's api_key does; SSE keeps text/event-stream, uncompressed even
# with Accept-Encoding: gzip; hop-by-hop headers (also those named by
# Connection) dropped on the way (checked on a recording backend,
# path_rec_backend.py, since the mock shows only two headers); /v1/audio/speech
# byte-exact; /v1/images/generations and /v1/rerank relayed; a multipart
# /v1/audio/transcriptions (a known gap: see below); a 10 MiB body byte-exact.
. "$(dirname "$0")/path-lib.sh"
path_setup
command -v openssl >/dev/null || skip "openssl not installed"

# A recording backend next to the mock: it shows every request header.
"$PY" "$HERE/path_rec_backend.py" --port-file "$T/rec.port" >"$T/rec.err" 2>&1 &
TL_PIDS+=($!)
wait_until 10 test -s "$T/rec.port" || fail "path_rec_backend.py did not start"
REC=http://127.0.0.1:$(cat "$T/rec.port")
TM_BACKENDS=("{ name: rec, url: \"$REC/v1\", api_key: sk-rec, models: [rec-model], discover: false }"
    "{ name: nokey, url: \"@MOCK_URL@/v1\", models: [nokey-model], discover: false }")
MAX_BODY=16MiB
BUGS=     # found on the way, reported together at the end
# a proxy that does not exist: tokiame must reach its backends directly
# (tokiame(8), ENVIRONMENT), or every request below fails
TM_ENV="http_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 all_proxy=http://127.0.0.1:9"
path_up tls
wait_until 10 path_linked lab:rec-model || fail "lab:rec-model not listed"

# post PATH FILE [CURL ARGS...]: POST the file's bytes as they are.
post() { local p=$1 f=$2; shift 2; req POST "$p" --data-binary @"$f" -H 'Content-Type: application/json' "$@"; }
# want_body IN OUT: what the backend must get: IN with "lab:" cut out of the model.
want_body() { sed 's/"lab:qwen3:0.6b"/"qwen3:0.6b"/' "$1" >"$2"; }
# body_exact IN WHAT: the mock's digest of what it got equals IN rewritten.
body_exact()
{
	want_body "$1" "$T/want"
	local fnv len
	fnv=$(mock_fnv "$T/want")
	len=$(stat -c %s "$T/want")
	[ "$(hdr x-mock-body-fnv)" = "$fnv" ] && [ "$(hdr x-mock-body-len)" = "$len" ] ||
	    fail "$2: the backend got fnv $(hdr x-mock-body-fnv) len $(hdr x-mock-body-len), want $fnv $len"
	log "ok: $2: the backend got the body byte for byte ($len bytes, fnv $fnv)"
}

# ---- models
req GET /v1/models
check [ "$CODE" = 200 ] "GET /v1/models 200"
check [ "$(jbody 'sorted(m["id"] for m in j["data"])')" = '["lab:nokey-model", "lab:qwen3:0.6b", "lab:rec-model"]' ] \
    "GET /v1/models lists the agent's three models: $BODY"
check [ "$(jbody 'j["object"] + " " + j["data"][0]["object"]')" = "list model" ] "OpenAI list shape"
req GET /v1/models/lab:qwen3:0.6b
check [ "$CODE:$(jbody 'j["id"]')" = "200:lab:qwen3:0.6b" ] "GET /v1/models/lab:qwen3:0.6b: $BODY"
req GET /v1/models/lab%3Aqwen3%3A0.6b
check [ "$CODE:$(jbody 'j["id"]')" = "200:lab:qwen3:0.6b" ] "GET /v1/models/lab%3Aqwen3%3A0.6b (colons escaped)"
expect_oai 404 model_not_found GET /v1/models/lab:qwen3:0.7b

# ---- chat, completions, embeddings, not streamed
printf '%s' '{"model":"lab:qwen3:0.6b","messages":[{"role":"user","content":"hi"}]}' >"$T/chat.json"
post /v1/chat/completions "$T/chat.json"
check [ "$CODE" = 200 ] "chat 200"
check [ "$(jbody 'j["object"]')" = chat.completion ] "chat: a chat.completion"
check [ "$(jbody 'j["model"]')" = "qwen3:0.6b" ] "chat: the backend answered for its own model name"
check grep -qi '^content-type: application/json' <<<"$HDRS" "chat: application/json"
# the backend's Content-Length reaches the client: no chunked re-framing
check [ "$(hdr content-length)" = "$(stat -c %s "$T/body")" ] \
    "chat: Content-Length $(hdr content-length) is the body's length, as the backend gave it"
check [ -z "$(hdr transfer-encoding)" ] "chat: not chunked"
body_exact "$T/chat.json" chat

printf '%s' '{"prompt":"Say hi","model":"lab:qwen3:0.6b","max_tokens":5}' >"$T/compl.json"
post /v1/completions "$T/compl.json"
check [ "$CODE:$(jbody 'j["object"]')" = "200:text_completion" ] "completions: 200 text_completion"
body_exact "$T/compl.json" completions

printf '%s' '{"model":"lab:qwen3:0.6b","input":["a","b"]}' >"$T/emb.json"
post /v1/embeddings "$T/emb.json"
check [ "$CODE" = 200 ] "embeddings 200"
check [ "$(jbody '[len(d["embedding"]) for d in j["data"]]')" = '[8, 8]' ] "embeddings: two vectors of 8"
body_exact "$T/emb.json" embeddings

# ---- streamed: text/event-stream, never compressed, every event
for ep in chat/completions completions; do
	if [ $ep = completions ]; then
		printf '%s' '{"model":"lab:qwen3:0.6b","prompt":"x","stream":true}' >"$T/s.json"
		field='j["choices"][0]["text"]'
	else
		printf '%s' '{"model":"lab:qwen3:0.6b","stream":true,"messages":[]}' >"$T/s.json"
		field='j["choices"][0]["delta"]["content"]'
	fi
	post /v1/$ep "$T/s.json" -N -H 'Accept-Encoding: gzip, deflate, br' -H 'x-mock-chunks: 6'
	check [ "$CODE" = 200 ] "$ep stream 200"
	check grep -qi '^content-type: text/event-stream' <<<"$HDRS" "$ep stream: text/event-stream"
	check [ -z "$(hdr content-encoding)" ] "$ep stream: no Content-Encoding despite Accept-Encoding: gzip"
	check [ -z "$(hdr content-length)" ] "$ep stream: no Content-Length"
	got=$(sed -n 's/^data: //p' "$T/body" | while IFS= read -r l; do
		if [ "$l" = "[DONE]" ]; then echo DONE; else printf '%s' "$l" >"$T/ev"; jget "$T/ev" "$field"; fi
	done | tr -d ' ' | tr '\n' ' ')
	check [ "$got" = "tok0 tok1 tok2 tok3 tok4 tok5 DONE " ] "$ep stream: tok0..tok5 then [DONE] ($got)"
	# the worker asks for the stream's usage on the client's behalf (and
	# strips it from the answer, tests/integration/usage-count.sh)
	sed 's/^{/{"stream_options":{"include_usage":true},/' "$T/s.json" >"$T/s.asked"
	body_exact "$T/s.asked" "$ep stream"
done

# ---- a chunked request body
post /v1/chat/completions "$T/chat.json" -H 'Transfer-Encoding: chunked'
check [ "$CODE" = 200 ] "a chunked request body: 200"
body_exact "$T/chat.json" "chunked request body"

# ---- the body byte for byte: odd whitespace, unicode, escapes, an escaped model
printf '{ \t"messages" :[ {"role":"user","content":"h\\u00e9llo \\"q\\" \\\\ \xe2\x98\x83 \xf0\x9f\x98\x80 caf\xc3\xa9"}],\n\n  "model"  :  "lab:qwen3:0.6b" , "x":1e3, "n":[ ] }\r\n' >"$T/odd.json"
post /v1/chat/completions "$T/odd.json"
check [ "$CODE" = 200 ] "odd body 200"
body_exact "$T/odd.json" "odd whitespace, unicode, escaped quotes"

sed 's/"lab:qwen3:0.6b"/"\\u006cab:qwen3:0.6b"/' "$T/odd.json" >"$T/esc.json"
grep -q '"\\u006cab:qwen3:0.6b"' "$T/esc.json" || fail "could not write the escaped model"
post /v1/chat/completions "$T/esc.json"
check [ "$CODE" = 200 ] "model \"\\u006cab:qwen3:0.6b\": 200"
body_exact "$T/odd.json" "model written with a JSON escape"

# the escape inside the backend's part of the name stays as written
printf '%s' '{"model":"lab:qwen3\u003a0.6b","messages":[]}' >"$T/esc2.json"
post /v1/chat/completions "$T/esc2.json"
check [ "$CODE" = 200 ] "model \"lab:qwen3\\u003a0.6b\": 200 ($BODY)"
printf '%s' '{"model":"qwen3\u003a0.6b","messages":[]}' >"$T/want2"
check [ "$(hdr x-mock-body-fnv)" = "$(mock_fnv "$T/want2")" ] "an escape after the namespace reaches the backend as written"

# ---- X-Request-Id
post /v1/chat/completions "$T/chat.json" -H 'X-Request-Id: path-api-rid-42'
check [ "$(hdr x-request-id)" = path-api-rid-42 ] "client X-Request-Id returned"
check [ "$(hdr x-mock-saw-request-id)" = path-api-rid-42 ] "client X-Request-Id reaches the backend"
wait_until 3 grep -qF '[path-api-rid-42]' "$T/tm-tm.log" || fail "tokiame did not log path-api-rid-42"
log "ok: tokiame logged it: $(grep -F '[path-api-rid-42]' "$T/tm-tm.log" | tail -n 1)"
check grep -q 'req path-api-rid-42' "$T/tokilake.log" "the worker logged it"
for bad in "$(printf 'a%.0s' $(seq 1 300))" 'has space' $'tab\there'; do
	post /v1/chat/completions "$T/chat.json" -H "X-Request-Id: $bad"
	rid=$(hdr x-request-id)
	[ "$CODE" = 200 ] && [ -n "$rid" ] && [ "$rid" != "$bad" ] && [ "$(hdr x-mock-saw-request-id)" = "$rid" ] ||
	    fail "an unusable X-Request-Id (${bad:0:20}...): $CODE, returned $rid, backend saw $(hdr x-mock-saw-request-id)"
	log "ok: an unusable X-Request-Id (${bad:0:20}...) is replaced by a generated one ($rid)"
done
post /v1/chat/completions "$T/chat.json"
rid=$(hdr x-request-id)
check [ -n "$rid" ] "a request id is generated when absent ($rid)"
check [ "$(hdr x-mock-saw-request-id)" = "$rid" ] "the generated id reaches the backend"
post /v1/chat/completions "$T/chat.json"
check [ "$(hdr x-request-id)" != "$rid" ] "each generated id is new"

# ---- credentials: the user's never reach the backend; the backend's own do
post /v1/chat/completions "$T/chat.json" -H 'Authorization: Bearer sk-user-secret'
check [ "$(hdr x-mock-saw-authorization)" = "Bearer sk-backend" ] \
    "the backend got its own key, not the user's ($(hdr x-mock-saw-authorization))"

printf '%s' '{"model":"lab:nokey-model","messages":[]}' >"$T/nokey.json"
post /v1/chat/completions "$T/nokey.json" -H 'Authorization: Bearer sk-user-secret'
check [ "$CODE:$(hdr x-mock-saw-authorization)" = "200:none" ] \
    "a backend without api_key gets no Authorization at all ($(hdr x-mock-saw-authorization))"

# ---- hop-by-hop and credential headers, as the recording backend saw them
printf '%s' '{"model":"lab:rec-model","messages":[]}' >"$T/rec.json"
post /v1/chat/completions "$T/rec.json" -H 'Authorization: Bearer sk-user-secret' \
    -H 'Connection: keep-alive, x-foo' -H 'x-foo: 1' -H 'TE: trailers' \
    -H 'Keep-Alive: timeout=5' -H 'Proxy-Connection: keep-alive' -H 'Trailer: x-t' \
    -H 'Proxy-Authorization: Basic dXNlcjpwdw==' -H 'Cookie: session=user' \
    -H 'api-key: user-azure-key' -H 'x-api-key: user-key' \
    -H 'x-keep-me: yes' -H 'X-Request-Id: rec-1'
check [ "$CODE" = 200 ] "recording backend: 200 ($BODY)"
curl -s --max-time 3 "$REC/_requests" >"$T/rec.seen"
# seen NAME: every value of request header NAME the backend got, "|"-joined
seen() { jget "$T/rec.seen" "'|'.join(v for k, v in j[-1]['headers'] if k == '$1')"; }
check [ "$(seen authorization)" = "Bearer sk-rec" ] "recording backend: its own key, only ($(seen authorization))"
check [ "$(seen x-keep-me)" = yes ] "an ordinary header reaches the backend"
check [ "$(seen x-request-id)" = rec-1 ] "X-Request-Id reaches it"
for h in te keep-alive proxy-connection trailer proxy-authorization cookie api-key x-api-key; do
	check [ -z "$(seen $h)" ] "$h does not reach the backend"
done
conn=$(seen connection)
[[ $conn != *x-foo* ]] || fail "the client's Connection header reached the backend: $conn"
log "ok: the client's Connection header does not reach the backend (it got: ${conn:-none})"
if [ -n "$(seen x-foo)" ]; then
	BUGS+="hop-by-hop: x-foo, named by the client's Connection header, reached the backend (x-foo: $(seen x-foo)); "
	log "BUG: x-foo, named by the client's Connection header, reached the backend"
else
	log "ok: x-foo (named by Connection) does not reach the backend"
fi
check [ "$(jget "$T/rec.seen" "j[-1]['body']")" = '{"model":"rec-model","messages":[]}' ] \
    "recording backend: the body with its own model name"

# ---- other /v1 paths with a JSON model
printf '%s' '{"model":"lab:qwen3:0.6b","input":"Hello \u00e9 world","voice":"alloy"}' >"$T/speech.json"
CODE=$(curl -s -o "$T/speech.bin" -D "$T/head" -w '%{http_code}' --max-time 10 \
    -H 'x-mock-bytes: 300001' --data-binary @"$T/speech.json" "$API/v1/audio/speech")
HDRS=$(tr -d '\r' <"$T/head")
check [ "$CODE" = 200 ] "speech 200"
check grep -qi '^content-type: audio/mpeg' <<<"$HDRS" "speech: audio/mpeg"
check [ "$(stat -c %s "$T/speech.bin")" = 300001 ] "speech: 300001 bytes"
check [ "$(mock_fnv "$T/speech.bin")" = "$(hdr x-mock-response-fnv)" ] "speech: the binary answer byte for byte"
body_exact "$T/speech.json" speech

for p in /v1/images/generations /v1/rerank; do
	printf '%s' '{"model":"lab:qwen3:0.6b","prompt":"a cat","query":"q","documents":["a"]}' >"$T/x.json"
	post "$p?api-version=1" "$T/x.json"
	check [ "$CODE:$(jbody 'j["object"]'):$(jbody 'j["path"]'):$(jbody 'j["model"]')" = "200:mock.echo:$p:qwen3:0.6b" ] \
	    "$p relayed ($BODY)"
	body_exact "$T/x.json" "$p"
done

# ---- multipart: the model is a form field
B=pathtestboundary7MA4YWxkTrZu0gW
{
	printf -- '--%s\r\nContent-Disposition: form-data; name="model"\r\n\r\nlab:qwen3:0.6b\r\n' $B
	printf -- '--%s\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n' $B
	head -c 50000 /dev/urandom
	printf -- '\r\n--%s--\r\n' $B
} >"$T/mp.body"
req POST /v1/audio/transcriptions --data-binary @"$T/mp.body" -H "Content-Type: multipart/form-data; boundary=$B"
if [ "$CODE" = 200 ]; then
	sed 's/^lab:qwen3:0.6b\r$/qwen3:0.6b\r/' "$T/mp.body" >"$T/mp.want"
	check [ "$(jbody 'j["model"]')" = "qwen3:0.6b" ] "multipart: the backend got its own model name"
	check [ "$(jbody 'j["fnv"]')" = "$(mock_fnv "$T/mp.want")" ] "multipart: the body byte for byte"
else
	MP_GAP="multipart /v1/audio/transcriptions -> $CODE ${BODY:0:200}"
	log "GAP: $MP_GAP"
	[ -n "${PATH_STRICT:-}" ] && fail "$MP_GAP"
fi

# ---- large bodies: 10 MiB as asked, and two sizes just past the 1 MiB
# body window between the worker and agentd
for kib in 10300 3072 1536; do
	{
		printf '{"model":"lab:qwen3:0.6b","messages":[{"role":"user","content":"'
		head -c $((kib * 1024 * 3 / 4)) /dev/urandom | base64 -w 0
		printf '"}]}'
	} >"$T/big.json"
	big=$(stat -c %s "$T/big.json")
	CURL_MAX_TIME=30 post /v1/chat/completions "$T/big.json"
	want_body "$T/big.json" "$T/want"
	if [ "$CODE" = 200 ] && [ "$(hdr x-mock-body-fnv)" = "$(mock_fnv "$T/want")" ]; then
		log "ok: a $big-byte body: 200, the backend got it byte for byte"
	else
		log "BUG: a $big-byte body: $CODE ${BODY:0:200} (backend got fnv $(hdr x-mock-body-fnv) len $(hdr x-mock-body-len))"
		BUGS+="a $big-byte body -> $CODE ${BODY:0:160}; "
	fi
done

path_done "$BUGS" "${MP_GAP:+(gap: $MP_GAP)}"
