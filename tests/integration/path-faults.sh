#!/bin/bash
# path-faults.sh: the request path survives its processes dying.
#
# A worker killed (kill -9) mid-stream: only its own clients lose their
# streams (and the backend is told to stop theirs); streams on the other
# worker complete, every event there; new requests succeed. agentd killed
# mid-stream: its streams end with an error (an SSE error event, or a cut),
# the backend requests stop, and new requests succeed once the master has
# respawned agentd and the agent has relinked (tokiame reconnect: 200 ms,
# at most 1 s); the time to the first success is printed.
. "$(dirname "$0")/path-lib.sh"
path_setup
WORKERS=2
path_up

CHUNKS=60   # 150 ms apart: 9 s, time enough to kill something mid-stream
BODY='{"model":"lab:qwen3:0.6b","stream":true,"messages":[]}'

# stream RID: a background streamed request; output $T/s.RID, "status rc" in $T/s.RID.rc
stream()
{
	curl -s -N --max-time 30 -o "$T/s.$1" -w '%{http_code} %{exitcode}' -H "x-mock-chunks: $CHUNKS" \
	    -H 'x-mock-pause-ms: 150' -H "X-Request-Id: $1" --data-binary "$BODY" \
	    "$API/v1/chat/completions" >"$T/s.$1.rc" 2>/dev/null &
	SPIDS+=($!)
}
# worker_of RID: the pid of the worker that logged RID.
worker_of() { sed -n "s/.*tokilake\[\([0-9]*\)\] worker [0-9]* debug: req $1: .*relayed to agentd.*/\1/p" "$T/tokilake.log" | head -n 1; }
relayed() { local r; for r in "$@"; do [ -n "$(worker_of "$r")" ] || return 1; done; }
started() { local r; for r in "$@"; do grep -qs '"tok1 "' "$T/s.$r" || return 1; done; }
# complete RID: every token in order, then [DONE], curl happy.
complete()
{
	[ "$(cat "$T/s.$1.rc")" = "200 0" ] || return 1
	[ "$(grep -o 'tok[0-9]* ' "$T/s.$1" | tr -d ' ' | tr '\n' ' ')" = "$(seq -f 'tok%g' 0 $((CHUNKS - 1)) | tr '\n' ' ')" ] &&
	    [ "$(grep '^data: ' "$T/s.$1" | tail -n 1)" = "data: [DONE]" ]
}
ok_request() { [ "$(http_code --data-binary '{"model":"lab:qwen3:0.6b","messages":[]}' "$API/v1/chat/completions")" = 200 ]; }

# ---- a worker killed mid-stream
SPIDS=()
RIDS=()
for i in $(seq 1 16); do
	RIDS+=("wk-$i")
	stream "wk-$i"
done
wait_until 10 relayed "${RIDS[@]}" || fail "not every stream was relayed"
wait_until 10 started "${RIDS[@]}" || fail "not every stream started"
declare -A ON
for r in "${RIDS[@]}"; do ON[$r]=$(worker_of "$r"); done
VICTIM=${ON[wk-1]}
mine=() others=()
for r in "${RIDS[@]}"; do
	if [ "${ON[$r]}" = "$VICTIM" ]; then mine+=("$r"); else others+=("$r"); fi
done
log "worker $VICTIM serves ${#mine[@]} streams (${mine[*]}), the other ${#others[@]}"
[ "${#others[@]}" -gt 0 ] || skip "all 16 connections went to one worker: cannot tell the workers apart"
ended=$(cat "$T"/s.wk-*.rc)
[ -z "$ended" ] || fail "streams ended before the kill (machine too slow?): $ended"
kill -9 "$VICTIM"
wait "${SPIDS[@]}"
for r in "${mine[@]}"; do
	complete "$r" && fail "$r was on the killed worker yet completed"
done
log "ok: the killed worker's ${#mine[@]} clients lost their streams: $(for r in "${mine[@]}"; do printf '%s:%s ' "$r" "$(cat "$T/s.$r.rc")"; done)"
for r in "${others[@]}"; do
	complete "$r" || fail "$r (other worker) did not complete: $(cat "$T/s.$r.rc"), $(tail -c 300 "$T/s.$r")"
done
log "ok: the other worker's ${#others[@]} streams completed, every event"
for r in "${mine[@]}"; do
	wait_until 3 mock_abort_of "$r" >/dev/null || fail "the backend was not told to stop $r"
done
log "ok: the backend requests of the killed worker's clients were stopped"
for i in $(seq 1 10); do
	ok_request || fail "request $i after the worker was killed: not 200"
done
log "ok: 10 new requests succeed"

# ---- agentd killed mid-stream
SPIDS=()
RIDS=()
for i in $(seq 1 6); do
	RIDS+=("ad-$i")
	stream "ad-$i"
done
wait_until 10 started "${RIDS[@]}" || fail "not every stream started"
AGENTD=$(pids_of agentd)
ended=$(cat "$T"/s.ad-*.rc)
[ -z "$ended" ] || fail "streams ended before the kill (machine too slow?): $ended"
tk=$(now_ms)
kill -9 "$AGENTD"
wait "${SPIDS[@]}"
log "agentd $AGENTD killed; the streams ended $(( $(now_ms) - tk )) ms later"
POLL=0.1 wait_until 15 ok_request || fail "no request succeeded within 15 s of agentd's death"
log "ok: requests succeed again $(( $(now_ms) - tk )) ms after agentd was killed"
for r in "${RIDS[@]}"; do
	complete "$r" && fail "$r completed although agentd died"
	rc=$(cat "$T/s.$r.rc")
	last=$(grep '^data: ' "$T/s.$r" | tail -n 1 | sed 's/^data: //')
	printf '%s' "$last" >"$T/ev.json"
	if code=$(oai_error_shape "$T/ev.json"); then
		log "ok: $r: ended with an error event (code $code), curl $rc"
	elif [ "${rc#* }" != 0 ]; then
		log "ok: $r: cut (curl $rc)"
	else
		fail "$r: ended cleanly without an error: $rc, last event $last"
	fi
done
for r in "${RIDS[@]}"; do
	wait_until 5 mock_abort_of "$r" >/dev/null || fail "the backend was not told to stop $r"
done
log "ok: the backend requests of agentd's streams were stopped"
for i in $(seq 1 10); do
	ok_request || fail "request $i after agentd came back: not 200"
done
req POST /v1/chat/completions --data-binary "$BODY" -H 'x-mock-chunks: 5'
check [ "$CODE" = 200 ] "a stream after all that: 200"
grep -q 'data: \[DONE\]' "$T/body" || fail "the stream after all that is incomplete: $BODY"

path_pass
