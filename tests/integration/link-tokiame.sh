#!/bin/bash
# link-tokiame.sh: the real tokiame against the real tokilake over TLS with
# a throwaway CA, the mock backend behind tokiame.
#
# Checks (and measures): linked and models listed (time from tokiame start
# to its model in /v1/models); a wrong token (tokiame says so, its
# /healthz is 503, nothing listed); a wrong CA and a wrong host name (no
# link); kill -9 of tokiame (its models gone from /v1/models within 1 s);
# tokilake restarted on the same ports (tokiame relinks within its
# back-off cap); kill -STOP of tokiame (gone within ping_timeout + 1 s),
# then kill -CONT (relinks); a model added to the backend (listed after
# the next discovery).
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/mock/mock-lib.sh"
. "$(dirname "$0")/link-lib.sh"

link_setup_with_tokiame

link_token lab
NAMESPACES_YAML="  lab: { tokens: [\"$HASH\"] }"
PING_TIMEOUT_MS=3000
AGENT_OPTS="ping_interval: 1s, ping_timeout: 3s"
RECONNECT_MAX_MS=2000
link_node "$T/tokilake.yaml" tls
AGENTD=$(agentd_pid) || fail "no agentd"

TLS_OK="tls: { ca_file: \"$T/ca.crt\", server_name: localhost }"
BACKOFF="reconnect: { initial: 200ms, max: 2s }"
TM_BACKEND_EXTRA="discover: true, discover_interval: 1s"
POLL=0.02

# ---- linked, models listed --------------------------------------------------
tm_config a "127.0.0.1:$AGENT_PORT" "$TOKEN" "$TLS_OK" "$BACKOFF"
log_mark
T0=$(now_ms)
tm_start a
A=$TM_PID
wait_until 10 listed lab:qwen3:0.6b || fail "lab:qwen3:0.6b not listed within 10 s: $(models)"
note "tokiame start to lab:qwen3:0.6b in /v1/models (ms)" \
    "$(ms_since "$T0") (polled; agentd logged the link $(($(log_ms 'agentd .*linked from') - T0)) ms after the start)"
wait_until 3 tm_health_is a 200 || fail "tokiame /healthz not 200 while linked"
check_models_format || fail "/v1/models format: $(cat "$T/models-format.out")"
chat_ok lab:qwen3:0.6b
case $BODY in *'mock reply'*'to qwen3:0.6b'*) log "ok: chat through tokiame reaches the mock: ${BODY:0:120}" ;;
*) fail "unexpected answer: ${BODY:0:300}" ;; esac
grep -q 'registered on node' "$T/tm-a.log" || fail "tokiame did not log its registration"

# ---- wrong token, wrong CA, wrong host name ---------------------------------
# Each: its own model name, which must never be listed; a's model stays.
WRONG=tlk_$(printf '%064d' 0 | tr 0 5)
TM_MODELS='"m-badtoken"' tm_config badtok "127.0.0.1:$AGENT_PORT" "$WRONG" "$TLS_OK" "$BACKOFF"
TM_MODELS='"m-badca"' tm_config badca "127.0.0.1:$AGENT_PORT" "$TOKEN" \
    "tls: { ca_file: \"$T/other-ca.crt\", server_name: localhost }" "$BACKOFF"
TM_MODELS='"m-badname"' tm_config badname "127.0.0.1:$AGENT_PORT" "$TOKEN" \
    "tls: { ca_file: \"$T/ca.crt\", server_name: not-this-host.example }" "$BACKOFF"
log_mark
for n in badtok badca badname; do
	tm_start "$n"
	printf -v "PID_$n" %s "$TM_PID"
done
tm_logged() { grep -Eiq -- "$2" "$T/tm-$1.log"; }
wait_until 10 tm_logged badtok 'UNAUTHENTICATED|rejected the token' ||
    fail "wrong token: tokiame did not say so: $(tail -n 5 "$T/tm-badtok.log")"
log "ok: wrong token: tokiame says: $(grep -Eim1 'UNAUTHENTICATED|rejected the token' "$T/tm-badtok.log" | cut -c1-200)"
wait_until 10 tm_logged badca 'certificate verify failed' ||
    fail "wrong CA: tokiame did not say why: $(tail -n 5 "$T/tm-badca.log")"
log "ok: wrong CA: tokiame says: $(grep -Eim1 'certificate verify failed' "$T/tm-badca.log" | cut -c1-200)"
wait_until 10 tm_logged badname 'certificate verify failed.*(host ?name|mismatch)' ||
    fail "wrong host name: tokiame did not say why: $(tail -n 5 "$T/tm-badname.log")"
log "ok: wrong host name: tokiame says: $(grep -Eim1 'certificate verify failed' "$T/tm-badname.log" | cut -c1-200)"
# let each fail twice more (back-off 200 ms .. 2 s), then look
sleep 1.5
for n in badtok badca badname; do
	lcheck test "$(tm_health "$n")" = 503 "$n: tokiame /healthz 503"
	lcheck alive "$(eval echo "\$PID_$n")" "$n: tokiame keeps running (and retrying)"
	ST=$(tm_api "$n" /status)
	case $ST in *'"link":"registered"'*) fail "$n: /status says registered: $ST" ;; esac
done
for m in m-badtoken m-badca m-badname; do
	lcheck not_listed "lab:$m" "lab:$m not listed"
