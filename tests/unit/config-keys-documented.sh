#!/bin/sh
# config-keys-documented: every key that tokilake.yaml and tokiame.yaml
# accept (the parser's own tables, listed by tl_config_keys() and
# tm_config_keys()) appears in the sample config in etc/ and has an
# ".It Ic key" entry under its block in the man page. A key added to a
# table without documentation makes this fail.
top_builddir=${top_builddir:-.}
exec "$top_builddir/tests/unit/test_config" --docs
