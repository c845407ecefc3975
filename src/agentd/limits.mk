# agentd's per-key limits (issue 14): the limiter and its admission hook.
tokilake_SOURCES += \
	src/agentd/limiter.c src/agentd/limiter.h \
	src/agentd/admission.c src/agentd/admission.h

check_PROGRAMS += tests/unit/test_limiter
TESTS += tests/unit/test_limiter
tests_unit_test_limiter_SOURCES = tests/unit/test_limiter.c \
	src/agentd/limiter.c src/agentd/limiter.h
tests_unit_test_limiter_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/agentd -I$(top_srcdir)/tests/unit
tests_unit_test_limiter_LDADD = libtlcommon.a
