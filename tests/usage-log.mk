# Issue 14, usage accounting after the worker: USAGE (worker -> agentd),
# USAGE_BATCH (agentd -> master), the standalone usage log, the
# PostgreSQL rollups (usage_rollups, kept through an outage) and
# `tokilakectl usage`.
TESTS += tests/integration/usage-log.sh tests/integration/pg-usage.sh
EXTRA_DIST += tests/integration/usage-log.sh tests/integration/pg-usage.sh

# the rollups of src/master/pg_usage.c with the connection stubbed
check_PROGRAMS += tests/unit/test_pg_usage
TESTS += tests/unit/test_pg_usage
tests_unit_test_pg_usage_SOURCES = tests/unit/test_pg_usage.c src/master/pg_usage.c \
	src/worker/json_out.c
tests_unit_test_pg_usage_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/master
tests_unit_test_pg_usage_LDADD = libtlcommon.a

# the usage log's lines byte for byte (src/master/usage_log.c formats them
# by hand: golden lines from the snprintf writer it replaced)
check_PROGRAMS += tests/unit/test_usage_log
TESTS += tests/unit/test_usage_log
tests_unit_test_usage_log_SOURCES = tests/unit/test_usage_log.c src/master/usage_log.c \
	src/worker/json_out.c
tests_unit_test_usage_log_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/master
tests_unit_test_usage_log_LDADD = libtlcommon.a
