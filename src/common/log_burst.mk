# log_burst: a bound on the log lines strangers can cause (issue 12).
libtlcommon_a_SOURCES += src/common/log_burst.c src/common/log_burst.h
check_PROGRAMS += tests/unit/test_log_burst
TESTS += tests/unit/test_log_burst
tests_unit_test_log_burst_SOURCES = tests/unit/test_log_burst.c tests/unit/check.h
tests_unit_test_log_burst_LDADD = libtlcommon.a
