# Issue 14, usage accounting after the worker: USAGE (worker -> agentd),
# USAGE_BATCH (agentd -> master), the standalone usage log, the
# PostgreSQL rollups (usage_rollups, kept through an outage) and
# `tokilakectl usage`.
TESTS += tests/integration/usage-log.sh tests/integration/pg-usage.sh
EXTRA_DIST += tests/integration/usage-log.sh tests/integration/pg-usage.sh
