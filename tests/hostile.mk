# Issue 12, hostile-input tests of the listeners (helper "A"): strangers
# on the agent listener and on the node listener (silent, half-open and
# slow handshakes, garbage, oversized frames, header lists and messages,
# floods) while a real tokiame answers chat completions.
TESTS += \
	tests/integration/hostile-agent-listener.sh \
	tests/integration/hostile-node-listener.sh
EXTRA_DIST += \
	tests/integration/hostile-node-listener.sh \
	tests/integration/hostile-link-lib.sh \
	tests/integration/hostile_conns.py \
	tests/integration/hostile-agent-listener.sh

# The same on agentd's outgoing forward links: a peer node that never
# finishes its handshake. A PostgreSQL test (fwd-lib.sh, pg-lib.sh): it
# runs, skips or fails exactly like the other forwarding tests.
TESTS += \
	tests/integration/hostile-fwd-peer.sh
EXTRA_DIST += \
	tests/integration/hostile-fwd-peer.sh
