# request path tests (issue 4): client -> worker -> agentd -> tokiame ->
# the mock backend and back, with real processes on loopback. Helpers:
# path-lib.sh (the "linked and ready" fixture), path_slow_reader.py (a
# client that reads slowly or not at all), path_rec_backend.py (a backend
# that records every request header). path-latency.sh is a measurement
# (latency and requests/s, with and without tokilake), run by hand, not a
# test.
TESTS += \
	tests/integration/path-api.sh \
	tests/integration/path-errors.sh \
	tests/integration/path-stream-timing.sh \
	tests/integration/path-cancel.sh \
	tests/integration/path-backpressure.sh \
	tests/integration/path-concurrency.sh \
	tests/integration/path-faults.sh

EXTRA_DIST += \
	tests/integration/path-api.sh \
	tests/integration/path-errors.sh \
	tests/integration/path-stream-timing.sh \
	tests/integration/path-cancel.sh \
	tests/integration/path-backpressure.sh \
	tests/integration/path-concurrency.sh \
	tests/integration/path-faults.sh \
	tests/integration/path-latency.sh \
	tests/integration/path-lib.sh \
	tests/integration/path_slow_reader.py \
	tests/integration/path_rec_backend.py
