# Issue 15, slice A: tokiame reads its backends' own load (load_probe.c,
# load_parse.c) and reports it per model in its heartbeats.
tokiame_SOURCES += \
	src/tokiame/load_parse.c src/tokiame/load_parse.h \
	src/tokiame/load_probe.c src/tokiame/load_probe.h

check_PROGRAMS += tests/unit/test_load_parse
TESTS += tests/unit/test_load_parse
tests_unit_test_load_parse_SOURCES = tests/unit/test_load_parse.c \
	src/tokiame/load_parse.c src/tokiame/load_parse.h
tests_unit_test_load_parse_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/tokiame
tests_unit_test_load_parse_LDADD = $(COMMON_LIBS)

# the parsers under the fuzz driver (tests/fuzz/local.mk's FUZZ_MAIN)
check_PROGRAMS += tests/fuzz/fuzz_load
TESTS += tests/fuzz/fuzz_load
tests_fuzz_fuzz_load_SOURCES = tests/fuzz/fuzz_load.c $(FUZZ_MAIN) \
	src/tokiame/load_parse.c src/tokiame/load_parse.h
tests_fuzz_fuzz_load_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/tokiame
tests_fuzz_fuzz_load_LDADD = $(COMMON_LIBS)
