#!/usr/bin/python3
"""limits_ipc.py: agentd's per-key admission, driven as a worker would.

Connects to agentd.sock as a worker (HELLO), sends REQ_START frames that
carry a key name and its limits (what the worker sets once it has
authenticated the caller) for namespace lab / model qwen3:0.6b, served by
the mock behind a real tokiame, and checks:

  rpm 5: five answers 200 with x-ratelimit-* (remaining 4..0), the sixth
    429 rate_limit_exceeded type requests with Retry-After; after
    Retry-After seconds the next one is served;
  max_in_flight 1 with a request that hangs at the backend: 429 with
    Retry-After 1 and no x-ratelimit headers (no rpm/tpm), then served
    once the first ends, by each way a request can end: CANCEL, an error
    answer (unknown namespace, 404), a normal end, and the worker's
    connection closing with the request in flight;
  the 404 of a key with rpm carries the headers too;
  requests another node forwarded (IPC_REQ_F_NO_FORWARD) and anonymous
    ones (no key name) are not limited and get no headers.

    limits_ipc.py AGENTD_SOCK
Exit 0 when every check passed, 1 otherwise (each failure printed).
"""
import socket
import struct
import sys
import time

HELLO, HELLO_ACK = 1, 2
REQ_START, REQ_BODY, RESP_HEAD, RESP_DATA, RESP_END, RESP_ERROR, CANCEL, WINDOW = \
    10, 11, 12, 13, 14, 15, 16, 17
F_NO_FORWARD = 0x02

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what, flush=True)
    return cond


def s(x):
    x = x.encode() if isinstance(x, str) else x
    return struct.pack(">I", len(x)) + x


def frame(t, payload):
    return struct.pack(">IHH", len(payload), t, 0) + payload


class Reader:
    def __init__(self, b):
        self.b, self.o = b, 0

    def u(self, fmt):
        v = struct.unpack_from(">" + fmt, self.b, self.o)[0]
        self.o += struct.calcsize(fmt)
        return v

    def str(self):
        n = self.u("I")
        v = self.b[self.o:self.o + n]
        self.o += n
        return v.decode("utf-8", "replace")

    def headers(self):
        return {self.str().lower(): self.str() for _ in range(self.u("I"))}

    def ratelimit(self):
        """The packed x-ratelimit values (src/common/ratelimit.h) as the
        headers the worker writes from them."""
        n = self.u("I")
        b = self.b[self.o:self.o + n]
        self.o += n
        if n == 0:
            return {}
        if n != 25:
            raise SystemExit("ratelimit of %d bytes" % n)
        have, *v = struct.unpack(">B6I", b)
        out = {}
        for bit, kind, (lim, rem, ms) in ((1, "requests", v[0:3]), (2, "tokens", v[3:6])):
            if have & bit:
                out["x-ratelimit-limit-" + kind] = str(lim)
                out["x-ratelimit-remaining-" + kind] = str(rem)
                out["x-ratelimit-reset-" + kind] = "%dms" % ms
        return out


