#!/usr/bin/env bash
# SIGUSR1 with log.file: after the file is renamed (rotation), SIGUSR1
# makes the master and every child write to a new file of the same name,
# and nothing more goes to the renamed one.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
tl_setup

LOG_FILE=$T/node.log
write_config "$T/tokilake.yaml"
start_and_wait "$T/tokilake.yaml" 2
[ -s "$LOG_FILE" ] || fail "log.file $LOG_FILE is empty or missing"
log "log.file has $(wc -l <"$LOG_FILE") lines"

mv "$LOG_FILE" "$LOG_FILE.1"
kill -USR1 "$MASTER"
reopened() { [ -s "$LOG_FILE" ]; }
wait_until 3 reopened || fail "no new $LOG_FILE within 3 s of SIGUSR1"
log "new $LOG_FILE with lines ${WAITED} ms after SIGUSR1: $(head -n 1 "$LOG_FILE")"

# Give the children time to get LOG_REOPEN from the master, then make every
# kind of process write: requests, an agentd restart (workers notice it).
sleep 0.5
old_lines=$(wc -l <"$LOG_FILE.1")
workers=$(pids_of worker | tr '\n' ' ')
agentd=$(pids_of agentd)
for i in $(seq 1 10); do req GET /v1/models; done
kill -9 "$agentd"
wait_until 3 new_pid_not_in "$agentd" agentd || fail "no new agentd"
wait_for_http "http://127.0.0.1:$HTTP_PORT/v1/models" 200 3 || fail "/v1/models not back after agentd restart"
sleep 0.5
for i in $(seq 1 10); do req GET /v1/models; done

new_old=$(wc -l <"$LOG_FILE.1")
if [ "$new_old" -ne "$old_lines" ]; then
	fail "$((new_old - old_lines)) lines still went to the renamed file after SIGUSR1: $(tail -n +"$((old_lines + 1))" "$LOG_FILE.1" | head -n 5)"
fi
grep -q "\[$MASTER\] master" "$LOG_FILE" || fail "no master line in the new log file"
writers=$(sed -n 's/^.*tokilake\[\([0-9]*\)\] \([a-z]*\).*/\2/p' "$LOG_FILE" | sort | uniq -c | tr -s ' \n' ' ')
log "ok: nothing more in $LOG_FILE.1; new file has $(wc -l <"$LOG_FILE") lines by role: $writers"
for p in $workers; do
	grep -q "\[$p\] worker" "$LOG_FILE" && log "ok: worker $p writes to the new file"
done

pass "log reopened on SIGUSR1"
