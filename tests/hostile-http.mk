# hostile HTTP tests (issue 12): raw-socket clients (hostile_http.py)
# against a real tokilake with a linked tokiame and the mock backend.
TESTS += \
	tests/integration/hostile-http-framing.sh \
	tests/integration/hostile-http-chunks.sh \
	tests/integration/hostile-http-conns.sh \
	tests/integration/hostile-http-creds.sh \
	tests/integration/hostile-http-h2.sh

EXTRA_DIST += \
	tests/integration/hostile-http-framing.sh \
	tests/integration/hostile-http-chunks.sh \
	tests/integration/hostile-http-conns.sh \
	tests/integration/hostile-http-creds.sh \
	tests/integration/hostile-http-h2.sh \
	tests/integration/hostile-lib.sh \
	tests/integration/hostile_http.py \
	tests/integration/hostile_offer_agent.py
