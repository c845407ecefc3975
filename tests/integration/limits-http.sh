#!/bin/bash
# limits-http.sh: a key's limits seen by a client (curl), through
# tokilake, a real tokiame and the mock backend.
#
#   rpm 5: five answers 200 carrying x-ratelimit-*-requests (remaining
#     4..0), the 6th 429 rate_limit_exceeded (type requests, OpenAI-shaped)
#     with Retry-After; after Retry-After seconds it is served again;
#   rpm and tpm: the six x-ratelimit-* headers on every answer, errors
#     included (a 404 for a model nobody publishes);
#   max_in_flight 1 with a slow stream (mock pauses): 429 with
#     Retry-After 1 and no x-ratelimit headers (no rpm/tpm), then 200 once
#     the stream ended; and once a client killed mid-stream went away;
#   a key without limits: no x-ratelimit headers at all.
. "$(dirname "$0")/path-lib.sh"
path_setup
CHAT=/v1/chat/completions

newkey()
{
	local out
	out=$("$TOKILAKE" key new "$1") || fail "tokilake key new $1 failed"
	printf -v "KEY_${1//[.-]/_}" '%s' "$(sed -n 's/^#   \(sk-tlk-[0-9a-f]*\)$/\1/p' <<<"$out")"
	printf -v "HASH_${1//[.-]/_}" '%s' "$(grep -o 'sha256:[0-9a-f]*' <<<"$out")"
}
for k in free rpm both one; do
	newkey "$k"
done
[[ $KEY_rpm == sk-tlk-* ]] || fail "key new printed no key: $KEY_rpm"

eval "orig_$(declare -f path_write_config)"
path_write_config()
{
	orig_path_write_config "$@"
	cat >>"$1" <<EOF
keys:
  free: { hash: "$HASH_free" }
  rpm: { hash: "$HASH_rpm", rpm: 5 }
  both: { hash: "$HASH_both", rpm: 1000, tpm: 50000 }
  one: { hash: "$HASH_one", max_in_flight: 1 }
EOF
}
path_linked()
{
	curl -s --max-time 2 -H "Authorization: Bearer $KEY_free" "$API/v1/models" 2>/dev/null |
	    grep -q "\"id\":\"$1\""
}
path_up
B() { printf 'Authorization: Bearer %s' "$1"; }
M='{"model":"lab:qwen3:0.6b","messages":[{"role":"user","content":"hi"}]}'

# ---- no limits, no headers
req POST $CHAT -H "$(B "$KEY_free")" --data-binary "$M"
check [ "$CODE" = 200 ] "a key without limits: 200"
check [ -z "$(grep -i '^x-ratelimit-' <<<"$HDRS")" ] "a key without limits: no x-ratelimit headers"

# ---- rpm 5
for i in 1 2 3 4 5; do
	req POST $CHAT -H "$(B "$KEY_rpm")" --data-binary "$M"
	check [ "$CODE" = 200 ] "rpm 5: request $i is 200"
	check [ "$(hdr x-ratelimit-limit-requests)" = 5 ] "rpm 5: limit-requests 5"
	check [ "$(hdr x-ratelimit-remaining-requests)" = $((5 - i)) ] "rpm 5: remaining $((5 - i))"
	[[ $(hdr x-ratelimit-reset-requests) =~ ^([0-9]+m)?[0-9.]+(s|ms)$ ]] ||
	    fail "rpm 5: reset-requests in OpenAI's form: $(hdr x-ratelimit-reset-requests)"
	check [ -z "$(hdr x-ratelimit-limit-tokens)" ] "rpm only: no tokens headers"
done
refused_ms=$(now_ms)
expect_oai 429 rate_limit_exceeded POST $CHAT -H "$(B "$KEY_rpm")" --data-binary "$M"
check [ "$(jbody 'j["error"]["type"]')" = requests ] "429: type requests"
RA=$(hdr retry-after)
[[ $RA =~ ^[0-9]+$ ]] && [ "$RA" -ge 1 ] && [ "$RA" -le 60 ] || fail "Retry-After 1..60: '$RA'"
check [ "$(hdr x-ratelimit-remaining-requests)" = 0 ] "429: remaining-requests 0"
log "Retry-After: $RA s ($(jbody 'j["error"]["message"]'))"
req POST $CHAT -H "$(B "$KEY_rpm")" --data-binary "$M"
check [ "$CODE" = 429 ] "rpm 5: still 429 right after"

