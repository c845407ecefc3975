#!/bin/bash
# limits-agentd.sh: agentd admits a key's requests under its limits
# (rpm, max_in_flight), answers 429 with Retry-After and OpenAI's
# x-ratelimit-* headers, and no way a request ends leaks an in-flight
# count (cancel, error, end, the worker going away). Driven by
# limits_ipc.py as a worker would (REQ_START with the key's name and
# limits) against real agentd, tokiame and mock processes; the HTTP side
# (the worker authenticating the key) is tested by limits-http.sh.
. "$(dirname "$0")/path-lib.sh"
path_setup
path_up

"$PY" "$HERE/limits_ipc.py" "$T/run/agentd.sock" >"$T/limits_ipc.out" 2>&1
rc=$?
sed 's/^/  /' "$T/limits_ipc.out"
[ "$rc" -eq 0 ] || fail "limits_ipc.py: $(grep -c '^FAIL' "$T/limits_ipc.out") check(s) failed"
grep -q 'IPC protocol error' "$T/tokilake.log" && fail "agentd saw an IPC protocol error"
path_pass "limits held, Retry-After honoured, no in-flight count leaked"
