# IPC codec, its tests and the free-port helper the integration tests use.
libtlcommon_a_SOURCES += src/common/ipc.c src/common/ipc.h

check_PROGRAMS += tests/unit/test_ipc tests/fuzz/fuzz_ipc tests/tools/tl-freeport
TESTS += tests/unit/test_ipc tests/fuzz/fuzz_ipc

tests_unit_test_ipc_SOURCES = tests/unit/test_ipc.c
tests_unit_test_ipc_LDADD = libtlcommon.a

# Plain build of the fuzz target: a seeded random and mutating driver.
# See the top of fuzz_ipc.c for the libFuzzer build.
tests_fuzz_fuzz_ipc_SOURCES = tests/fuzz/fuzz_ipc.c
tests_fuzz_fuzz_ipc_LDADD = libtlcommon.a

tests_tools_tl_freeport_SOURCES = tests/tools/tl-freeport.c
