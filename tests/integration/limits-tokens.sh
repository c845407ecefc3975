#!/bin/bash
# limits-tokens.sh: a key's token limits seen by a client (curl), through
# tokilake, a real tokiame and the mock backend, which reports usage
# (prompt (body length + 3) / 4, completion the words or stream events).
# Tokens are charged from that usage when a request ends (worker -> agentd
# USAGE); each request here waits for its line in the usage log, which
# agentd writes only after charging it, so the counts are known.
#
#   tpm 100: plain requests are 200 while the tokens charged are under
#     100, each answer's x-ratelimit-remaining-tokens is 100 minus the
#     tokens the earlier answers reported (decreasing), limit-tokens 100,
#     reset-tokens in OpenAI's form; then 429 rate_limit_exceeded, type
#     tokens, OpenAI-shaped, with Retry-After (1..60) and remaining-tokens
#     0; after Retry-After seconds it is served again;
#   a stream whose client did not ask for usage is charged too (the worker
#     asked on its behalf): one stream of 60 events on a key with tpm 50,
#     then 429 type tokens;
#   tokens_per_day 40 spent by one stream: 429 with code and type
#     insufficient_quota, Retry-After = the seconds left in the UTC day
#     (within a few seconds), no x-ratelimit headers (no rpm/tpm); it is
#     not a rate limit: still 429 after waiting 3 s.
. "$(dirname "$0")/path-lib.sh"
path_setup
CHAT=/v1/chat/completions
ULOG=$T/usage.log

. "$(dirname "$0")/keys-lib.sh"
for k in free tpm stpm day; do
	newkey "$k"
done
[[ $KEY_tpm == sk-tlk-* ]] || fail "key new printed no key: $KEY_tpm"
LINK_KEY=$KEY_free
keys_yaml()
{
	cat <<EOF
keys:
  free: { hash: "$HASH_free" }
  tpm: { hash: "$HASH_tpm", tpm: 100 }
  stpm: { hash: "$HASH_stpm", tpm: 50 }
  day: { hash: "$HASH_day", tokens_per_day: 40 }
EOF
}
path_up
B() { printf 'Authorization: Bearer %s' "$1"; }
M='{"model":"lab:qwen3:0.6b","messages":[{"role":"user","content":"hi"}]}'
S='{"model":"lab:qwen3:0.6b","stream":true,"messages":[]}'

# charged ID: the usage log has request ID's line (agentd charged it first)
charged() { grep -q "\"request_id\":\"$1\"" "$ULOG" 2>/dev/null; }
wait_charged()
{
	wait_until 15 charged "$1" || fail "$1: no line in the usage log 15 s after it ended"
}

# ---- tpm 100, plain requests
used=0 i=0
while :; do
	i=$((i + 1))
	[ "$i" -le 10 ] || fail "tpm 100: still served after 10 requests ($used tokens)"
	req POST $CHAT -H "$(B "$KEY_tpm")" -H "X-Request-Id: lt-tpm-$i" --data-binary "$M"
	[ "$CODE" = 200 ] || break
	check [ "$(hdr x-ratelimit-limit-tokens)" = 100 ] "tpm: request $i: limit-tokens 100"
	check [ "$(hdr x-ratelimit-remaining-tokens)" = $((100 - used)) ] \
	    "tpm: request $i: remaining-tokens $((100 - used)) ($(hdr x-ratelimit-remaining-tokens))"
	[[ $(hdr x-ratelimit-reset-tokens) =~ ^([0-9]+m)?[0-9.]+(s|ms)$ ]] ||
	    fail "tpm: reset-tokens in OpenAI's form: '$(hdr x-ratelimit-reset-tokens)'"
	check [ -z "$(hdr x-ratelimit-limit-requests)" ] "tpm only: no requests headers"
	n=$(jbody 'j["usage"]["prompt_tokens"] + j["usage"]["completion_tokens"]')
	[ "$n" -gt 0 ] || fail "the mock reported no tokens: $BODY"
	wait_charged "lt-tpm-$i"
	used=$((used + n))
