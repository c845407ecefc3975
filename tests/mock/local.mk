# tests/mock: tl-mock-openai, the mock OpenAI backend used by tests, the
# quick start and benchmarks (see tests/mock/mock.h). Built by plain
# `make` (not installed) so the quick start finds it.
noinst_PROGRAMS += tests/mock/tl-mock-openai
tests_mock_tl_mock_openai_SOURCES = \
	tests/mock/mock.h tests/mock/mreq.h tests/mock/fnv.h \
	tests/mock/main.c \
	tests/mock/listen.c \
	tests/mock/server.c \
	tests/mock/state.c tests/mock/state.h \
	tests/mock/route.c \
	tests/mock/admin.c \
	tests/mock/knobs.c \
	tests/mock/reply.c \
	tests/mock/watch.c tests/mock/watch.h \
	tests/mock/jsonw.c tests/mock/jsonw.h \
	tests/mock/chat.c \
	tests/mock/embed.c \
	tests/mock/audio.c \
	tests/mock/echo.c \
	tests/mock/load.c
tests_mock_tl_mock_openai_LDADD = libtlcommon.a $(H2O_LIBS) $(YAJL_LIBS) $(OPENSSL_LIBS) -lpthread

TESTS += tests/mock/t-mock.sh
EXTRA_DIST += tests/mock/t-mock.sh tests/mock/mock-lib.sh tests/mock/README.md
