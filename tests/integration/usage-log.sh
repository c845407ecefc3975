#!/bin/bash
# usage-log.sh: standalone usage accounting end to end. Each request a
# worker relays (tokilake -> agentd -> tokiame -> the mock) ends up as one
# JSON line of the master's usage log (usage.log_file), through USAGE
# (worker -> agentd) and USAGE_BATCH (agentd -> master), with the mock's
# own token counts; `tokilakectl usage` sums the file; SIGUSR1 reopens it.
#
# Checks:
#   - a plain answer, a stream whose client did not ask for usage, a
#     stream whose client asked: one line each, tokens = what the mock
#     reported (or, for the stream not asked, counted as the mock counts);
#   - an answer without usage: "usage":"unknown", null tokens; a backend
#     503: status 503, counted as an error;
#   - 30 more requests from 3 clients at once: one line per request, none
#     lost or doubled (request ids);
#   - tokilakectl usage --json: requests, errors, prompt and completion
#     tokens, unknown equal what was sent; --by model, --namespace filter;
#   - after mv + SIGUSR1 the next lines go to a new file;
#   - a reload to a file that cannot be opened: requests are served, the
#     failure is logged once; a reload back: "written again (3 records
#     were lost)";
#   - SIGTERM right after three requests: their lines are written.
. "$(dirname "$0")/path-lib.sh"
CTL=${TOKILAKECTL:-$top_builddir/tokilakectl}
[ -x "$CTL" ] || skip "no tokilakectl at $CTL"
path_setup
path_up
ULOG=$T/usage.log

