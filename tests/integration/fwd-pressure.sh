#!/bin/bash
# fwd-pressure.sh: forwarding under load and against a slow client.
#
#   - FWD_PAR (150) streamed requests at once through node a (more than
#     the 100 streams b's HTTP/2 listener runs at once on one connection:
#     the rest wait their turn) all complete, each with every event, over
#     ONE connection a -> b;
#   - a client that reads slowly through a holds the backend back: for
#     FWD_BP_SECONDS (8) it reads 1 KiB every 50 ms of a 200000-event
#     stream; VmRSS of a's agentd and b's workers and agentd stays under
#     idle + FWD_BP_BOUND_MIB (16); when it leaves, the mock has sent only
#     part of the stream (what the path buffers, not all of it).
. "$(dirname "$0")/fwd-lib.sh"
fwd_setup
# under ASan freed memory waits in a quarantine: RSS would measure that
export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=1:thread_local_quarantine_size_kb=64"
fwd_up
A=$(fwd_api a)

# --- many at once
PAR=${FWD_PAR:-150}
pids=()
for i in $(seq 1 "$PAR"); do
	curl -s -N --max-time 60 -o "$T/par.$i" -H 'x-mock-chunks: 40' -H 'x-mock-pause-ms: 20' \
	    --data-binary '{"model":"lab:qwen3:0.6b","stream":true,"messages":[]}' \
	    "$A/v1/chat/completions" 2>/dev/null &
	pids+=($!)
done
wait "${pids[@]}"
bad=0
for i in $(seq 1 "$PAR"); do
	[ "$(grep -c '^data: ' "$T/par.$i")" = 41 ] || { bad=$((bad + 1)); log "stream $i: $(tail -c 200 "$T/par.$i")"; }
done
check [ "$bad" = 0 ] "$PAR concurrent forwarded streams all complete ($bad incomplete)"
conns=$(grep -c 'node b: connecting to' "$T/node-a.log")
check [ "$conns" = 1 ] "one connection a -> b carried them all ($conns)"

# --- a slow client
SECS=${FWD_BP_SECONDS:-8}
BOUND_KB=$(( ${FWD_BP_BOUND_MIB:-16} * 1024 ))
EVENTS=200000
declare -A IDLE PEAK NAME
apid=$(pgrep -f -- "tokilake: agentd .*$T/a.yaml" | head -n 1)
bpid=$(pgrep -f -- "tokilake: agentd .*$T/b.yaml" | head -n 1)
[ -n "$apid" ] && [ -n "$bpid" ] || fail "cannot find the agentd processes: $(pgrep -af -- "$T/")"
NAME[$apid]="a's agentd"
NAME[$bpid]="b's agentd"
for p in $(pgrep -f -- "tokilake: worker .*$T/b.yaml"); do NAME[$p]="b's worker $p"; done
for p in $(pgrep -f -- "tokilake: worker .*$T/a.yaml"); do NAME[$p]="a's worker $p"; done
for p in "${!NAME[@]}"; do
	IDLE[$p]=$(rss_kb "$p")
	PEAK[$p]=${IDLE[$p]}
done
"$PY" "$HERE/path_slow_reader.py" --port "${NODE_HTTP[a]}" --path /v1/chat/completions \
    --body '{"model":"lab:qwen3:0.6b","stream":true}' --header "x-mock-chunks: $EVENTS" \
    --header 'X-Request-Id: fwd-slow' --seconds "$SECS" >"$T/slow.out" 2>"$T/slow.err" &
spid=$!
TL_PIDS+=("$spid")
end=$(( $(now_ms) + SECS * 1000 ))
while [ "$(now_ms)" -lt "$end" ] && alive "$spid"; do
	for p in "${!NAME[@]}"; do
		r=$(rss_kb "$p")
		[ -n "$r" ] && [ "$r" -gt "${PEAK[$p]}" ] && PEAK[$p]=$r
	done
	sleep 0.5
done
wait "$spid"
# (its toks_ok may say false: over HTTP/1.1 the chunked framing can fall
# inside a token, which its simple parser does not undo)
log "slow client: $(cat "$T/slow.out")"
toks=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["toks"])' "$T/slow.out")
wait_until 5 mock_abort_of fwd-slow >/dev/null || fail "no abort record for the slow client"
sent=$(mock_abort_of fwd-slow | cut -d' ' -f2)
log "the mock sent $sent of $EVENTS events; the client read $toks"
check [ "$sent" -lt "$EVENTS" ] "the backend was held back by the slow client ($sent < $EVENTS events)"
over=
for p in "${!NAME[@]}"; do
	grow=$((PEAK[$p] - IDLE[$p]))
	log "${NAME[$p]}: idle ${IDLE[$p]} KiB, peak ${PEAK[$p]} KiB (+$grow)"
	[ "$grow" -le "$BOUND_KB" ] || over+="${NAME[$p]} grew $grow KiB; "
done
[ -z "$over" ] || fail "memory grew past the bound: $over"
req POST /v1/chat/completions --data-binary '{"model":"lab:qwen3:0.6b","messages":[]}'
check [ "$CODE" = 200 ] "a new request after all that: 200"

fwd_pass