done
lcheck listed lab:qwen3:0.6b "a's model stays listed"
chat_ok lab:qwen3:0.6b
lcheck in_log 'agentd.*authentication failed for namespace "lab"' "agentd logged the wrong token"
lcheck in_log 'agentd.*TLS handshake failed' "agentd logged the failed handshakes"
grep -qF "$WRONG" "$T/tokilake.log" "$T"/tm-*.log && fail "a token was logged"
grep -qF "$TOKEN" "$T/tokilake.log" "$T"/tm-*.log && fail "the lab token was logged"
log "ok: no token in any log"
for n in badtok badca badname; do
	kill -TERM "$(eval echo "\$PID_$n")"
done

# ---- kill -9 tokiame: models gone within 1 s --------------------------------
log_mark
disown "$A"   # no "Killed" message from bash
T0=$(now_ms)
kill -9 "$A"
wait_until 3 not_listed lab:qwen3:0.6b || fail "lab:qwen3:0.6b still listed 3 s after kill -9"
GONE_MS=$(ms_since "$T0")
UNLINK_MS=$(($(log_ms 'agentd .*unlinked') - T0))
note "kill -9 tokiame to its model gone from /v1/models (ms)" \
    "$GONE_MS (polled; agentd logged the unlink $UNLINK_MS ms after the kill)"
# agentd's own clock: polling with curl on a loaded machine adds its own delay
[ "$UNLINK_MS" -le 1000 ] || fail "kill -9: agentd unlinked the agent $UNLINK_MS ms after, more than 1 s"
chat lab:qwen3:0.6b
[ "$CODE" = 404 ] || [ "$CODE" = 503 ] || fail "model of a dead agent: $CODE ${BODY:0:200}"
log "ok: chat for the dead agent's model: $CODE"

tm_start a
A=$TM_PID
wait_until 10 listed lab:qwen3:0.6b || fail "restarted tokiame not listed"
log "ok: tokiame restarted and listed after $WAITED ms"

# ---- tokilake restarted: tokiame relinks within the back-off cap ------------
log_mark
T0=$(now_ms)
link_stop
STOPPED_MS=$(ms_since "$T0")
log "ok: tokilake stopped (SIGTERM, exit 0) in $STOPPED_MS ms with tokiame linked"
wait_until 5 tm_health_is a 503 || fail "tokiame /healthz still 200 with tokilake down"
sleep 0.5
T0=$(now_ms)
start_and_wait "$T/tokilake.yaml"
UP_MS=$(ms_since "$T0")
wait_until 10 listed lab:qwen3:0.6b || fail "tokiame did not relink within 10 s"
RELINK_MS=$(ms_since "$T0")
READY=$(log_ms 'master .*ready:') LINKED=$(log_ms 'agentd .*linked from')
note "tokilake restarted: start to tokiame's model listed again (ms)" \
    "$RELINK_MS (polled; node up after $UP_MS; agentd logged the link $((LINKED - READY)) ms after the node said ready)"
# the back-off cap is 2 s plus 0..jitter: it must relink within the cap
# after the node is up (plus a little for TLS and the poll)
[ "$RELINK_MS" -le $((UP_MS + RECONNECT_MAX_MS + 1000)) ] ||
    fail "relink took $RELINK_MS ms, node up after $UP_MS ms, cap $RECONNECT_MAX_MS ms"
chat_ok lab:qwen3:0.6b
AGENTD=$(agentd_pid)

# ---- kill -STOP: silent loss noticed by PING --------------------------------
log_mark
T0=$(now_ms)
kill -STOP "$A"
wait_until $((PING_TIMEOUT_MS / 1000 + 4)) not_listed lab:qwen3:0.6b ||
    { kill -CONT "$A"; fail "stopped tokiame still listed"; }
STOP_MS=$(ms_since "$T0")
note "kill -STOP tokiame to its model gone (ping_interval 1s, ping_timeout 3s) (ms)" \
    "$STOP_MS (polled; agentd logged the unlink $(($(log_ms 'agentd .*unlinked') - T0)) ms after the STOP)"
LINE=$(tail -n +"$LOG_FROM" "$T/tokilake.log" | grep -m1 'unlinked')
log "agentd said: $LINE"
if [ "$STOP_MS" -gt $((PING_TIMEOUT_MS + 1000)) ]; then
	kill -CONT "$A"
	fail "silent loss noticed after $STOP_MS ms, more than ping_timeout + 1 s"
fi
chat lab:qwen3:0.6b
[ "$CODE" = 404 ] || [ "$CODE" = 503 ] || fail "model of a stopped agent: $CODE ${BODY:0:200}"
kill -CONT "$A"
T0=$(now_ms)
wait_until 10 listed lab:qwen3:0.6b || fail "tokiame did not relink after SIGCONT"
note "kill -CONT to relinked and listed (ms)" "$(ms_since "$T0")"
chat_ok lab:qwen3:0.6b

# ---- discovery: a model added to the backend --------------------------------
curl -s --max-time 3 -X POST -d '{"models":["qwen3:0.6b","llama3:8b"]}' "$MOCK_URL/mock/models" >/dev/null ||
    fail "cannot change the mock's models"
T0=$(now_ms)
wait_until 5 listed lab:llama3:8b || fail "discovered model not listed within 5 s (discover_interval 1s)"
note "model added to the backend to listed (discover_interval 1s) (ms)" "$(ms_since "$T0")"
chat lab:llama3:8b
lcheck test "$CODE" = 200 "chat via the discovered model"
lcheck test "$AGENTD" = "$(agentd_pid)" "agentd is the same process"
kill -TERM "$A"
wait_until 5 none_alive "$A" || fail "tokiame still running 5 s after SIGTERM"
wait "$A"
lcheck test $? = 0 "tokiame exits 0 on SIGTERM"
log "took $(ms_since "$T_START") ms"
link_pass