done
check [ "$used" -ge 100 ] "tpm: refused only once the tokens charged reached 100 ($used after $((i - 1)) requests)"
check [ "$i" -ge 3 ] "tpm: more than one request was served ($((i - 1)))"
expect_oai 429 rate_limit_exceeded POST $CHAT -H "$(B "$KEY_tpm")" --data-binary "$M"
check [ "$(jbody 'j["error"]["type"]')" = tokens ] "tpm 429: type tokens"
refused_ms=$(now_ms)
RA_TPM=$(hdr retry-after)
[[ $RA_TPM =~ ^[0-9]+$ ]] && [ "$RA_TPM" -ge 1 ] && [ "$RA_TPM" -le 60 ] ||
    fail "tpm: Retry-After 1..60: '$RA_TPM'"
check [ "$(hdr x-ratelimit-remaining-tokens)" = 0 ] "tpm 429: remaining-tokens 0"
check [ "$(hdr x-ratelimit-limit-tokens)" = 100 ] "tpm 429: limit-tokens 100"
log "tpm: Retry-After $RA_TPM s ($(jbody 'j["error"]["message"]'))"

# ---- a stream is charged (its client did not ask for usage)
curl -s -N --max-time 20 -o "$T/s1" -H "$(B "$KEY_stpm")" -H 'X-Request-Id: lt-stream' \
    -H 'x-mock-chunks: 60' --data-binary "$S" "$API$CHAT" || fail "the stream failed"
check grep -q 'data: \[DONE\]' "$T/s1" "stpm: the stream came whole"
check [ -z "$(grep '"usage"' "$T/s1")" ] "stpm: the client that did not ask got no usage"
wait_charged lt-stream
expect_oai 429 rate_limit_exceeded POST $CHAT -H "$(B "$KEY_stpm")" --data-binary "$M"
check [ "$(jbody 'j["error"]["type"]')" = tokens ] "a stream's tokens count: 429 type tokens"

# ---- tokens_per_day 40: a budget, not a rate
# (a test that would cross midnight UTC waits for the new day first)
left=$((86400 - $(date -u +%s) % 86400))
if [ "$left" -lt 30 ]; then
	log "$left s to midnight UTC: waiting for the new day"
	sleep $((left + 1))
fi
curl -s -N --max-time 20 -o "$T/s2" -H "$(B "$KEY_day")" -H 'X-Request-Id: lt-day' \
    -H 'x-mock-chunks: 60' --data-binary "$S" "$API$CHAT" || fail "the budget's stream failed"
check grep -q 'data: \[DONE\]' "$T/s2" "day: the stream came whole"
wait_charged lt-day
expect_oai 429 insufficient_quota POST $CHAT -H "$(B "$KEY_day")" --data-binary "$M"
check [ "$(jbody 'j["error"]["type"]')" = insufficient_quota ] "budget spent: type insufficient_quota"
RA=$(hdr retry-after)
want=$((86400 - $(date -u +%s) % 86400))
[[ $RA =~ ^[0-9]+$ ]] || fail "budget: Retry-After not a number: '$RA'"
check [ "$RA" -ge $((want - 5)) ] "budget: Retry-After $RA s >= the UTC day's $want s left - 5"
check [ "$RA" -le $((want + 5)) ] "budget: Retry-After $RA s <= the UTC day's $want s left + 5"
check [ -z "$(grep -i '^x-ratelimit-' <<<"$HDRS")" ] "budget only: no x-ratelimit headers"
log "budget: $(jbody 'j["error"]["message"]')"
sleep 3
expect_oai 429 insufficient_quota POST $CHAT -H "$(B "$KEY_day")" --data-binary "$M"
log "ok: the budget is still spent 3 s later (not a rate limit)"
req POST $CHAT -H "$(B "$KEY_free")" --data-binary "$M"
check [ "$CODE" = 200 ] "another key is not affected"

# ---- tpm: Retry-After honoured (the oldest tokens left the window)
left=$((refused_ms + RA_TPM * 1000 + 100 - $(now_ms)))
[ "$left" -gt 0 ] && sleep "$((left / 1000)).$(printf %03d $((left % 1000)))"
req POST $CHAT -H "$(B "$KEY_tpm")" --data-binary "$M"
check [ "$CODE" = 200 ] "tpm: 200 after Retry-After ($RA_TPM s)"
check [ "$(hdr x-ratelimit-remaining-tokens)" -gt 0 ] "tpm: remaining-tokens $(hdr x-ratelimit-remaining-tokens) again"
path_pass "tpm and the daily budget are charged from the backend's usage, streams too"
