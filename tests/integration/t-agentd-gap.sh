#!/bin/bash
# t-agentd-gap.sh: a request that ARRIVES while agentd restarts is not
# refused; it waits, bounded (issue 12, chaos under load).
#
#   gap      kill -9 agentd and at once 20 chat completions and 5 GET
#            /v1/models over ~1 s, on new connections: all 200 (the
#            workers hold them until their agentd link is up again,
#            http.agentd_wait; the new agentd holds them until the agent
#            relinks, agents.relink_grace)
#   relink   tokiame stopped (SIGSTOP), agentd killed; once the new agentd
#            is up and the workers relinked, 10 requests, then SIGCONT
#            ~1.5 s later: all 200 (held by agentd until the agent
#            registers)
#   after    past the grace, with no agent: 503 no_agent at once, as before
#   bound    the master stopped (no respawn), agentd killed: requests get
#            503 agentd_unavailable, OpenAI-shaped, after http.agentd_wait
#            (2 s here), never a hang, and a client that gave up while
#            waiting is not among them; SIGCONT: all well again
# On main before the fix, gap and relink get 503 (agentd_unavailable,
# no_agent) at once, and bound answers at once instead of waiting.
. "$(dirname "$0")/path-lib.sh"
path_setup
WAIT_S=2
eval "path_lib_$(declare -f path_write_config)"
path_write_config()
{
	path_lib_path_write_config "$1"
	# GAP_OLD_CONFIG=1: without the key, to run this against main
	[ -n "${GAP_OLD_CONFIG:-}" ] ||
	    sed -i "s/^  first_byte_timeout: .*/&\n  agentd_wait: ${WAIT_S}s/" "$1"
	# a stopped agent's old link must not matter: agentd is killed anyway
	sed -i 's/^  ping_timeout: .*/  ping_timeout: 10s/' "$1"
}
path_up
printf '%s' '{"model":"lab:qwen3:0.6b","messages":[{"role":"user","content":"hi"}]}' >"$T/chat.json"
BUGS=
post() { local p=$1 f=$2; shift 2; req POST "$p" --data-binary @"$f" -H 'Content-Type: application/json' "$@"; }

# fire NAME N GAP_MS: N chat completions GAP_MS apart, in the background,
# each on its own connection; every result "code ms code" in $T/NAME.res
fire()
{
	local name=$1 n=$2 gap=$3 i
	: >"$T/$name.res"
	for i in $(seq 1 "$n"); do
		(
			t=$(now_ms)
			c=$(curl -s -o "$T/$name.$i.body" -w '%{http_code}' --max-time 20 \
			    -H 'content-type: application/json' --data-binary @"$T/chat.json" \
			    "$API/v1/chat/completions" 2>/dev/null)
			echo "$c $(($(now_ms) - t)) chat $i" >>"$T/$name.res"
		) &
		sleep "$(awk "BEGIN { print $gap / 1000 }")"
	done
}
# fire_models NAME N GAP_MS: the same with GET /v1/models
fire_models()
{
	local name=$1 n=$2 gap=$3 i
	for i in $(seq 1 "$n"); do
		(
			t=$(now_ms)
			c=$(curl -s -o "$T/$name.m$i.body" -w '%{http_code}' --max-time 20 \
			    "$API/v1/models" 2>/dev/null)
			echo "$c $(($(now_ms) - t)) models $i" >>"$T/$name.res"
		) &
		sleep "$(awk "BEGIN { print $gap / 1000 }")"
	done
}
n_done() { [ "$(wc -l <"$T/$1.res")" -ge "$2" ]; }
# all_200 NAME N: N results, each 200
all_200()
{
	local name=$1 n=$2 bad
	wait_until 30 n_done "$name" "$n" || { BUGS+="$name: only $(wc -l <"$T/$name.res") of $n answered in 30 s; "; return; }
	bad=$(awk '$1 != 200' "$T/$name.res")
	if [ -n "$bad" ]; then
		BUGS+="$name: not 200: $(tr '\n' ';' <<<"$bad") ($(cat "$T/$name".*.body 2>/dev/null | grep -o '"code":"[a-z_]*"' | sort | uniq -c | tr '\n' ' ')); "
		log "BUG $name: $(tr '\n' ';' <<<"$bad")"
	else
		log "ok: $name: $n requests, all 200, slowest $(sort -k2 -n "$T/$name.res" | tail -n 1 | cut -d' ' -f2) ms"
	fi
}
n_linked() { grep -c 'of namespace lab linked from' "$T/tokilake.log"; }
workers_relinked()
{
	local w
	for w in $(pids_of worker); do
		[ "$(log_ms "\[$w\] worker [0-9]+ info: agentd link up" >/dev/null && echo y)" = y ] || return 1
	done
}

# -- gap: requests arrive while agentd is down and while the agent relinks --
A=$(pids_of agentd)
linked_before=$(n_linked)
log_mark
kill -9 "$A"
fire gap 20 50 &
f1=$!
fire_models gapm 5 200
wait "$f1"
all_200 gap 20
all_200 gapm 5
wait_until 10 new_pid_not_in "$A" agentd || fail "agentd not respawned"
wait_until 15 eval '[ "$(n_linked)" -gt "$linked_before" ]' || fail "tm did not relink"

