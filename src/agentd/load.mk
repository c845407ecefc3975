# Issue 15, slice A: agentd's table of the load agents report per model.
tokilake_SOURCES += src/agentd/agent_load.c src/agentd/agent_load.h

check_PROGRAMS += tests/unit/test_agent_load
TESTS += tests/unit/test_agent_load
tests_unit_test_agent_load_SOURCES = tests/unit/test_agent_load.c \
	src/agentd/agent_load.c src/agentd/agent_load.h
tests_unit_test_agent_load_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/agentd
tests_unit_test_agent_load_LDADD = $(COMMON_LIBS)
