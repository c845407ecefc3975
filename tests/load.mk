# Issue 15, slice A: load that the agent sees reaches agentd.
TESTS += tests/integration/load-report.sh
EXTRA_DIST += tests/integration/load-report.sh
