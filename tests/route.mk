# choosing a replica (issue 15): load-aware pick (route-load-share.sh),
# retry before the first byte and the circuit breaker (route-retry.sh),
# the router's view in `tokilakectl agents`, PostgreSQL (route-pg-state.sh);
# the load a backend reports steers the pick (route-backend-load.sh).
# Helper: route_load.py, N requests C at a time, answers counted.
TESTS += \
	tests/integration/route-load-share.sh \
	tests/integration/route-retry.sh \
	tests/integration/route-pg-state.sh \
	tests/integration/route-backend-load.sh

EXTRA_DIST += \
	tests/integration/route-load-share.sh \
	tests/integration/route-retry.sh \
	tests/integration/route-pg-state.sh \
	tests/integration/route-backend-load.sh \
	tests/integration/route_load.py
