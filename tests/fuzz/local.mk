# Fuzz targets (tests/fuzz/README.md). In `make check` each one replays its
# seed corpus, tests/fuzz/corpus/<name>, and a short deterministic mutation
# loop (replay_main.c); tests/fuzz/run-fuzzers.sh builds them with
# libFuzzer for long runs. fuzz_ipc keeps its own driver (src/common/ipc.mk).
FUZZ_TARGETS = \
	tests/fuzz/fuzz_grpc \
	tests/fuzz/fuzz_pb \
	tests/fuzz/fuzz_task_up \
	tests/fuzz/fuzz_request_json \
	tests/fuzz/fuzz_multipart \
	tests/fuzz/fuzz_config \
	tests/fuzz/fuzz_discover \
	tests/fuzz/fuzz_token

check_PROGRAMS += $(FUZZ_TARGETS)
TESTS += $(FUZZ_TARGETS)
FUZZ_MAIN = tests/fuzz/replay_main.c tests/fuzz/fuzz.h
FUZZ_WORKER = src/worker/request_json.c src/worker/request_multipart.c \
	src/worker/request_rewrite.c
FUZZ_WORKER_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/worker

tests_fuzz_fuzz_grpc_SOURCES = tests/fuzz/fuzz_grpc.c $(FUZZ_MAIN)
tests_fuzz_fuzz_grpc_LDADD = $(COMMON_LIBS)
tests_fuzz_fuzz_pb_SOURCES = tests/fuzz/fuzz_pb.c $(FUZZ_MAIN)
tests_fuzz_fuzz_pb_LDADD = $(COMMON_LIBS)
tests_fuzz_fuzz_task_up_SOURCES = tests/fuzz/fuzz_task_up.c $(FUZZ_MAIN)
tests_fuzz_fuzz_task_up_LDADD = $(COMMON_LIBS)
tests_fuzz_fuzz_request_json_SOURCES = tests/fuzz/fuzz_request_json.c $(FUZZ_MAIN) $(FUZZ_WORKER)
tests_fuzz_fuzz_request_json_CPPFLAGS = $(FUZZ_WORKER_CPPFLAGS)
tests_fuzz_fuzz_request_json_LDADD = $(COMMON_LIBS) $(H2O_LIBS)
tests_fuzz_fuzz_multipart_SOURCES = tests/fuzz/fuzz_multipart.c $(FUZZ_MAIN) $(FUZZ_WORKER)
tests_fuzz_fuzz_multipart_CPPFLAGS = $(FUZZ_WORKER_CPPFLAGS)
tests_fuzz_fuzz_multipart_LDADD = $(COMMON_LIBS) $(H2O_LIBS)
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c $(FUZZ_MAIN) \
	src/tokiame/tm_config.c src/tokiame/tm_config.h
tests_fuzz_fuzz_config_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/tokiame
tests_fuzz_fuzz_config_LDADD = $(COMMON_LIBS)
tests_fuzz_fuzz_discover_SOURCES = tests/fuzz/fuzz_discover.c $(FUZZ_MAIN) \
	src/tokiame/discover_parse.c src/tokiame/discover_parse.h
tests_fuzz_fuzz_discover_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/tokiame
tests_fuzz_fuzz_discover_LDADD = $(COMMON_LIBS)
tests_fuzz_fuzz_token_SOURCES = tests/fuzz/fuzz_token.c $(FUZZ_MAIN)
tests_fuzz_fuzz_token_LDADD = $(COMMON_LIBS)

# the crash fuzz_discover found, against the real tokiame
TESTS += tests/fuzz/discover-deep.sh

EXTRA_DIST += tests/fuzz/discover-deep.sh tests/fuzz/corpus tests/fuzz/README.md tests/fuzz/run-fuzzers.sh \
	tests/fuzz/make-seeds.py
