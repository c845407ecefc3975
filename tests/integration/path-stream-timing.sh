#!/bin/bash
# path-stream-timing.sh: each server-sent event reaches the client as soon
# as the backend sends it, not buffered until the end.
#
# The mock sends 5 token events and [DONE] with 300 ms between them; the
# client stamps each "data:" line as it arrives (bash EPOCHREALTIME, no
# fork per line) and every gap must be 300 ms +-150 ms, through tokilake as
# directly to the mock (measured in the same run, for reference). Chat and
# completions; the gaps are printed.
. "$(dirname "$0")/path-lib.sh"
path_setup
path_up

PAUSE=300
TOL=150
N=5

# stamp URL PATH BODY OUT: the arrival time (ms since the request was
# sent) and each "data:" line, one per line.
stamp()
{
	local t0
	t0=${EPOCHREALTIME/[.,]/}
	curl -sN --max-time 10 -H "x-mock-pause-ms: $PAUSE" -H "x-mock-chunks: $N" \
	    -H 'Content-Type: application/json' --data-binary "$3" "$1$2" | sse_times |
	    awk -v t0="${t0:0:13}" '{ printf "%d %s\n", $1 - t0, substr($0, index($0, " ") + 1) }' >"$4"
}

# gaps FILE: "a b c ..." the ms between consecutive events.
gaps() { awk 'NR > 1 { printf "%d ", $1 - p } { p = $1 }' "$1"; }

# judge FILE WHAT: 6 events in order, every gap PAUSE +- TOL.
judge()
{
	local f=$1 what=$2 g bad=
	[ "$(wc -l <"$f")" -eq $((N + 1)) ] || { JUDGE="$what: $(wc -l <"$f") events, want $((N + 1)): $(cat "$f")"; return 1; }
	for i in $(seq 0 $((N - 1))); do
		sed -n "$((i + 1))p" "$f" | grep -q "tok$i " || { JUDGE="$what: event $i is not tok$i"; return 1; }
	done
	tail -n 1 "$f" | grep -q 'data: \[DONE\]' || { JUDGE="$what: the last event is not [DONE]"; return 1; }
	for g in $(gaps "$f"); do
		[ "$g" -ge $((PAUSE - TOL)) ] && [ "$g" -le $((PAUSE + TOL)) ] || bad="$bad $g"
	done
	[ -z "$bad" ] || { JUDGE="$what: gaps $(gaps "$f")ms, out of ${PAUSE}+-${TOL}:$bad"; return 1; }
	return 0
}

for ep in chat/completions completions; do
	if [ $ep = chat/completions ]; then
		body='{"model":"lab:qwen3:0.6b","stream":true,"messages":[{"role":"user","content":"hi"}]}'
	else
		body='{"model":"lab:qwen3:0.6b","stream":true,"prompt":"hi"}'
	fi
	f=${ep//\//-}
	ok=
	# a loaded machine may stall one run: one more try, both printed
	for try in 1 2; do
		stamp "$MOCK_URL" /v1/$ep "$body" "$T/direct.$f.$try"
		stamp "$API" /v1/$ep "$body" "$T/lake.$f.$try"
		log "$ep try $try: direct: first event at $(head -n 1 "$T/direct.$f.$try" | cut -d' ' -f1) ms, gaps $(gaps "$T/direct.$f.$try")ms"
		log "$ep try $try: tokilake: first event at $(head -n 1 "$T/lake.$f.$try" | cut -d' ' -f1) ms, gaps $(gaps "$T/lake.$f.$try")ms"
		judge "$T/direct.$f.$try" "direct $ep" || { log "reference run off: $JUDGE"; continue; }
		if judge "$T/lake.$f.$try" "tokilake $ep"; then
			ok=1
			break
		fi
		log "try $try: $JUDGE"
	done
	[ -n "$ok" ] || fail "${JUDGE:-no clean reference run}"
	log "ok: $ep: every event arrived ${PAUSE}+-${TOL} ms after the previous one"
done

path_pass
