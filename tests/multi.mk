# Issue 15, slice C: tokiame linked to several nodes at once, graceful
# drain (multi-lib.sh: standalone nodes; the PostgreSQL one uses fwd-lib.sh).
TESTS += \
	tests/unit/tokiame-servers.sh \
	tests/integration/multi-node-kill.sh \
	tests/integration/multi-drain.sh \
	tests/integration/multi-pg-agents.sh
EXTRA_DIST += \
	tests/unit/tokiame-servers.sh \
	tests/integration/multi-lib.sh \
	tests/integration/multi-node-kill.sh \
	tests/integration/multi-drain.sh \
	tests/integration/multi-pg-agents.sh
