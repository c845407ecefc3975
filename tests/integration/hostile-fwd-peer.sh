#!/bin/bash
# hostile-fwd-peer.sh: a peer node that never finishes its handshake
# (issue 12, defect 1's class on agentd's outgoing forward links). Two
# nodes over TLS (node.tls) on one throwaway PostgreSQL, node.handshake_timeout
# 2s; tokiame is linked to node b, but b publishes an internal_url where a
# dead peer listens (hostile_conns.py --mode blackhole):
#
#   1. a peer that accepts TCP and never answers the ClientHello;
#   2. a peer that completes TLS (ALPN h2) and then never sends SETTINGS.
#
# A request to node a for b's agent must get a 503 (node_unavailable:
# the request never reached b) within the handshake timeout (bound 4.5 s;
# on the main of issue 12 case 1 took CONNECT_TIMEOUT 5 s and case 2 the
# PING timeout, 10 s, then a 502), a says why in its log, requests to b
# itself answer 200 meanwhile, and no process of node a was respawned.
. "$(dirname "$0")/fwd-lib.sh"
. "$(dirname "$0")/hostile-link-lib.sh"

FWD_TLS=1
fwd_setup
path_mkcert
BH1=$(freeport)
BH2=$(freeport)
hostile bh-tcp --addr "127.0.0.1:$BH1" --mode blackhole --hold 300
hostile bh-tls --addr "127.0.0.1:$BH2" --mode blackhole --tls --cert "$T/agents.crt" \
    --key "$T/agents.key" --hold 300
HOSTILE_PIDS=() # the black holes run for the whole test

# every node gets the short handshake timeout; b publishes B_URL
eval "orig_$(declare -f fwd_write_config)"
fwd_write_config()
{
	orig_fwd_write_config "$@"
	echo "  handshake_timeout: 2s" >>"$T/$1.yaml"
	if [ "$1" = b ] && [ -n "${B_URL:-}" ]; then
		sed -i "s|^  internal_url: .*|  internal_url: \"$B_URL\"|" "$T/b.yaml"
	fi
}

node_pids() { { echo "${NODE_PID[a]}"; pgrep -P "${NODE_PID[a]}"; } | sort -n | tr '\n' ' '; }
b_chat() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$(fwd_api b)/v1/chat/completions" \
    --data-binary '{"model":"lab:qwen3:0.6b","messages":[]}'; }

# one_peer WHAT LOGLINE: a request to a for b's agent, timed by curl,
# while requests to b itself must keep answering 200
one_peer()
{
	local what=$1 line=$2 code secs ms before cpid n=0
	before=$(node_pids)
	curl -s -o "$T/body" -w '%{http_code} %{time_total}' --max-time 30 \
	    "$(fwd_api a)/v1/chat/completions" \
	    --data-binary '{"model":"lab:qwen3:0.6b","messages":[]}' >"$T/answer" &
	cpid=$!
	while kill -0 "$cpid" 2>/dev/null; do
		[ "$(b_chat)" = 200 ] || fail "$what: node b's own chat did not answer 200"
		n=$((n + 1))
		sleep 0.2
	done
	wait "$cpid"
	read -r code secs <"$T/answer"
	ms=$(awk -v s="$secs" 'BEGIN { printf "%d", s * 1000 }')
	log "$what: a answered $code in $ms ms ($n requests to b answered 200 meanwhile): $(head -c 200 "$T/body")"
	check [ "$code" = 503 ] "$what: 503 from node a"
	grep -q '"code":"node_unavailable"' "$T/body" || fail "$what: not node_unavailable: $(cat "$T/body")"
	check [ "$ms" -lt 4500 ] "$what: answered within 4.5 s ($ms ms)"
	grep -Eq "$line" "$T/node-a.log" || fail "$what: node a's log does not say: $line"
	log "node a says: $(grep -Eh "$line" "$T/node-a.log" | tail -n 1 | sed 's/^.*agentd //')"
	[ "$(node_pids)" = "$before" ] || fail "$what: a process of node a was respawned ($before -> $(node_pids))"
	! grep -Eq 'killed by signal|Assertion .* failed' "$T"/node-*.log ||
	    fail "$what: a process crashed: $(grep -Eh 'killed by signal|Assertion' "$T"/node-*.log | head -n 3)"
}

# ---- 1. TCP accepted, TLS never answered -------------------------------------
B_URL="https://127.0.0.1:$BH1"
fwd_up
one_peer "peer silent after TCP" "no TLS handshake within 2000 ms of connecting \\(node.handshake_timeout\\)"

# ---- 2. TLS done, no SETTINGS -------------------------------------------------
tm_stop tm
fwd_node_stop b
wait_until 15 eval '! fwd_linked a lab:qwen3:0.6b' || fail "b's agent still listed by a after b stopped"
B_URL="https://127.0.0.1:$BH2"
fwd_node_start b
AGENT_PORT=${NODE_AGENT[b]}
tm_write tm
tm_start tm
wait_until 15 fwd_linked a "lab:qwen3:0.6b" || fail "b's agent not listed by a again"
one_peer "peer silent after TLS" "no HTTP/2 SETTINGS from the peer within 2000 ms of connecting \\(node.handshake_timeout\\)"

fwd_pass
