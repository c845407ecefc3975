# tokiame agent: link, tasks, local API. agent.c and agent.h are listed
# in local.mk with the entry point.
tokiame_SOURCES += \
	src/tokiame/agent_priv.h \
	src/tokiame/api.c src/tokiame/api.h \
	src/tokiame/backend.c src/tokiame/backend.h \
	src/tokiame/backoff.c src/tokiame/backoff.h \
	src/tokiame/curl_socks.c src/tokiame/curl_socks.h \
	src/tokiame/discover.c src/tokiame/discover.h \
	src/tokiame/discover_parse.c src/tokiame/discover_parse.h \
	src/tokiame/hostport.c src/tokiame/hostport.h \
	src/tokiame/link.c src/tokiame/link.h \
	src/tokiame/links.c src/tokiame/links.h \
	src/tokiame/link_h2.c src/tokiame/link_h2.h \
	src/tokiame/link_tls.c src/tokiame/link_tls.h \
	src/tokiame/task.c src/tokiame/task_http.c src/tokiame/task.h \
	src/tokiame/url_cache.c src/tokiame/url_cache.h

# The real tokiame against a grpcio AgentLink server and a small HTTP
# backend (both python, the other side only).
TESTS += tests/integration/agent-link.sh
EXTRA_DIST += tests/integration/agent-link.sh \
	tests/integration/grpc_server.py \
	tests/integration/agent-backend.py

# Unit test of the agent's pure parts (back-off, URL joining, kinds, host:port).
check_PROGRAMS += tests/unit/test_agent_util
TESTS += tests/unit/test_agent_util
tests_unit_test_agent_util_SOURCES = tests/unit/test_agent_util.c \
	src/tokiame/backoff.c src/tokiame/backend.c src/tokiame/hostport.c \
	src/tokiame/url_cache.c
tests_unit_test_agent_util_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/tokiame
tests_unit_test_agent_util_LDADD = $(COMMON_LIBS) $(CURL_LIBS)
