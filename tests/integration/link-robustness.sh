#!/bin/bash
# link-robustness.sh: garbage on the agent port (tests/integration/
# link_garbage.py plays each case by hand over raw sockets) while a
# properly linked tokiame serves requests through the same agentd.
#
# h2c node (agents.plaintext): random bytes; a valid preface then garbage
# frames; frames HTTP/2 forbids; a truncated frame then silence, or then
# EOF; a 4 GiB gRPC length prefix on Connect (before and after Register);
# protobuf garbage in a correctly framed message (before and after
# Register); a flood of streams (1000 > max_streams_per_agent); a flood of
# RST_STREAMs; Connect twice on one connection. TLS node: random bytes
# after the handshake; random bytes instead of a ClientHello; no ALPN h2.
#
# After each case: the offending link is closed within a bound (5 s; the
# silent truncated case: ping_timeout 3 s + 1 s), agentd logs a reason
# for that peer, agentd is the same process, nothing of the garbage agent
# stays listed, and tokiame's model is still listed and answers (it
# shares its model name with the garbage agents that register, so a
# half-dead garbage link would take requests away from it). At the end
# tokiame never had to relink (/status reconnects = 0).
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/mock/mock-lib.sh"
. "$(dirname "$0")/link-lib.sh"

link_setup_with_tokiame
link_token lab
NAMESPACES_YAML="  lab: { tokens: [\"$HASH\"] }"
AGENT_OPTS="max_streams_per_agent: 4, ping_interval: 1s, ping_timeout: 3s"
MODEL=qwen3:0.6b
FAILED_CASES=()

# one_case CASE [ARGS...]: play CASE, then check everything listed above.
# A failed check is recorded and the next case runs anyway.
one_case()
{
	local case=$1 out rc port line t0 ids i
	shift
	out=$T/garbage-$case.out
	log_mark
	t0=$(now_ms)
	"$PY" -u "$HERE/link_garbage.py" --addr "127.0.0.1:$AGENT_PORT" --case "$case" \
	    --namespace lab --token "$TOKEN" --models "$MODEL" --wait 5 "$@" >"$out" 2>&1
	rc=$?
	port=$(sed -n 's/^LOCAL 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out")
	log "case $case: $(grep '^SENT' "$out" | tr '\n' ' ')"
	log "case $case: $(grep '^RESULT' "$out")"
	if [ "$rc" -ne 0 ]; then
		case_failed "$case" "the link was not closed within the bound (rc $rc): $(tail -n 3 "$out" | tr '\n' ' ')"
	fi
	# agentd's last word about that peer, whatever stage it reached
	if [ -n "$port" ] && wait_until 3 in_log "agentd .*(127\\.0\\.0\\.1:$port[): ].*(closed|unlinked)|unlinked.*127\\.0\\.0\\.1:$port\\))"; then
		line=$(tail -n +"$LOG_FROM" "$T/tokilake.log" | grep -E "127\\.0\\.0\\.1:$port\\b" |
		    grep -E 'agentd (warn|info)' | cut -d' ' -f4- | tr '\n' '|')
		log "case $case: agentd: $line"
	else
		case_failed "$case" "agentd logged no closing reason for 127.0.0.1:$port"
	fi
	[ "$(agentd_pid)" = "$AGENTD" ] || fail "case $case: agentd is not the same process any more ($AGENTD -> $(agentd_pid))"
	ids=$(model_ids)
	grep -Fxq -- "lab:m-garbage-$case" <<<"$ids" && case_failed "$case" "lab:m-garbage-$case still listed"
	grep -Fxq -- "lab:$MODEL" <<<"$ids" || case_failed "$case" "tokiame's lab:$MODEL no longer listed"
	# two requests: with two agents publishing the model, the router
	# alternates, so a half-dead garbage link would get one of them
	for i in 1 2; do
		chat "lab:$MODEL"
		[ "$CODE" = 200 ] || { case_failed "$case" "chat via tokiame after the case: $CODE ${BODY:0:160}"; break; }
	done
	log "case $case: done in $(ms_since "$t0") ms"
}

case_failed()
{
	log "CASE FAILED: $1: $2"
	FAILED_CASES+=("$1: $2")
}

# ---- h2c node ---------------------------------------------------------------
link_node "$T/plain.yaml" plain
AGENTD=$(agentd_pid) || fail "no agentd"
tm_config a "127.0.0.1:$AGENT_PORT" "$TOKEN" "tls: { plaintext: true }" \
    "reconnect: { initial: 200ms, max: 2s }"
tm_start a
wait_until 10 listed "lab:$MODEL" || fail "tokiame not listed"
chat_ok "lab:$MODEL"
log "tokiame linked over h2c; agentd $AGENTD"

for c in random garbage-frames bad-frames truncated truncated-eof huge-prefix \
    huge-prefix-registered pb-garbage pb-garbage-registered stream-flood reset-flood \
    connect-twice; do
	one_case "$c"
done
lcheck test "$(tm_api a /status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["reconnects"])')" = 0 \
    "h2c: tokiame's link was never disturbed (reconnects 0)"
link_stop

# ---- TLS node ---------------------------------------------------------------
HTTP_PORT= AGENT_PORT=
link_node "$T/tls.yaml" tls
AGENTD=$(agentd_pid) || fail "no agentd"
tm_config b "127.0.0.1:$AGENT_PORT" "$TOKEN" "tls: { ca_file: \"$T/ca.crt\", server_name: localhost }" \
    "reconnect: { initial: 200ms, max: 2s }"
tm_start b
wait_until 10 listed "lab:$MODEL" || fail "tokiame not listed over TLS"
chat_ok "lab:$MODEL"
log "tokiame linked over TLS; agentd $AGENTD"
one_case tls-random --tls --ca "$T/ca.crt"
one_case tls-plain-bytes
one_case tls-no-alpn --ca "$T/ca.crt"
lcheck test "$(tm_api b /status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["reconnects"])')" = 0 \
    "TLS: tokiame's link was never disturbed (reconnects 0)"

log "took $(ms_since "$T_START") ms"
if [ ${#FAILED_CASES[@]} -gt 0 ]; then
	printf '%s\n' "${FAILED_CASES[@]}" | sed "s/^/$TESTNAME: failed: /"
	fail "${#FAILED_CASES[@]} check(s) failed (above)"
fi
link_pass