# -- relink: agentd up, the agent not yet: agentd holds the requests -------
wait_until 10 path_linked "lab:qwen3:0.6b" || fail "not linked before the relink phase"
A=$(pids_of agentd)
linked_before=$(n_linked)
kill -STOP "${TM_PIDS[tm]}"
log_mark
kill -9 "$A"
wait_until 10 new_pid_not_in "$A" agentd || fail "agentd not respawned (relink phase)"
wait_until 10 workers_relinked || fail "the workers did not relink to the new agentd"
respawned_at=$(now_ms)
fire relink 10 50
sleep 1.5
kill -CONT "${TM_PIDS[tm]}"
all_200 relink 10
wait_until 15 eval '[ "$(n_linked)" -gt "$linked_before" ]' || fail "tm did not relink (relink phase)"

# -- after the grace: no agent means 503 no_agent at once, as before --------
while [ $(($(now_ms) - respawned_at)) -lt 6000 ]; do sleep 0.2; done
kill -STOP "${TM_PIDS[tm]}"
linked_before=$(n_linked)
A=$(pids_of agentd)
kill -9 "$A"
wait_until 10 new_pid_not_in "$A" agentd || fail "agentd not respawned (after phase)"
respawned_at=$(now_ms)
while [ $(($(now_ms) - respawned_at)) -lt 6000 ]; do sleep 0.2; done
t=$(now_ms)
CURL_MAX_TIME=20 post /v1/chat/completions "$T/chat.json"
el=$(($(now_ms) - t))
if [ "$CODE" = 503 ] && grep -q '"no_agent"' <<<"$BODY" && [ "$el" -lt 1500 ]; then
	log "ok: after the grace, no agent linked: 503 no_agent in $el ms"
else
	BUGS+="after the grace: $CODE in $el ms ($BODY), want 503 no_agent at once; "
fi
kill -CONT "${TM_PIDS[tm]}"
wait_until 15 eval '[ "$(n_linked)" -gt "$linked_before" ]' || fail "tm did not relink (after phase)"
wait_until 10 path_linked "lab:qwen3:0.6b" || fail "not linked after the after phase"

# -- bound: agentd kept down: 503 after http.agentd_wait, not a hang --------
kill -STOP "$MASTER"
A=$(pids_of agentd)
log_mark
kill -9 "$A"
sleep 0.3
# a client that gives up while waiting is taken out of the queue: the
# workers answer 503 to the 7 others only
curl -s -o /dev/null --max-time 0.5 -H 'content-type: application/json' \
    --data-binary @"$T/chat.json" "$API/v1/chat/completions"
fire bound 5 100
fire_models bound 2 100
wait_until 30 n_done bound 7 || BUGS+="bound: only $(wc -l <"$T/bound.res") of 7 answered in 30 s (a hang); "
expired=$(tail -n +"$LOG_FROM" "$T/tokilake.log" |
    sed -n 's/.*agentd link still down after [0-9]* ms: \([0-9]*\) waiting request.*/\1/p' |
    awk '{ n += $1 } END { print n + 0 }')
[ "$expired" = 7 ] || BUGS+="bound: the workers answered $expired waiting requests with 503, want 7 (the client that left is not among them); "
kill -CONT "$MASTER"
while read -r code ms kind i; do
	if [ "$kind" = chat ]; then f=$T/bound.$i.body; else f=$T/bound.m$i.body; fi
	BODY=$(cat "$f")
	if [ "$code" != 503 ] || ! grep -q '"agentd_unavailable"' "$f" || ! oai_error_shape "$f" >/dev/null; then
		BUGS+="bound: $kind $i: $code $BODY, want an OpenAI 503 agentd_unavailable; "
	elif [ "$ms" -lt $((WAIT_S * 1000 - 150)) ] || [ "$ms" -gt $((WAIT_S * 1000 + 8000)) ]; then
		BUGS+="bound: $kind $i answered 503 after $ms ms, want about ${WAIT_S}000 ms; "
	fi
done <"$T/bound.res"
[ -n "$BUGS" ] || log "ok: bound: 7 requests, 503 agentd_unavailable after $(sort -k2 -n "$T/bound.res" | head -n 1 | cut -d' ' -f2)..$(sort -k2 -n "$T/bound.res" | tail -n 1 | cut -d' ' -f2) ms"
wait_until 10 new_pid_not_in "$A" agentd || fail "agentd not respawned after SIGCONT of the master"
wait_until 15 path_linked "lab:qwen3:0.6b" || fail "not linked again after the bound phase"
post /v1/chat/completions "$T/chat.json"
[ "$CODE" = 200 ] || BUGS+="after the bound phase: $CODE $BODY; "

path_done "$BUGS" "requests during agentd's restart waited and succeeded; kept down: 503 after ${WAIT_S} s"
