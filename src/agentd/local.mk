# agentd: agent links, registry, router (see src/agentd/agentd.h)
tokilake_SOURCES += \
	src/agentd/agentd.c src/agentd/agentd.h \
	src/agentd/signals.c \
	src/agentd/master_link.c \
	src/agentd/workers.c \
	src/agentd/requests.c \
	src/agentd/hold.c src/agentd/hold.h \
	src/agentd/req_store.c src/agentd/req_store.h \
	src/agentd/usage_batch.c src/agentd/usage_batch.h \
	src/agentd/model_pages.c src/agentd/model_pages.h \
	src/agentd/registry.c src/agentd/registry.h \
	src/agentd/route.c src/agentd/route.h src/agentd/route_policy.c \
	src/agentd/route_state.c src/agentd/route_state.h \
	src/agentd/breaker.c src/agentd/breaker.h \
	src/agentd/agent_listener.c \
	src/agentd/ipc_conn.c src/agentd/ipc_conn.h

check_PROGRAMS += tests/unit/test_registry
TESTS += tests/unit/test_registry
tests_unit_test_registry_SOURCES = tests/unit/test_registry.c \
	src/agentd/registry.c src/agentd/registry.h
tests_unit_test_registry_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/agentd
tests_unit_test_registry_LDADD = libtlcommon.a

check_PROGRAMS += tests/unit/test_route
TESTS += tests/unit/test_route
tests_unit_test_route_SOURCES = tests/unit/test_route.c \
	src/agentd/route_policy.c src/agentd/route.h \
	src/agentd/breaker.c src/agentd/breaker.h \
	src/agentd/registry.c src/agentd/registry.h
tests_unit_test_route_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/agentd
tests_unit_test_route_LDADD = libtlcommon.a

# the pick's cost, run under callgrind (bench/README.md, "Choosing a replica")
noinst_PROGRAMS += bench/route_bench
bench_route_bench_SOURCES = bench/route_bench.c \
	src/agentd/route_policy.c src/agentd/route.h \
	src/agentd/breaker.c src/agentd/breaker.h \
	src/agentd/registry.c src/agentd/registry.h
bench_route_bench_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/agentd
bench_route_bench_LDADD = libtlcommon.a

check_PROGRAMS += tests/unit/test_model_pages
TESTS += tests/unit/test_model_pages
tests_unit_test_model_pages_SOURCES = tests/unit/test_model_pages.c \
	src/agentd/model_pages.c src/agentd/model_pages.h \
	src/agentd/registry.c src/agentd/registry.h
tests_unit_test_model_pages_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/agentd
tests_unit_test_model_pages_LDADD = libtlcommon.a
