# the admission queue (issue 15): fairness between keys under a
# saturated model, its bounds and timeout (429 with Retry-After), a
# cancelled waiting request, no replica linked (503), waiting requests
# of a worker that dies, a node's graceful stop (503 for the waiting).
# queue-lib.sh is the fixture, queue_load.py the greedy and polite
# clients.
TESTS += \
	tests/integration/queue-fair.sh \
	tests/integration/queue-bounds.sh \
	tests/integration/queue-worker-gone.sh \
	tests/integration/queue-node-drain.sh

EXTRA_DIST += \
	tests/integration/queue-fair.sh \
	tests/integration/queue-bounds.sh \
	tests/integration/queue-worker-gone.sh \
	tests/integration/queue-node-drain.sh \
	tests/integration/queue-lib.sh \
	tests/integration/queue_load.py
