# healthz_hammer.py PORT SECONDS: GET /healthz on a new connection each
# time (so every worker is asked, a freshly respawned one too) for
# SECONDS; prints "<n> <statuses seen, sorted>", e.g. "1843 503" or
# "1843 200,503". Connection errors (a worker dying) are not statuses.
import socket, sys, time
port, secs = int(sys.argv[1]), float(sys.argv[2])
seen, n, end = set(), 0, time.monotonic() + secs
while time.monotonic() < end:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        head = s.recv(64)
        s.close()
    except OSError:
        continue
    if head.startswith(b"HTTP/1.1 "):
        seen.add(head[9:12].decode())
        n += 1
print(n, ",".join(sorted(seen)))
