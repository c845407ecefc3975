# Issue 14, usage: the tokens of each answer counted from the bytes the
# worker relays (src/worker/usage_*.c), the stream usage asked for on a
# client's behalf and stripped again, and the record of each request.
check_PROGRAMS += tests/unit/test_usage_scan tests/fuzz/fuzz_usage_scan
TESTS += tests/unit/test_usage_scan tests/fuzz/fuzz_usage_scan
USAGE_SCAN_SOURCES = src/worker/usage_scan.c src/worker/usage_scan.h \
	src/worker/usage_relay.c src/worker/usage_relay.h
tests_unit_test_usage_scan_SOURCES = tests/unit/test_usage_scan.c $(USAGE_SCAN_SOURCES) \
	src/worker/request_json.c src/worker/request_rewrite.c
tests_unit_test_usage_scan_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/worker
tests_unit_test_usage_scan_LDADD = $(COMMON_LIBS) $(H2O_LIBS) $(OPENSSL_LIBS)

# the scanner and the stream filter on any bytes, split anywhere
tests_fuzz_fuzz_usage_scan_SOURCES = tests/fuzz/fuzz_usage_scan.c $(FUZZ_MAIN) $(USAGE_SCAN_SOURCES)
tests_fuzz_fuzz_usage_scan_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/worker
tests_fuzz_fuzz_usage_scan_LDADD = $(COMMON_LIBS)


TESTS += tests/integration/usage-count.sh
EXTRA_DIST += tests/integration/usage-count.sh
