# tests: integration tests (real processes on loopback ports) and the
# scripts that drive the whole suite. Unit tests add themselves to TESTS
# from their own fragments. Test scripts end in .sh and need bash, not
# $(SHELL): that is /bin/sh, dash on Debian.
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = bash

TESTS += \
	tests/integration/t-healthz.sh \
	tests/integration/t-worker-respawn.sh \
	tests/integration/t-agentd-respawn.sh \
	tests/integration/t-reload.sh \
	tests/integration/t-sigterm-drain.sh \
	tests/integration/t-master-kill.sh \
	tests/integration/t-log-reopen.sh \
	tests/integration/t-config-error.sh \
	tests/integration/t-crash-loop.sh

EXTRA_DIST += \
	tests/integration/lib.sh \
	tests/integration/t-healthz.sh \
	tests/integration/t-worker-respawn.sh \
	tests/integration/t-agentd-respawn.sh \
	tests/integration/t-reload.sh \
	tests/integration/t-sigterm-drain.sh \
	tests/integration/t-master-kill.sh \
	tests/integration/t-log-reopen.sh \
	tests/integration/t-config-error.sh \
	tests/integration/t-crash-loop.sh \
	tests/run.sh tests/deps.txt tests/deps.sh \
	quickstart.sh .ci/run

# the unit tests' shared CHECK macro
EXTRA_DIST += tests/unit/check.h
