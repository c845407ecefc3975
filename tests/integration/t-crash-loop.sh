#!/usr/bin/env bash
# Supervision policy: a worker that keeps dying right after it starts is
# respawned with a growing delay and the master says "crash loop"; a
# worker that exits 2 (its config cannot be applied: here the HTTPS
# certificate vanished) is not respawned, and when no worker can run the
# master stops with exit status 2 instead of looping.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
tl_setup

# -- crash loop: kill the worker each time it comes back ------------------
WORKERS=1
write_config "$T/tokilake.yaml"
start_and_wait "$T/tokilake.yaml" 1
sleep 1.2 # past the "healthy" time: the first respawn is immediate

# Each new worker is killed as soon as the master's log names it (grep on
# the log is much quicker than pgrep on a loaded machine), so it never
# gets to look healthy. The delay of each respawn is read from the log:
# from the "killed by signal" line to the next "started worker" line.
latest_worker() { grep -oE 'master info: started worker [0-9]+ \(pid [0-9]+' "$T/tokilake.log" | tail -n 1 | grep -oE '[0-9]+$'; }
newer_worker() { NEW_PID=$(latest_worker); [ -n "$NEW_PID" ] && [ "$NEW_PID" != "$victim" ]; }
victims=()
news=()
victim=$(latest_worker)
for i in 1 2 3 4; do
	kill -9 "$victim"
	POLL=0.01 wait_until 6 newer_worker || fail "kill $i: no new worker within 6 s"
	victims+=("$victim")
	news+=("$NEW_PID")
	victim=$NEW_PID
done
delays=()
for i in 0 1 2 3; do
	t_dead=$(log_ms "\(pid ${victims[i]}, generation [0-9]+\) killed by signal") ||
	    fail "no \"killed by signal\" line for ${victims[i]}"
	t_new=$(log_ms "started worker [0-9]+ \(pid ${news[i]}[,)]") ||
	    fail "no \"started worker\" line for ${news[i]}"
	delays+=($((t_new - t_dead)))
done
log "respawn delays while the worker is killed again and again: ${delays[*]} ms (master's log)"
[ "${delays[0]}" -le 1000 ] || fail "first respawn took ${delays[0]} ms (limit 1000)"
[ "${delays[3]}" -gt "${delays[1]}" ] && [ "${delays[3]}" -ge 500 ] ||
    fail "respawn delays do not grow in a crash loop: ${delays[*]} ms"
n=$(grep -c 'crash loop' "$T/tokilake.log")
[ "$n" -ge 3 ] || fail "the master logged \"crash loop\" $n times (want >= 3)"
log "ok: $(grep 'crash loop' "$T/tokilake.log" | tail -n 1)"
wait_for_http "http://127.0.0.1:$HTTP_PORT/healthz" 200 5 || fail "no /healthz 200 after the crash loop"
log "ok: serving again after the crash loop"
stop_master

# -- exit 2: the certificate disappears, then workers are killed -----------
: >"$T/tokilake.log"
command -v openssl >/dev/null || skip "openssl not installed"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
    -keyout "$T/api.key" -out "$T/api.crt" >/dev/null 2>&1 || fail "openssl could not make a certificate"
WORKERS=2
HTTP_PORT=$(freeport)
AGENT_PORT=$(freeport)
write_config "$T/tls.yaml"
sed -i "s|^  listen: .*|  listen:\n    - { address: \"127.0.0.1:$HTTP_PORT\", tls: { cert: $T/api.crt, key: $T/api.key } }|" "$T/tls.yaml"
start_tokilake "$T/tls.yaml"
wait_for_http "https://127.0.0.1:$HTTP_PORT/healthz" 200 5 || fail "no https /healthz 200 within 5 s"
wait_until 5 roles_known 2 || fail "not 2 workers + agentd"
sleep 1.2
rm -f "$T/api.crt" "$T/api.key"
workers=$(pids_of worker | tr '\n' ' ')
first=${workers%% *}
kill -9 "$first"
exit2() { [ "$(grep -c 'exit status 2' "$T/tokilake.log")" -ge "$1" ]; }
wait_until 5 exit2 1 || fail "the replacement worker did not exit 2 with its certificate gone"
log "ok: $(grep -m 1 'cannot load certificate' "$T/tokilake.log")"
log "ok: $(grep -m 1 'exit status 2' "$T/tokilake.log")"
sleep 1
n=$(grep -c 'exit status 2' "$T/tokilake.log")
[ "$n" -eq 1 ] || fail "a worker exiting 2 was respawned ($n exits with status 2)"
[ "$(count_of worker)" -eq 1 ] || fail "expected 1 worker left, have $(count_of worker)"
CURL_MAX_TIME=3 http_is "https://127.0.0.1:$HTTP_PORT/healthz" 200 || fail "the remaining worker stopped serving"
log "ok: the other worker still serves"

kill -9 $(pids_of worker)
t0=$(now_ms)
gone() { ! alive "$MASTER"; }
wait_until 10 gone || fail "master still running 10 s after its last worker exited 2"
wait "$MASTER"
rc=$?
log "master exited $rc after $(($(now_ms) - t0)) ms: $(grep -m 1 'no worker can run' "$T/tokilake.log")"
[ "$rc" -eq 2 ] || fail "master exit status $rc when no worker can run the config (want 2)"
n=$(grep -c 'exit status 2' "$T/tokilake.log")
[ "$n" -le 2 ] || fail "$n worker exits with status 2: respawn loop"

pass "crash-loop delays ${delays[*]} ms; exit 2 not respawned"
