# Issue 14, end-user API keys (K1): the key table and patterns
# (src/common/apikey.c), their unit test and fuzz target, and the
# integration tests of keys in the worker.
libtlcommon_a_SOURCES += src/common/apikey.c src/common/apikey.h

check_PROGRAMS += tests/unit/test_apikey tests/fuzz/fuzz_apikey
TESTS += tests/unit/test_apikey tests/fuzz/fuzz_apikey
tests_unit_test_apikey_SOURCES = tests/unit/test_apikey.c
tests_unit_test_apikey_LDADD = $(COMMON_LIBS)
tests_fuzz_fuzz_apikey_SOURCES = tests/fuzz/fuzz_apikey.c $(FUZZ_MAIN)
tests_fuzz_fuzz_apikey_LDADD = $(COMMON_LIBS)
