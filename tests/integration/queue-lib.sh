# queue-lib.sh: what the queue-*.sh tests share (sourced, bash): the
# path-lib fixture with two API keys (greedy, polite; KEY_greedy,
# KEY_polite) and the admission queue's keys.
#
# Knobs (before path_up): QUEUE_TIMEOUT, QUEUE_MAX (http.queue_timeout,
# http.queue_max; unset = the defaults), TM_CONCURRENCY (path-lib: the
# agent's capacity).
#
#   bg NAME KEY SERVICE_MS [CURL ARGS...] a chat completion in the
#                                        background whose backend answers
#                                        after SERVICE_MS:
#                                        $T/NAME.{code,body,head,ms}; BG pids
#   done_file NAME                       bg NAME has ended
#   offered N                            agentd offered N tasks so far
#   waiting N                            a request found N waiting (itself too)
. "$(dirname "${BASH_SOURCE[0]}")/path-lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/keys-lib.sh"

newkey greedy
newkey polite
LINK_KEY=$KEY_greedy

keys_yaml()
{
	cat <<EOF2
keys:
  greedy: { hash: "$HASH_greedy" }
  polite: { hash: "$HASH_polite" }
EOF2
}

eval "keys_$(declare -f path_write_config)"
path_write_config()
{
	keys_path_write_config "$@"
	[ -z "${QUEUE_TIMEOUT:-}" ] ||
	    sed -i "s/^  stream_idle_timeout: .*/&\n  queue_timeout: $QUEUE_TIMEOUT/" "$1"
	[ -z "${QUEUE_MAX:-}" ] ||
	    sed -i "s/^  stream_idle_timeout: .*/&\n  queue_max: $QUEUE_MAX/" "$1"
}

bg()
{
	local name=$1 key=$2 ms=$3
	shift 3
	(
		t0=${EPOCHREALTIME/[.,]/}
		curl -s -o "$T/$name.body" -D "$T/$name.head" -w '%{http_code}' --max-time 60 \
		    -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
		    -H "x-mock-fail: slow-first-byte:$ms" "$@" \
		    -d '{"model":"lab:qwen3:0.6b","messages":[{"role":"user","content":"hi"}]}' \
		    "$API/v1/chat/completions" >"$T/$name.code" 2>/dev/null
		echo $(( (${EPOCHREALTIME/[.,]/} - t0) / 1000 )) >"$T/$name.ms"
	) &
	BG+=($!)
}
offered() { [ "$(grep -c 'offered to agent' "$T/tokilake.log")" -ge "$1" ]; }
waiting() { grep -q "waits for lab:qwen3:0.6b, $1 waiting" "$T/tokilake.log"; }
done_file() { [ -s "$T/$1.ms" ]; }
BG=()
