#!/bin/bash
# path-backpressure.sh: a client that reads slowly slows the backend down,
# and no process on the way buffers the difference.
#
# A client (path_slow_reader.py, 16 KiB receive buffer) reads 1 KiB every
# 50 ms: for BP_SECONDS (10) a stream of 200000 small events (~40 MB, which
# the mock sends in about 2 s to a fast client), then for half that a 64
# MiB binary speech answer. Meanwhile VmRSS of every worker, agentd and
# tokiame is sampled every 0.5 s; each must stay under its idle RSS +
# BP_BOUND_MIB (16); the peaks are printed. When the stream's client
# closes, the mock's abort record says how many events it sent: what it
# sent, minus what the client read, minus what the kernel socket queues on
# the path held (ss, Recv-Q + Send-Q: tcp_rmem may let one socket hold
# 32 MB) is what our processes held, which must be under the same bound.
# Nothing stays in flight afterwards.
. "$(dirname "$0")/path-lib.sh"
path_setup
# under ASan freed memory waits in a quarantine (256 MiB by default): RSS
# would measure that, not our buffers
export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=1:thread_local_quarantine_size_kb=64"
path_up

SECS=${BP_SECONDS:-10}
BOUND_KB=$(( ${BP_BOUND_MIB:-16} * 1024 ))
EVENTS=200000
SPEECH=$((64 * 1024 * 1024))

# warm up every process once (first-use allocations are not growth)
for i in 1 2 3 4; do
	curl -s -o /dev/null --max-time 10 -H 'x-mock-chunks: 2000' \
	    --data-binary '{"model":"lab:qwen3:0.6b","stream":true}' "$API/v1/chat/completions"
	curl -s -o /dev/null --max-time 10 -H 'x-mock-bytes: 1000000' \
	    --data-binary '{"model":"lab:qwen3:0.6b","input":"x"}' "$API/v1/audio/speech"
done

declare -A IDLE PEAK NAME
for p in $(pids_of worker); do NAME[$p]="worker $p"; done
p=$(pids_of agentd); NAME[$p]="agentd $p"
NAME[${TM_PIDS[tm]}]="tokiame ${TM_PIDS[tm]}"
for p in "${!NAME[@]}"; do
	IDLE[$p]=$(rss_kb "$p")
	PEAK[$p]=${IDLE[$p]}
done

reader()
{
	"$PY" "$HERE/path_slow_reader.py" --port "$HTTP_PORT" "$@"
}

# queued: bytes waiting in kernel socket queues (Recv-Q + Send-Q) on every
# connection of the path: client <-> worker, agentd <-> tokiame, tokiame
# <-> mock. They are not in any process; the bound is on the rest.
queued()
{
	ss -tnH | awk -v ports=" $MOCK_PORT $AGENT_PORT $HTTP_PORT " '
		{ n = split($4, a, ":"); m = split($5, b, ":")
		  if (index(ports, " " a[n] " ") || index(ports, " " b[m] " ")) q += $2 + $3 }
		END { print q + 0 }'
}

# sample SECONDS PID: RSS of every process every 0.5 s (PEAK) and the
# kernel queues (QUEUED, the last sample) while PID runs.
sample()
{
	local t_end=$(( $(now_ms) + $1 * 1000 )) p r
	while [ "$(now_ms)" -lt "$t_end" ] && alive "$2"; do
		for p in "${!NAME[@]}"; do
			r=$(rss_kb "$p")
			[ -n "$r" ] || fail "${NAME[$p]} is gone"
			[ "$r" -gt "${PEAK[$p]}" ] && PEAK[$p]=$r
		done
		QUEUED=$(queued)
		SAMPLES=$((SAMPLES + 1))
		sleep 0.5
	done
}

SAMPLES=0
# ---- a long stream, read slowly
reader --seconds "$SECS" --path /v1/chat/completions --header "x-mock-chunks: $EVENTS" \
    --header 'X-Request-Id: bp-stream' \
    --body '{"model":"lab:qwen3:0.6b","stream":true,"messages":[]}' >"$T/r.stream" 2>"$T/r.stream.err" &
R1=$!
sample $((SECS - 1)) "$R1"
q_stream=$QUEUED
wait "$R1"
log "stream client: $(cat "$T/r.stream")"
jget "$T/r.stream" 'j["status"] == 200 and j["toks_ok"] and j["toks"] > 100' | grep -qx true ||
    fail "the slow stream client got a bad answer: $(cat "$T/r.stream")"
got=$(jget "$T/r.stream" 'j["bytes"]')
wait_until 3 mock_abort_of bp-stream >/dev/null || fail "no abort record for the slow stream"
sent=$(mock_abort_of bp-stream | cut -d' ' -f2)
sent_b=$((sent * 200))      # an event is ~200 bytes (40088925 for 200000)
held=$((sent_b - got - q_stream))
log "the mock sent $sent of $EVENTS events (~$((sent_b / 1024)) KiB); the client read $((got / 1024)) KiB; kernel socket queues on the path held $((q_stream / 1024)) KiB; so our processes held about $((held / 1024)) KiB (events counted at ~200 bytes)"
[ "$sent" -lt "$EVENTS" ] || fail "the mock sent the whole stream to a client that read $got bytes"
[ "$held" -le $((BOUND_KB * 1024)) ] ||
    fail "~$((held / 1024)) KiB of the stream sat inside our processes (bound $((BOUND_KB / 1024)) MiB)"
log "ok: the slow client slowed the backend: beyond what it read, the stream waited in kernel buffers"

# ---- a large binary answer, read slowly
reader --seconds $((SECS / 2)) --path /v1/audio/speech --header "x-mock-bytes: $SPEECH" \
    --header 'X-Request-Id: bp-speech' \
    --body '{"model":"lab:qwen3:0.6b","input":"a long speech"}' >"$T/r.speech" 2>"$T/r.speech.err" &
R2=$!
sample $((SECS / 2)) "$R2"
wait "$R2"
log "speech client: $(cat "$T/r.speech")"
jget "$T/r.speech" 'j["status"] == 200 and j["bytes"] > 50000' | grep -qx true ||
    fail "the slow speech client got a bad answer: $(cat "$T/r.speech")"

log "$SAMPLES samples"
over=
for p in "${!NAME[@]}"; do
	g=$(( PEAK[$p] - IDLE[$p] ))
	log "${NAME[$p]}: idle ${IDLE[$p]} KiB, peak ${PEAK[$p]} KiB (+$g KiB)"
	[ "$g" -le "$BOUND_KB" ] || over+="${NAME[$p]} +$g KiB; "
done

tm_idle() { [ "$(curl -s --max-time 2 "http://127.0.0.1:$(cat "$T/tm.api")/status" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["in_flight"])' 2>/dev/null)" = 0 ]; }
wait_until 5 tm_idle || fail "tokiame still has tasks in flight after the clients left"
log "ok: nothing in flight after the clients left"

[ -z "$over" ] && log "ok: every process stayed within idle + $((BOUND_KB / 1024)) MiB" ||
    fail "RSS over idle + $((BOUND_KB / 1024)) MiB: $over"
path_pass
