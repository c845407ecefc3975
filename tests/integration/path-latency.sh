#!/bin/bash
# path-latency.sh: a measurement, not a test (not in TESTS). Latency of a
# non-streamed chat completion through tokilake + tokiame + the mock, and
# directly to the mock, in the same run; then requests per second of each
# at 32 connections.
#
#   top_builddir=BUILD top_srcdir=SRC bash tests/integration/path-latency.sh
#
# Latency: LAT_N (500) sequential requests on one keep-alive connection
# (one curl process, -K with LAT_N transfers, time_total of each): median,
# p99, max. Also wrk -c 1 --latency when wrk is installed. Throughput:
# wrk -t 2 -c 32 -d LAT_SECS (5) s, or h2load -c 32 if wrk is missing;
# skipped (and said) if neither is. Logs at info, 2 workers.
. "$(dirname "$0")/path-lib.sh"
path_setup
LOG_LEVEL=info
path_up

N=${LAT_N:-500}
SECS=${LAT_SECS:-5}
CHAT='{"model":"MODEL","messages":[{"role":"user","content":"Say hello in one word."}],"max_tokens":8}'
LAKE_BODY=${CHAT/MODEL/lab:qwen3:0.6b}
MOCK_BODY=${CHAT/MODEL/qwen3:0.6b}

# seq_latency URL BODY NAME: N sequential requests on one connection.
seq_latency()
{
	local url=$1 body=$2 name=$3 i
	{
		for i in $(seq 1 "$N"); do
			[ "$i" -gt 1 ] && echo next
			echo "url = \"$url/v1/chat/completions\""
			echo 'output = "/dev/null"'
			echo 'header = "Content-Type: application/json"'
			printf 'data-binary = "%s"\n' "${body//\"/\\\"}"
			echo 'write-out = "%{http_code} %{time_total}\n"'
		done
	} >"$T/$name.cfg"
	curl -s -K "$T/$name.cfg" >"$T/$name.times" || fail "$name: curl failed"
	[ "$(grep -c '^200 ' "$T/$name.times")" = "$N" ] || fail "$name: not all 200: $(sort "$T/$name.times" | uniq -c | head)"
	sort -n -k2 "$T/$name.times" | awk -v n="$N" -v name="$name" '
		{ t[NR] = $2 * 1000; s += $2 * 1000 }
		END { printf "%s: %d sequential requests, one connection: median %.2f ms, p99 %.2f ms, max %.2f ms, mean %.2f ms\n",
		    name, n, t[int((n + 1) / 2)], t[int(n * 0.99 + 0.999)], t[n], s / n }'
}

# warm-up
seq_latency "$API" "$LAKE_BODY" warm >/dev/null
N0=$N; N=50; seq_latency "$MOCK_URL" "$MOCK_BODY" warm2 >/dev/null; N=$N0

echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
seq_latency "$API" "$LAKE_BODY" tokilake
seq_latency "$MOCK_URL" "$MOCK_BODY" direct
seq_latency "$API" "$LAKE_BODY" tokilake-again
seq_latency "$MOCK_URL" "$MOCK_BODY" direct-again
echo "   command: curl -s -K FILE (FILE: $N transfers of POST /v1/chat/completions, write-out %{time_total})"

if command -v wrk >/dev/null; then
	for who in tokilake direct; do
		if [ $who = tokilake ]; then url=$API body=$LAKE_BODY; else url=$MOCK_URL body=$MOCK_BODY; fi
		printf 'wrk.method = "POST"\nwrk.body = [[%s]]\nwrk.headers["Content-Type"] = "application/json"\n' \
		    "$body" >"$T/$who.lua"
		echo "== wrk -t 1 -c 1 -d ${SECS}s --latency -s POST.lua $url/v1/chat/completions   ($who)"
		wrk -t 1 -c 1 -d "${SECS}s" --latency -s "$T/$who.lua" "$url/v1/chat/completions" |
		    grep -E 'Latency|50%|90%|99%|Requests/sec|Non-2xx|errors'
		echo "== wrk -t 2 -c 32 -d ${SECS}s --latency -s POST.lua $url/v1/chat/completions   ($who)"
		wrk -t 2 -c 32 -d "${SECS}s" --latency -s "$T/$who.lua" "$url/v1/chat/completions" |
		    grep -E 'Latency|50%|99%|Requests/sec|Non-2xx|errors'
	done
elif command -v h2load >/dev/null; then
	for who in tokilake direct; do
		if [ $who = tokilake ]; then url=$API body=$LAKE_BODY; else url=$MOCK_URL body=$MOCK_BODY; fi
		printf '%s' "$body" >"$T/$who.json"
		echo "== h2load --h1 -c 32 -t 2 -D $SECS -d BODY.json -H 'Content-Type: application/json' $url/v1/chat/completions   ($who)"
		h2load --h1 -c 32 -t 2 -D "$SECS" -d "$T/$who.json" -H 'Content-Type: application/json' \
		    "$url/v1/chat/completions" | grep -E 'finished in|requests:|time for request'
	done
else
	echo "== neither wrk nor h2load is installed: requests/s at 32 connections not measured"
fi
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
path_pass
