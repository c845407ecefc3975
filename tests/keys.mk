# Issue 14, end-user API keys (K1): the key table and patterns
# (src/common/apikey.c), their unit test and fuzz target, and the
# integration tests of keys in the worker.
libtlcommon_a_SOURCES += src/common/apikey.c src/common/apikey.h
# a worker's cache of secrets that matched (no SHA-256 per request)
libtlcommon_a_SOURCES += src/common/apikey_cache.c src/common/apikey_cache.h
# the x-ratelimit-* values from agentd to the worker
libtlcommon_a_SOURCES += src/common/ratelimit.c src/common/ratelimit.h
# the worker's side: who may call, which models (src/worker/auth.h)
tokilake_SOURCES += src/worker/auth.c src/worker/auth.h

check_PROGRAMS += tests/unit/test_apikey tests/fuzz/fuzz_apikey
TESTS += tests/unit/test_apikey tests/fuzz/fuzz_apikey
tests_unit_test_apikey_SOURCES = tests/unit/test_apikey.c
tests_unit_test_apikey_LDADD = $(COMMON_LIBS)
tests_fuzz_fuzz_apikey_SOURCES = tests/fuzz/fuzz_apikey.c $(FUZZ_MAIN)
tests_fuzz_fuzz_apikey_LDADD = $(COMMON_LIBS)

# the worker with keys, through tokilake, tokiame and the mock (curl)
TESTS += tests/integration/keys-auth.sh tests/integration/keys-start.sh \
	tests/integration/keys-sdk.sh
EXTRA_DIST += tests/integration/keys-auth.sh tests/integration/keys-start.sh \
	tests/integration/keys-sdk.sh tests/integration/keys_sdk.js tests/integration/keys-lib.sh
# keys across two nodes on a throwaway PostgreSQL (fwd-lib.sh)
TESTS += tests/integration/keys-fwd.sh
EXTRA_DIST += tests/integration/keys-fwd.sh

# keys-sdk.sh installs the openai npm client here once (see its header)
clean-local: keys-clean-npm
keys-clean-npm:
	rm -rf tests/npm
.PHONY: keys-clean-npm
