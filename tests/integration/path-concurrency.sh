#!/bin/bash
# path-concurrency.sh: 200 streams at once through one agent, every answer
# checked, and a stalled client does not hold the others back.
#
# Round 1: 200 concurrent streamed chat completions (20 events, 20 ms
# apart); each answer must hold tok0..tok19 in order and [DONE]. Round 2:
# the same while one client (path_slow_reader.py --stall) has asked for a
# huge stream and never reads; the 200 must again be complete, and their
# median and slowest times stay close to round 1 (one worker, so the
# stalled client shares it, and the link, with everyone) (median within 1.5x +
# 300 ms, max within 2x + 500 ms: the machine may be busy). Times printed.
. "$(dirname "$0")/path-lib.sh"
path_setup
WORKERS=1   # the stalled client shares its worker with all the others
path_up

N=${CONC_N:-200}
mkdir -p "$T/r1" "$T/r2"

# round DIR: N streams at once from one curl (--parallel, every
# connection opened at once); "<file> <seconds>" per client in DIR/times.
round()
{
	local dir=$1 i tag=${1##*/}
	for i in $(seq 1 "$N"); do
		[ "$i" -gt 1 ] && echo next
		echo "url = \"$API/v1/chat/completions\""
		echo "output = \"$dir/$i\""
		echo "header = \"x-mock-chunks: 20\""
		echo "header = \"x-mock-pause-ms: 20\""
		echo "header = \"X-Request-Id: conc-$tag-$i\""
		echo "header = \"Content-Type: application/json\""
		echo 'data-binary = "{\"model\":\"lab:qwen3:0.6b\",\"stream\":true,\"messages\":[]}"'
		echo 'write-out = "%{filename_effective} %{time_total}\n"'
		echo 'max-time = 30'
		echo 'no-buffer'
	done >"$dir.cfg"
	curl -s --parallel --parallel-immediate --parallel-max "$N" -K "$dir.cfg" >"$dir/times" 2>"$dir.err"
}

# verify DIR: every answer complete and in order; prints "median max" ms.
verify()
{
	"$PY" - "$1" "$N" <<'EOF'
import json, os, re, sys
d, n = sys.argv[1], int(sys.argv[2])
bad, times = [], []
for i in range(1, n + 1):
    try:
        text = open(os.path.join(d, str(i)), encoding="utf-8").read()
    except (OSError, ValueError) as e:
        bad.append("%d: %s" % (i, e))
        continue
    events = [l[6:] for l in text.split("\n") if l.startswith("data: ")]
    toks = []
    for e in events[:-1]:
        try:
            toks.append(json.loads(e)["choices"][0]["delta"]["content"])
        except (ValueError, KeyError, IndexError):
            toks.append("?" + e[:80])
    want = ["tok%d " % k for k in range(20)]
    if toks != want or not events or events[-1] != "[DONE]":
        bad.append("%d: %s ... %s" % (i, toks[:3], events[-1:] if events else "nothing"))
for line in open(os.path.join(d, "times")):
    f, t = line.split()
    times.append(float(t) * 1000)
if len(times) != n:
    bad.append("%d transfers timed, want %d" % (len(times), n))
times.sort()
if bad:
    print("BAD %d answers incomplete or out of order: %s" % (len(bad), "; ".join(bad[:5])))
    sys.exit(1)
print("%d %d" % (times[len(times) // 2], times[-1]))
EOF
}

t0=$(now_ms)
round "$T/r1"
log "round 1: $N streams in $(( $(now_ms) - t0 )) ms"
r1=$(verify "$T/r1") || fail "round 1: $r1"
read -r med1 max1 <<<"$r1"
log "ok: round 1: all $N answers complete; per client median $med1 ms, max $max1 ms"

# a client that asks for a huge stream and never reads
"$PY" "$HERE/path_slow_reader.py" --port "$HTTP_PORT" --stall --seconds 60 --path /v1/chat/completions \
    --header 'x-mock-chunks: 1000000' --header 'X-Request-Id: conc-stalled' \
    --body '{"model":"lab:qwen3:0.6b","stream":true,"messages":[]}' >/dev/null 2>&1 &
STALL=$!
TL_PIDS+=("$STALL")
sleep 2   # its buffers fill up; from now on it holds the answer back
t0=$(now_ms)
round "$T/r2"
log "round 2 (one client stalled): $N streams in $(( $(now_ms) - t0 )) ms"
r2=$(verify "$T/r2") || fail "round 2: $r2"
read -r med2 max2 <<<"$r2"
log "ok: round 2: all $N answers complete; per client median $med2 ms, max $max2 ms"
alive "$STALL" || fail "the stalled client is gone"
[ "$med2" -le $((med1 * 3 / 2 + 300)) ] || fail "a stalled client slowed the others: median $med2 ms vs $med1 ms"
[ "$max2" -le $((max1 * 2 + 500)) ] || fail "a stalled client slowed the others: max $max2 ms vs $max1 ms"
log "ok: the stalled client did not hold the others back"
kill "$STALL"
wait_until 3 mock_abort_of conc-stalled >/dev/null || fail "the stalled stream was not cancelled when its client left"
log "the stalled stream: the mock sent $(mock_abort_of conc-stalled | cut -d' ' -f2) events before its client left"

path_pass
