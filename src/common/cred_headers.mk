# The credential header list the worker and tokiame share, and its test.
libtlcommon_a_SOURCES += src/common/cred_headers.c src/common/cred_headers.h
check_PROGRAMS += tests/unit/test_cred_headers
TESTS += tests/unit/test_cred_headers
tests_unit_test_cred_headers_SOURCES = tests/unit/test_cred_headers.c
tests_unit_test_cred_headers_LDADD = libtlcommon.a
