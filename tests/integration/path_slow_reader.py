#!/usr/bin/python3
"""path_slow_reader.py: an HTTP/1.1 client that reads its answer slowly.

Sends one POST, then reads at most --chunk bytes every --interval seconds
for --seconds, and closes the socket (the client going away). Its receive
buffer is small (--rcvbuf) so that the kernel does not hide the slowness.
With --stall it never reads at all (a stalled client).

Prints one JSON line: {"status": N, "bytes": B, "toks": K, "toks_ok": bool}
where B counts every byte received (head included), K is how many
"tok<i> " tokens arrived and toks_ok says they came as tok0, tok1, ... in
order without a gap (answers without tokens: K = 0, toks_ok true).
"""

import argparse
import json
import re
import socket
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--path", required=True)
p.add_argument("--body", required=True)
p.add_argument("--header", action="append", default=[])
p.add_argument("--seconds", type=float, default=10)
p.add_argument("--chunk", type=int, default=1024)
p.add_argument("--interval", type=float, default=0.05)
p.add_argument("--rcvbuf", type=int, default=16384)
p.add_argument("--stall", action="store_true")
p.add_argument("--ready-file")
a = p.parse_args()

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
s.connect(("127.0.0.1", a.port))
body = a.body.encode()
head = "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" % a.path
for h in a.header:
    head += h + "\r\n"
head += "Content-Length: %d\r\n\r\n" % len(body)
s.sendall(head.encode() + body)
if a.ready_file:
    open(a.ready_file, "w").write("sent\n")

got = bytearray()
end = time.monotonic() + a.seconds
if a.stall:
    time.sleep(a.seconds)
else:
    s.settimeout(a.interval)
    while time.monotonic() < end:
        t0 = time.monotonic()
        try:
            b = s.recv(a.chunk)
        except socket.timeout:
            b = None
        if b == b"":
            break
        if b:
            got += b
        rest = a.interval - (time.monotonic() - t0)
        if rest > 0:
            time.sleep(rest)
s.close()

m = re.match(rb"HTTP/1\.1 (\d+)", bytes(got))
toks = [int(x) for x in re.findall(rb"tok(\d+) ", bytes(got))]
print(json.dumps({"status": int(m.group(1)) if m else 0, "bytes": len(got), "toks": len(toks),
                  "toks_ok": toks == list(range(len(toks)))}))
sys.stdout.flush()
