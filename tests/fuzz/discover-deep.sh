#!/bin/bash
# discover-deep.sh: the real tokiame against a backend whose /v1/models
# answer hides deep nesting behind a comment full of ']' (yajl's tree
# parser allows comments). Found by fuzz_discover: tokiame counted the
# brackets inside the comment, let 1.3 million nested arrays through to
# yajl and died of a stack overflow (SIGSEGV). Now the list is refused,
# logged, and tokiame lives on.
. "$top_srcdir/tests/integration/lib.sh"

TOKIAME=${TOKIAME:-$top_builddir/tokiame}
PY=/usr/bin/python3
[ -x "$TOKIAME" ] || skip "no tokiame binary at $TOKIAME"

tl_tempdir
log "temp dir $T"

# the backend: GET /v1/models answers the hostile list, and says so in a file
"$PY" - "$T" >"$T/backend.err" 2>&1 <<'PYEOF' &
import http.server, os, sys
T = sys.argv[1]
N = 1300000  # under tokiame's 4 MiB bound
BODY = ("/*" + "]" * N + "*/{\"data\":" + "[" * N + "]" * N + "}").encode()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)
        open(os.path.join(T, "served"), "a").write(self.path + "\n")
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(os.path.join(T, "backend.port.tmp"), "w").write(str(s.server_address[1]))
os.rename(os.path.join(T, "backend.port.tmp"), os.path.join(T, "backend.port"))
s.serve_forever()
PYEOF
TL_PIDS+=($!)
wait_until 10 test -s "$T/backend.port" || fail "the backend did not start"

# nothing listens on the server port: discovery runs before any link
cat >"$T/tokiame.yaml" <<YAML
server: 127.0.0.1:$(freeport)
namespace: fuzz
token: tlk_discover_deep_test
api_addr: 127.0.0.1:$(freeport)
tls:
  plaintext: true
backends:
  - url: http://127.0.0.1:$(cat "$T/backend.port")/v1
    discover: true
YAML
"$TOKIAME" -c "$T/tokiame.yaml" >"$T/tokiame.log" 2>&1 &
TM=$!
TL_PIDS+=($TM)

discovered() { grep -q "model discovery fails" "$T/tokiame.log" || ! kill -0 $TM 2>/dev/null; }
wait_until 60 discovered || fail "tokiame never read the model list"
kill -0 $TM 2>/dev/null || fail "tokiame died reading the model list ($(tail -n 1 "$T/tokiame.log"))"
grep -q "nested too deeply" "$T/tokiame.log" || fail "the refusal does not say why"
grep -q "/v1/models" "$T/served" || fail "the backend was not asked"
kill -TERM $TM
wait $TM
log "tokiame refused the list and lived: $(grep -m1 'model discovery fails' "$T/tokiame.log")"
pass
