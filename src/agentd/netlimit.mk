# Network-wide key limits (issue 14): agentd's end of the exchange
# (src/agentd/netlimit.h); the master's is src/master/pg_keyload.c.
tokilake_SOURCES += src/agentd/netlimit.c src/agentd/netlimit.h

# agentd's end of the network-wide limits (netlimit.c), the master stubbed
check_PROGRAMS += tests/unit/test_netlimit
TESTS += tests/unit/test_netlimit
tests_unit_test_netlimit_SOURCES = tests/unit/test_netlimit.c \
	src/agentd/netlimit.c src/agentd/netlimit.h src/agentd/limiter.c src/agentd/limiter.h
tests_unit_test_netlimit_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/agentd -I$(top_srcdir)/tests/unit
tests_unit_test_netlimit_LDADD = $(COMMON_LIBS) $(H2O_LIBS) $(OPENSSL_LIBS)
