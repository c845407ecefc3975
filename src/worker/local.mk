# worker: the HTTP API processes (h2o event loop), see src/worker/worker.h.
tokilake_SOURCES += \
	src/worker/worker.c src/worker/worker.h \
	src/worker/signals.c \
	src/worker/http_conf.c \
	src/worker/listeners.c \
	src/worker/conns.c \
	src/worker/ipc_sock.c src/worker/ipc_sock.h \
	src/worker/master_link.c src/worker/master_link.h \
	src/worker/agentd_link.c src/worker/agentd_link.h \
	src/worker/api.h \
	src/worker/router.c \
	src/worker/framing.c src/worker/framing.h \
	src/worker/read_guard.c src/worker/read_guard.h \
	src/worker/error_filter.c \
	src/worker/access_log.c \
	src/worker/api_active.c \
	src/worker/api_health.c \
	src/worker/api_models.c \
	src/worker/api_proxy.c \
	src/worker/client_watch.c src/worker/client_watch.h \
	src/worker/request_json.c src/worker/request_json.h \
	src/worker/request_multipart.c \
	src/worker/request_rewrite.c src/worker/request_rewrite.h \
	src/worker/usage_scan.c src/worker/usage_scan.h \
	src/worker/usage_relay.c src/worker/usage_relay.h \
	src/worker/usage_record.c src/worker/usage_record.h \
	src/worker/request_id.c src/worker/request_id.h \
	src/worker/oai_error.c src/worker/oai_error.h \
	src/worker/json_out.c src/worker/json_out.h

# The read guard's scan against arbitrary request streams (see the top of
# fuzz_read_guard.c for the libFuzzer build); make check runs its own driver.
check_PROGRAMS += tests/fuzz/fuzz_read_guard
TESTS += tests/fuzz/fuzz_read_guard
tests_fuzz_fuzz_read_guard_SOURCES = tests/fuzz/fuzz_read_guard.c src/worker/framing.c
tests_fuzz_fuzz_read_guard_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/worker
tests_fuzz_fuzz_read_guard_LDADD = $(COMMON_LIBS) $(H2O_LIBS) $(OPENSSL_LIBS)
