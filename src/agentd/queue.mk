# agentd's admission queue (issue 15): a request waits while every
# replica of its model is at capacity, fair between API keys.
tokilake_SOURCES += \
	src/agentd/queue.c src/agentd/queue.h \
	src/agentd/queue_fair.c src/agentd/queue_fair.h

check_PROGRAMS += tests/unit/test_queue_fair
TESTS += tests/unit/test_queue_fair
tests_unit_test_queue_fair_SOURCES = tests/unit/test_queue_fair.c \
	src/agentd/queue_fair.c src/agentd/queue_fair.h
tests_unit_test_queue_fair_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/agentd -I$(top_srcdir)/tests/unit
tests_unit_test_queue_fair_LDADD = libtlcommon.a
