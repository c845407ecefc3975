#!/usr/bin/env bash
# SIGHUP is a transaction: a broken config is rejected with file:line in
# the log and the old workers keep serving; a good one with a new worker
# count replaces every worker by new ones, without failing requests.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
tl_setup

CONF=$T/tokilake.yaml
write_config "$CONF"
cp "$CONF" "$T/good.yaml"
start_and_wait "$CONF" 2
workers=$(pids_of worker | tr '\n' ' ')
agentd=$(pids_of agentd)

# reject_reload DESCRIPTION LINE: SIGHUP with the broken $CONF; the error
# names $CONF:LINE (or just $CONF: when LINE is empty); nothing changes.
reject_reload()
{
	local what=$1 line=$2 before
	before=$(grep -c "$CONF:${line:-[0-9]*}:" "$T/tokilake.log")
	kill -HUP "$MASTER"
	wait_until 3 eval '[ "$(grep -c "$CONF:${line:-[0-9]*}:" "$T/tokilake.log")" -gt "$before" ]' ||
	    fail "$what: no \"$CONF:${line:-N}:\" error in the log within 3 s of SIGHUP"
	log "ok: $what rejected after ${WAITED} ms: $(grep "$CONF:${line:-[0-9]*}:" "$T/tokilake.log" | tail -n 1)"
	sleep 0.5
	alive "$MASTER" || fail "$what: the master died"
	req GET /healthz
	[ "$CODE" = 200 ] || fail "$what: /healthz $CODE after the rejected reload"
	[ "$(pids_of worker | tr '\n' ' ')" = "$workers" ] ||
	    fail "$what: workers changed ($workers -> $(pids_of worker | tr '\n' ' '))"
	[ "$(pids_of agentd)" = "$agentd" ] || fail "$what: agentd changed ($agentd -> $(pids_of agentd))"
	log "ok: $what: same workers ($workers) and agentd ($agentd) still serve"
}

cp "$T/good.yaml" "$CONF"
echo "no_such_key: true" >>"$CONF"
reject_reload "unknown key" "$(wc -l <"$CONF")"

sed 's/^workers: .*/workers: -3/' "$T/good.yaml" >"$CONF"
reject_reload "workers: -3" 1

printf 'workers: 3\nhttp: {listen: [\n\t@@garbage\n' >"$CONF"
reject_reload "YAML garbage" ""

# A listener change cannot be applied by a reload: rejected as well.
sed "s/127.0.0.1:$HTTP_PORT/127.0.0.1:$(freeport)/" "$T/good.yaml" >"$CONF"
before=$(grep -c . "$T/tokilake.log")
kill -HUP "$MASTER"
sleep 1
alive "$MASTER" || fail "listener change: the master died"
req GET /healthz
[ "$CODE" = 200 ] || fail "listener change: /healthz on the old port: $CODE"
[ "$(pids_of worker | tr '\n' ' ')" = "$workers" ] ||
    log "note: a reload changing http.listen replaced the workers (old port still serves)"
log "ok: reload changing http.listen: old port still serves; log: $(tail -n +"$((before + 1))" "$T/tokilake.log" | grep -i -m 1 'listen' )"

# Now a good one: 3 workers, all new, while requests keep succeeding.
sed 's/^workers: .*/workers: 3/' "$T/good.yaml" >"$CONF"
load_start /healthz
sleep 0.3
t0=$(now_ms)
kill -HUP "$MASTER"

all_new_workers()
{
	local p n=0
	for p in $(pids_of worker); do
		[[ " $workers " == *" $p "* ]] && return 1
		n=$((n + 1))
	done
	[ "$n" -eq 3 ] && none_alive $workers
}
wait_until 5 all_new_workers ||
    fail "after SIGHUP with workers: 3: expected 3 new workers and the old ($workers) gone within 5 s; children: $(for p in $(children); do printf '%s=%s ' "$p" "$(role "$p")"; done)"
reload_ms=$(($(now_ms) - t0))
new_workers=$(pids_of worker | tr '\n' ' ')
log "reload applied after ${reload_ms} ms: workers $workers -> $new_workers"
sleep 0.5
load_stop
log "requests during the reload: $LOAD_TOTAL ($(load_summary)slowest ${LOAD_MAX_MS} ms)"
[ "$LOAD_BAD" -eq 0 ] || fail "requests failed during a graceful reload: $(load_summary)"
req GET /v1/models
[ "$CODE" = 200 ] || fail "/v1/models after the reload: $CODE $BODY"
[ "$(pids_of agentd)" = "$agentd" ] || fail "agentd was restarted by the reload ($agentd -> $(pids_of agentd)); it should take the new config over IPC"

# And down to 1.
workers=$new_workers
sed 's/^workers: .*/workers: 1/' "$T/good.yaml" >"$CONF"
kill -HUP "$MASTER"
one_new_worker()
{
	local p
	p=$(pids_of worker)
	[ -n "$p" ] && [ "$(echo "$p" | wc -l)" -eq 1 ] && [[ " $workers " != *" $p "* ]] && none_alive $workers
}
wait_until 5 one_new_worker || fail "after SIGHUP with workers: 1: children: $(children | tr '\n' ' ')"
req GET /healthz
[ "$CODE" = 200 ] || fail "/healthz after the reload to 1 worker: $CODE"
log "ok: reload to workers: 1 applied after ${WAITED} ms"

pass "broken configs rejected; reload to 3 workers in ${reload_ms} ms"