# uline ID: the usage line of request ID (the last one).
uline() { grep -h "\"request_id\":\"$1\"" "$ULOG" 2>/dev/null | tail -n 1; }
has_line() { [ -n "$(uline "$1")" ]; }
# ufield ID EXPR: a python expression on request ID's line (u).
ufield() { "$PY" -c 'import json,sys; u=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$(uline "$1")" "$2"; }
# line_is ID PROMPT COMPLETION STREAM: known counts, status 200, ok.
line_is()
{
	wait_until 15 has_line "$1" || fail "$1: no line in the usage log ($(wc -l <"$ULOG" 2>/dev/null) lines)"
	local got
	got=$(ufield "$1" '" ".join(str(x) for x in (u["namespace"], u["model"], u["status"], u["end"], u["usage"], u["prompt_tokens"], u["completion_tokens"], u["stream"], u["key"] == "", u["ttfb_ms"] is not None, u["duration_ms"] >= 0))')
	check [ "$got" = "lab qwen3:0.6b 200 ok known $2 $3 $4 True True True" ] "$1: line $got (want $2 prompt, $3 completion tokens, stream $4)"
}
stream()
{
	local id=$1 out=$2 body=$3
	shift 3
	curl -s -N --max-time 20 -o "$out" -D "$out.head" -H "X-Request-Id: $id" \
	    -H 'Content-Type: application/json' "$@" --data-binary "$body" "$API/v1/chat/completions" ||
	    fail "$id: curl failed"
}
hd() { tr -d '\r' <"$1" | sed -n "s/^$2: *//Ip" | head -n 1; }
P_SUM=0 C_SUM=0

# ---- a plain chat answer
req POST /v1/chat/completions -H 'X-Request-Id: ul-plain' -H 'Content-Type: application/json' \
    --data-binary '{"model":"lab:qwen3:0.6b","messages":[{"role":"user","content":"hello"}]}'
check [ "$CODE" = 200 ] "plain chat 200"
p=$(jbody 'j["usage"]["prompt_tokens"]') c=$(jbody 'j["usage"]["completion_tokens"]')
line_is ul-plain "$p" "$c" False
P_SUM=$((P_SUM + p)) C_SUM=$((C_SUM + c))

# ---- a stream whose client did not ask: the worker asked, the mock counted
K=(-H 'x-mock-fixed-id: 7' -H 'x-mock-chunks: 5')
stream ul-s1 "$T/s1" '{"model":"lab:qwen3:0.6b","stream":true,"messages":[]}' "${K[@]}"
check grep -q '"tok4 "' "$T/s1" "ul-s1: the stream came whole"
len=$(hd "$T/s1.head" x-mock-body-len)
p=$(((len + 3) / 4))
line_is ul-s1 "$p" 5 True
P_SUM=$((P_SUM + p)) C_SUM=$((C_SUM + 5))

# ---- a stream whose client asked: the counts of the usage chunk it got
stream ul-s3 "$T/s3" '{"model":"lab:qwen3:0.6b","stream":true,"stream_options":{"include_usage":true},"messages":[]}' "${K[@]}"
grep '"choices":\[\]' "$T/s3" | sed 's/^data: //' >"$T/s3.usage"
p=$(jget "$T/s3.usage" 'j["usage"]["prompt_tokens"]') c=$(jget "$T/s3.usage" 'j["usage"]["completion_tokens"]')
line_is ul-s3 "$p" "$c" True
P_SUM=$((P_SUM + p)) C_SUM=$((C_SUM + c))

# ---- no usage in the answer; a backend's 503
req POST /v1/chat/completions -H 'X-Request-Id: ul-none' -H 'x-mock-usage: none' \
    -H 'Content-Type: application/json' --data-binary '{"model":"lab:qwen3:0.6b","messages":[]}'
check [ "$CODE" = 200 ] "no-usage chat 200"
wait_until 15 has_line ul-none || fail "ul-none: no line"
check [ "$(ufield ul-none 'u["usage"], u["prompt_tokens"], u["completion_tokens"]')" = "('unknown', None, None)" ] \
    "ul-none: unknown and null tokens: $(uline ul-none)"
req POST /v1/chat/completions -H 'X-Request-Id: ul-fail' -H 'x-mock-fail: status:503' \
    -H 'Content-Type: application/json' --data-binary '{"model":"lab:qwen3:0.6b","messages":[]}'
wait_until 15 has_line ul-fail || fail "ul-fail: no line"
check [ "$(ufield ul-fail 'u["status"]')" = 503 ] "ul-fail: status 503: $(uline ul-fail)"

# ---- 30 more, 3 clients at once; the answers' own counts add up
LOADERS=()
for c in 1 2 3; do
	(
		for i in $(seq 1 10); do
			curl -s --max-time 20 -H "X-Request-Id: ul-load-$c-$i" -H 'Content-Type: application/json' \
			    --data-binary "{\"model\":\"lab:qwen3:0.6b\",\"messages\":[{\"role\":\"user\",\"content\":\"$(printf 'x%.0s' $(seq 1 $((c * i))))\"}]}" \
			    "$API/v1/chat/completions" >"$T/load-$c-$i.json" || echo "curl failed $c $i"
		done
	) &
	LOADERS+=($!)
done
wait "${LOADERS[@]}"
for c in 1 2 3; do
	for i in $(seq 1 10); do
		p=$(jget "$T/load-$c-$i.json" 'j["usage"]["prompt_tokens"]') ||
		    fail "ul-load-$c-$i: no usage in the answer: $(head -c 300 "$T/load-$c-$i.json")"
		c2=$(jget "$T/load-$c-$i.json" 'j["usage"]["completion_tokens"]')
		P_SUM=$((P_SUM + p)) C_SUM=$((C_SUM + c2))
	done
done
SENT=35
lines_all() { [ "$(grep -c '"request_id":"ul-' "$ULOG")" -ge $SENT ]; }
wait_until 15 lines_all || fail "$(grep -c '"request_id":"ul-' "$ULOG") lines for $SENT requests"
sleep 1.5 # a batch later: nothing more may come
check [ "$(grep -o '"request_id":"ul-[^"]*"' "$ULOG" | sort | uniq -d | wc -l)" = 0 ] "no request twice in the log"
check [ "$(grep -o '"request_id":"ul-[^"]*"' "$ULOG" | sort -u | wc -l)" = $SENT ] "one line per request"
"$PY" -c 'import json,sys
for l in open(sys.argv[1]): json.loads(l)' "$ULOG" || fail "a line of the usage log is not JSON"

# ---- tokilakectl usage: the same totals
"$CTL" -c "$T/tokilake.yaml" usage --json >"$T/ctl.out" 2>"$T/ctl.err" || fail "tokilakectl usage: $(cat "$T/ctl.err")"
got=$(jget "$T/ctl.out" '" ".join(str(j[0][k]) for k in ("requests", "errors", "prompt_tokens", "completion_tokens", "unknown_usage"))')
check [ "$got" = "$SENT 1 $P_SUM $C_SUM 2" ] "tokilakectl usage: $got (want $SENT requests, 1 error, $P_SUM prompt, $C_SUM completion, 2 unknown)"
"$CTL" -c "$T/tokilake.yaml" usage --by model --json >"$T/ctl.out" 2>"$T/ctl.err" || fail "usage --by model: $(cat "$T/ctl.err")"
check [ "$(jget "$T/ctl.out" 'j[0]["model"], j[0]["requests"], len(j)')" = "('lab:qwen3:0.6b', $SENT, 1)" ] "usage --by model: $(cat "$T/ctl.out")"
"$CTL" -c "$T/tokilake.yaml" usage --namespace other --json >"$T/ctl.out" 2>"$T/ctl.err" || fail "usage --namespace: $(cat "$T/ctl.err")"
check [ "$(jget "$T/ctl.out" 'j[0]["requests"]')" = 0 ] "usage --namespace other: nothing"
"$CTL" -c "$T/tokilake.yaml" usage --until 2000-01-01 --json >"$T/ctl.out" 2>"$T/ctl.err" || fail "usage --until: $(cat "$T/ctl.err")"
check [ "$(jget "$T/ctl.out" 'j[0]["requests"]')" = 0 ] "usage --until 2000-01-01: nothing"
"$CTL" -c "$T/tokilake.yaml" usage --since 1h >"$T/ctl.out" 2>"$T/ctl.err" || fail "usage (text): $(cat "$T/ctl.err")"
check grep -q "^REQUESTS  *ERRORS  *PROMPT_TOKENS" "$T/ctl.out" "usage prints a table: $(cat "$T/ctl.out")"
"$CTL" -c "$T/tokilake.yaml" usage --by week >/dev/null 2>"$T/ctl.err"
check [ $? = 2 ] "usage --by week: exit 2 ($(cat "$T/ctl.err"))"

# ---- rotation: mv, SIGUSR1, the next line in a new file
mv "$ULOG" "$ULOG.1"
kill -USR1 "$MASTER"
wait_until 5 grep -q 'SIGUSR1: log reopened' "$T/tokilake.log" || fail "no SIGUSR1 in the log"
req POST /v1/chat/completions -H 'X-Request-Id: ul-rotated' -H 'Content-Type: application/json' \
    --data-binary '{"model":"lab:qwen3:0.6b","messages":[]}'
wait_until 15 has_line ul-rotated || fail "after SIGUSR1 the line did not reach a new $ULOG"
check [ "$(grep -c ul-rotated "$ULOG.1")" = 0 ] "nothing more in the rotated file"
! grep -q 'usage log .*cannot' "$T/tokilake.log" || fail "a usage log failure was logged"

# ---- a log file that cannot be opened: said once, counted; a reload that
# names a good one again: written again, with the count of lost records
: >"$T/not-a-dir"
sed -i "s|^usage: .*|usage: { log_file: \"$T/not-a-dir/usage.log\" }|" "$T/tokilake.yaml"
kill -HUP "$MASTER"
wait_until 15 grep -q 'reload: generation 2 serves' "$T/tokilake.log" || fail "the reload did not happen"
for i in 1 2 3; do
	req POST /v1/chat/completions -H "X-Request-Id: ul-lost-$i" -H 'Content-Type: application/json' \
	    --data-binary '{"model":"lab:qwen3:0.6b","messages":[]}'
	check [ "$CODE" = 200 ] "ul-lost-$i: served while the usage log cannot be opened"
done
lost_said() { grep -q "usage log $T/not-a-dir/usage.log: cannot open: Not a directory" "$T/tokilake.log"; }
wait_until 15 lost_said || fail "the failing usage log was not logged"
sleep 1.5
check [ "$(grep -c 'usage log .*: cannot open' "$T/tokilake.log")" = 1 ] "the failure is said once"
sed -i "s|^usage: .*|usage: { log_file: \"$ULOG\" }|" "$T/tokilake.yaml"
kill -HUP "$MASTER"
wait_until 15 grep -q 'reload: generation 3 serves' "$T/tokilake.log" || fail "the second reload did not happen"
req POST /v1/chat/completions -H 'X-Request-Id: ul-back' -H 'Content-Type: application/json' \
    --data-binary '{"model":"lab:qwen3:0.6b","messages":[]}'
wait_until 15 has_line ul-back || fail "ul-back: no line after the reload"
check grep -q "usage log $ULOG: written again (3 records were lost)" "$T/tokilake.log" \
    "written again, 3 records lost: $(grep -h 'usage log' "$T/tokilake.log" | tail -n 1)"

# ---- the node stops right after its last requests: their lines are there
for i in 1 2 3; do
	req POST /v1/chat/completions -H "X-Request-Id: ul-last-$i" -H 'Content-Type: application/json' \
	    --data-binary '{"model":"lab:qwen3:0.6b","messages":[]}'
done
stop_master
for i in 1 2 3; do
	has_line "ul-last-$i" || fail "ul-last-$i: not in the usage log after a graceful stop"
done
log "ok: the last requests before SIGTERM are in the usage log"

path_pass "usage records reach the usage log with the mock's counts; tokilakectl usage sums them"