class Worker:
    """One connection to agentd.sock, with the answers per request id."""

    def __init__(self, path, slot):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = b""
        self.answers = {}  # id -> {"status", "headers", "body", "end", "error"}
        self.next_id = slot * 1000000 + 1
        self.sock.sendall(frame(HELLO, struct.pack(">IBIIQ", 1, 1, slot, 4000 + slot, 1)))
        t, _ = self.read_frame(10)
        if t != HELLO_ACK:
            raise SystemExit("no HELLO_ACK from agentd (got type %s)" % t)

    def read_frame(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 8:
                n, t, _ = struct.unpack_from(">IHH", self.buf)
                if len(self.buf) >= 8 + n:
                    p = self.buf[8:8 + n]
                    self.buf = self.buf[8 + n:]
                    return t, p
            left = deadline - time.monotonic()
            if left <= 0:
                return None, None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return None, None
            if not data:
                raise SystemExit("agentd closed the worker connection")
            self.buf += data

    def pump(self, timeout):
        """Read one frame and file it; False when none came in time."""
        t, p = self.read_frame(timeout)
        if t is None:
            return False
        r = Reader(p)
        rid = r.u("Q")
        a = self.answers.setdefault(rid, {"status": None, "headers": {}, "body": b"",
                                          "end": False, "error": None})
        if t == RESP_HEAD:
            a["status"] = r.u("H")
            a["headers"] = r.headers()
            a["headers"].update(r.ratelimit())
        elif t == RESP_DATA:
            n = r.u("I")
            a["body"] += p[r.o:r.o + n]
            # the client took the bytes: credit them back
            self.sock.sendall(frame(WINDOW, struct.pack(">QI", rid, n)))
        elif t == RESP_END:
            a["end"] = True
        elif t == RESP_ERROR:
            a["status"] = r.u("H")
            a["error"] = {"type": r.str(), "code": r.str(), "message": r.str()}
            a["headers"] = r.headers()
            a["headers"].update(r.ratelimit())
            a["end"] = True
        return True

    def start(self, key, limits=(0, 0, 0, 0, 0), flags=0, ns="lab", hang=False):
        rid = self.next_id
        self.next_id += 1
        body = b'{"model":"qwen3:0.6b","messages":[{"role":"user","content":"hi"}]}'
        hdrs = [("content-type", "application/json")]
        if hang:
            hdrs.append(("x-mock-fail", "hang"))
        p = struct.pack(">Q", rid) + s("POST") + s("/v1/chat/completions") + s(ns) + \
            s("qwen3:0.6b") + s("lim-%d" % rid) + struct.pack(">I", len(hdrs)) + \
            b"".join(s(a) + s(b) for a, b in hdrs) + \
            struct.pack(">QIB", len(body), 0, flags) + s(key) + struct.pack(">IIIQQ", *limits)
        self.sock.sendall(frame(REQ_START, p) + frame(REQ_BODY, struct.pack(">QB", rid, 1) + s(body)))
        return rid

    def cancel(self, rid):
        self.sock.sendall(frame(CANCEL, struct.pack(">Q", rid)))

    def wait(self, rid, cond, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            a = self.answers.get(rid)
            if a is not None and cond(a):
                return a
            left = deadline - time.monotonic()
            if left <= 0:
                return self.answers.get(rid)
            self.pump(left)

    def done(self, rid, timeout=15):
        return self.wait(rid, lambda a: a["end"], timeout)

    def headed(self, rid, timeout=15):
        return self.wait(rid, lambda a: a["status"] is not None, timeout)


def desc(a):
    return repr(a and (a["status"], a["error"]))


def is_429(a, typ, code="rate_limit_exceeded"):
    return (a is not None and a["status"] == 429 and a["error"] is not None and
            a["error"]["type"] == typ and a["error"]["code"] == code)


def retry_after(a):
    try:
        return int(a["headers"].get("retry-after", ""))
    except ValueError:
        return None


def rate_headers(a):
    return {k: v for k, v in a["headers"].items() if k.startswith("x-ratelimit-")}


def main():
    path = sys.argv[1]
    w = Worker(path, 90)

    # --- rpm 5 (and tpm, for the six headers) ---
    rpm = (5, 1000000, 0, 0, 0)
    for i in range(5):
        a = w.done(w.start("rk", rpm))
        if check(a is not None and a["status"] == 200 and a["error"] is None,
                 "rpm: request %d answered 200 (got %r)" % (i + 1, a and (a["status"], a["error"]))):
            h = rate_headers(a)
            check(h.get("x-ratelimit-limit-requests") == "5" and
                  h.get("x-ratelimit-remaining-requests") == str(4 - i) and
                  h.get("x-ratelimit-limit-tokens") == "1000000" and
                  h.get("x-ratelimit-remaining-tokens") == "1000000" and
                  "x-ratelimit-reset-requests" in h and "x-ratelimit-reset-tokens" in h,
                  "rpm: request %d has the six x-ratelimit headers (got %r)" % (i + 1, h))
            check(b"choices" in a["body"], "rpm: request %d has the backend's body" % (i + 1))
    refused_at = time.monotonic()
    a = w.done(w.start("rk", rpm))
    check(is_429(a, "requests"), "rpm: the 6th is 429 rate_limit_exceeded/requests (got %r)" %
          desc(a))
    ra = retry_after(a) if a else None
    check(ra is not None and 1 <= ra <= 60, "rpm: Retry-After 1..60 (got %r)" % ra)
    if a is not None:
        check(rate_headers(a).get("x-ratelimit-remaining-requests") == "0",
              "rpm: the 429 says remaining 0 (got %r)" % rate_headers(a))
        check("Please try again in" in a["error"]["message"] and "rk" in a["error"]["message"],
              "rpm: the message names the key and the wait (%r)" % a["error"]["message"])

    # --- max_in_flight 1, each way a request ends ---
    mif = (0, 0, 1, 0, 0)
    first = w.start("fk", mif, hang=True)
    time.sleep(0.3)
    a = w.done(w.start("fk", mif))
    check(is_429(a, "requests"), "in flight: the 2nd is 429 (got %r)" % desc(a))
    if a is not None:
        check(retry_after(a) == 1, "in flight: Retry-After 1 (got %r)" % a["headers"])
        check(not rate_headers(a), "in flight: no x-ratelimit headers without rpm/tpm (%r)" % a["headers"])
    w.cancel(first)
    time.sleep(0.2)
    a = w.done(w.start("fk", mif))
    check(a is not None and a["status"] == 200 and a["error"] is None,
          "in flight: served after CANCEL of the first (got %r)" % desc(a))
    # ended by a normal end: again and again
    for i in range(3):
        a = w.done(w.start("fk", mif))
        check(a is not None and a["status"] == 200, "in flight: served after an end (%d)" % i)
    # ended by an error answer (unknown namespace)
    for i in range(3):
        a = w.done(w.start("fk", mif, ns="nope"))
        check(a is not None and a["status"] == 404 and not rate_headers(a),
              "in flight: unknown namespace is 404 (got %r)" % (a and a["status"]))
    a = w.done(w.start("fk", mif))
    check(a is not None and a["status"] == 200, "in flight: served after 404s")
    # ended by the worker's connection closing
    w2 = Worker(path, 91)
    w2.start("fk", mif, hang=True)
    time.sleep(0.3)
    a = w.done(w.start("fk", mif))
    check(is_429(a, "requests"), "in flight: another worker's hanging request counts (got %r)" %
          (a and a["status"]))
    w2.sock.close()
    ok = False
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not ok:
        a = w.done(w.start("fk", mif))
        ok = a is not None and a["status"] == 200
        if not ok:
            time.sleep(0.2)
    check(ok, "in flight: served once the worker holding one went away")

    # --- the 404 of a key with rpm carries the headers ---
    a = w.done(w.start("ek", (100, 0, 0, 0, 0), ns="nope"))
    check(a is not None and a["status"] == 404 and
          rate_headers(a).get("x-ratelimit-limit-requests") == "100" and
          rate_headers(a).get("x-ratelimit-remaining-requests") == "99" and
          "x-ratelimit-limit-tokens" not in rate_headers(a),
          "404 of a key with rpm: requests' headers only (got %r)" % (a and a["headers"]))

    # --- not limited: forwarded from another node, anonymous ---
    for i in range(3):
        a = w.done(w.start("nf", (1, 0, 1, 0, 0), flags=F_NO_FORWARD))
        check(a is not None and a["status"] == 200 and not rate_headers(a),
              "NO_FORWARD: not limited, no headers (%d, got %r)" % (i, a and a["status"]))
        a = w.done(w.start("", (1, 0, 1, 0, 0)))
        check(a is not None and a["status"] == 200 and not rate_headers(a),
              "anonymous: not limited (%d, got %r)" % (i, a and a["status"]))

    # --- Retry-After honoured ---
    if ra is not None:
        time.sleep(max(0.0, refused_at + ra - time.monotonic()) + 0.05)
        a = w.done(w.start("rk", rpm))
        check(a is not None and a["status"] == 200,
              "rpm: served after Retry-After %d s (got %r)" % (ra, a and (a["status"], a["error"])))

    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
