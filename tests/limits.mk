# per-key limits (issue 14): agentd's admission, driven as a worker
# would (limits_ipc.py speaks IPC on agentd.sock), and through the HTTP
# API with keys (limits-http.sh).
TESTS += \
	tests/integration/limits-agentd.sh \
	tests/integration/limits-http.sh \
	tests/integration/limits-tokens.sh

EXTRA_DIST += \
	tests/integration/limits-agentd.sh \
	tests/integration/limits-http.sh \
	tests/integration/limits-tokens.sh \
	tests/integration/limits_ipc.py