# ---- rpm + tpm: six headers on every answer, errors too
req POST $CHAT -H "$(B "$KEY_both")" --data-binary "$M"
check [ "$CODE" = 200 ] "rpm+tpm: 200"
for h in limit-requests remaining-requests reset-requests limit-tokens remaining-tokens reset-tokens; do
	check [ -n "$(hdr x-ratelimit-$h)" ] "rpm+tpm: x-ratelimit-$h ($(hdr x-ratelimit-$h))"
done
check [ "$(hdr x-ratelimit-limit-tokens)" = 50000 ] "limit-tokens 50000"
check [ "$(hdr x-ratelimit-remaining-requests)" = 999 ] "remaining-requests 999"
expect_oai 404 model_not_found POST $CHAT -H "$(B "$KEY_both")" \
    --data-binary '{"model":"lab:nobody-serves-this","messages":[]}'
check [ "$(hdr x-ratelimit-remaining-requests)" = 998 ] "a 404 of a limited key has the headers too"
check [ "$(hdr x-ratelimit-limit-tokens)" = 50000 ] "... the tokens' too"
req POST $CHAT -H "$(B "$KEY_both")" -H 'x-mock-chunks: 3' \
    --data-binary '{"model":"lab:qwen3:0.6b","stream":true,"messages":[]}'
check [ "$CODE" = 200 ] "rpm+tpm stream: 200"
check [ -n "$(hdr x-ratelimit-reset-tokens)" ] "a stream has the headers"

# ---- max_in_flight 1
SLOW='{"model":"lab:qwen3:0.6b","stream":true,"messages":[]}'
curl -s -N --max-time 30 -o "$T/slow.out" -H "$(B "$KEY_one")" -H 'x-mock-chunks: 20' \
    -H 'x-mock-pause-ms: 100' --data-binary "$SLOW" "$API$CHAT" &
slow=$!
slow_started() { grep -qs 'data:' "$T/slow.out"; }
wait_until 10 slow_started || fail "the slow stream did not start"
expect_oai 429 rate_limit_exceeded POST $CHAT -H "$(B "$KEY_one")" --data-binary "$M"
check [ "$(hdr retry-after)" = 1 ] "in flight: Retry-After 1"
check [ -z "$(grep -i '^x-ratelimit-' <<<"$HDRS")" ] "in flight only: no x-ratelimit headers"
wait "$slow"
check grep -q 'data: \[DONE\]' "$T/slow.out" "the slow stream ended whole"
req POST $CHAT -H "$(B "$KEY_one")" --data-binary "$M"
check [ "$CODE" = 200 ] "in flight: 200 once the stream ended"
# a client killed mid-stream: its slot is freed when tokilake notices
curl -s -N --max-time 30 -o "$T/slow2.out" -H "$(B "$KEY_one")" -H 'x-mock-chunks: 600' \
    -H 'x-mock-pause-ms: 100' --data-binary "$SLOW" "$API$CHAT" &
slow=$!
slow2_started() { grep -qs 'data:' "$T/slow2.out"; }
wait_until 10 slow2_started || fail "the second slow stream did not start"
req POST $CHAT -H "$(B "$KEY_one")" --data-binary "$M"
check [ "$CODE" = 429 ] "in flight: 429 during the second stream"
kill -9 "$slow"
wait "$slow" 2>/dev/null
served() { req POST $CHAT -H "$(B "$KEY_one")" --data-binary "$M"; [ "$CODE" = 200 ]; }
wait_until 10 served || fail "in flight: still $CODE 10 s after the client went away"
log "ok: in flight: 200 again after the client was killed"

# ---- Retry-After honoured
left=$((refused_ms + RA * 1000 + 100 - $(now_ms)))
[ "$left" -gt 0 ] && sleep "$((left / 1000)).$(printf %03d $((left % 1000)))"
req POST $CHAT -H "$(B "$KEY_rpm")" --data-binary "$M"
check [ "$CODE" = 200 ] "rpm 5: 200 after Retry-After ($RA s)"
path_pass "rpm, in flight and the headers hold through the HTTP API"
