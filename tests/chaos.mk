# routing and chaos tests (issue 12): a replica that stops answering
# (route-hung-replica.sh; route-fwd-hung-replica.sh: the same behind a
# forwarding node, PostgreSQL), model ids an agent is told were refused
# (route-models-refused.sh) and a steady load while processes are killed
# and stopped (chaos-load.sh). Helper: chaos_load.py, the bounded load
# client that classifies every answer (ok, error, cut, hang). A request
# that arrives while agentd restarts waits and succeeds (t-agentd-gap.sh).
TESTS += \
	tests/integration/route-hung-replica.sh \
	tests/integration/route-fwd-hung-replica.sh \
	tests/integration/route-models-refused.sh \
	tests/integration/chaos-load.sh \
	tests/integration/t-agentd-gap.sh

EXTRA_DIST += \
	tests/integration/route-hung-replica.sh \
	tests/integration/route-fwd-hung-replica.sh \
	tests/integration/route-models-refused.sh \
	tests/integration/chaos-load.sh \
	tests/integration/chaos_load.py \
	tests/integration/t-agentd-gap.sh
