# issue 13, papercuts a new user meets: tokiame started before its
# backend, an agent of a disabled namespace, tokilakectl's exit codes and
# JSON.
TESTS += \
	tests/integration/link-discover-late.sh \
	tests/integration/fwd-ns-disabled.sh \
	tests/integration/ctl-papercuts.sh

EXTRA_DIST += \
	tests/integration/link-discover-late.sh \
	tests/integration/fwd-ns-disabled.sh \
	tests/integration/ctl-papercuts.sh
