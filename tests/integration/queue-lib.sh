# queue-lib.sh: what the queue-*.sh tests share (sourced, bash): the
# path-lib fixture with two API keys (greedy, polite; KEY_greedy,
# KEY_polite) and the admission queue's keys.
#
# Knobs (before path_up): QUEUE_TIMEOUT, QUEUE_MAX (http.queue_timeout,
# http.queue_max; unset = the defaults), TM_CONCURRENCY (path-lib: the
# agent's capacity).
#
#   chat KEY SERVICE_MS [CURL ARGS...]   one chat completion whose backend
#                                        answers after SERVICE_MS (req: CODE,
#                                        BODY, HDRS)
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

chat()
{
	local key=$1 ms=$2
	shift 2
	req POST /v1/chat/completions -H "Authorization: Bearer $key" \
	    -H 'Content-Type: application/json' -H "x-mock-fail: slow-first-byte:$ms" \
	    -d '{"model":"lab:qwen3:0.6b","messages":[{"role":"user","content":"hi"}]}' "$@"
}
