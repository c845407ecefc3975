#!/usr/bin/python3
"""pg_relay: a TCP relay between a node and PostgreSQL that a test can
stall. Usage: pg_relay.py PORTFILE TARGET_PORT. Listens on an ephemeral
127.0.0.1 port (written to PORTFILE) and copies bytes both ways to
127.0.0.1:TARGET_PORT. Stall it with SIGSTOP and resume with SIGCONT: the
connections stay open, bytes wait in the kernel's buffers meanwhile."""
import selectors
import socket
import sys

portfile, target = sys.argv[1], int(sys.argv[2])
sel = selectors.DefaultSelector()
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0))
ls.listen(16)
sel.register(ls, selectors.EVENT_READ, None)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % ls.getsockname()[1])
import os
os.rename(portfile + ".tmp", portfile)


def close_pair(a, b):
    for s in (a, b):
        try:
            sel.unregister(s)
        except (KeyError, ValueError):
            pass
        s.close()


while True:
    for key, _ in sel.select():
        if key.data is None:
            c, _ = ls.accept()
            u = socket.create_connection(("127.0.0.1", target))
            sel.register(c, selectors.EVENT_READ, u)
            sel.register(u, selectors.EVENT_READ, c)
            continue
        src, dst = key.fileobj, key.data
        try:
            data = src.recv(65536)
        except OSError:
            data = b""
        if not data:
            close_pair(src, dst)
            continue
        try:
            dst.sendall(data)
        except OSError:
            close_pair(src, dst)
