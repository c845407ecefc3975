#!/usr/bin/python3
"""hostile_http.py: hostile HTTP/1 clients on raw sockets, for the
hostile-http-*.sh tests.

    hostile_http.py --port P [--body-timeout S] [--header-timeout S] CASE...

Each CASE connects to 127.0.0.1:P, sends its bytes (all at once, in
pieces, or slowly), then reads every answer until the server closes, and
checks what it got. A line per case on stdout: "ok CASE: ..." or
"FAIL CASE: ...", and the exit status is 1 when a case failed. The
checks, depending on the case:
  - the first answer has the expected status and an OpenAI-shaped JSON
    error body ({"error":{"message","type","param","code"}}), with the
    expected error code;
  - nothing else is answered (a pipelined second request, smuggled behind
    an ambiguous body, must NOT be served) and the server closes the
    connection (within a bound: a generous multiple of the timeout that
    applies, never a race);
  - or, for cases h2o answers itself before any hook of ours can run,
    only the status and the close.
`--tls` speaks HTTPS (ALPN http/1.1) instead. `--list` prints the case
names.
"""
import argparse
import json
import socket
import ssl
import sys
import time

MODEL = "lab:qwen3:0.6b"
CHAT = ('{"model":"%s","messages":[{"role":"user","content":"hi"}]}' % MODEL).encode()
# the smuggled request: if it is ever answered, there is a second response
SMUGGLED = b"GET /v1/models/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"


def head(method="POST", path="/v1/chat/completions", version="HTTP/1.1", fields=()):
    lines = ["%s %s %s" % (method, path, version), "Host: 127.0.0.1",
             "Content-Type: application/json"]
    lines += list(fields)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunked(body):
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


TLS = False  # --tls: every connection is HTTPS (HTTP/1.1 by ALPN), unverified


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        if TLS:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["http/1.1"])
            self.s = ctx.wrap_socket(self.s, server_hostname="localhost")
        self.buf = b""
        self.closed = False

    def send(self, data):
        try:
            self.s.sendall(data)
            return True
        except OSError:
            return False

    def read_until_closed(self, limit):
        """Read everything until EOF or limit seconds; True if closed."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            self.s.settimeout(max(0.05, end - time.monotonic()))
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                continue
            except OSError:  # reset: closed too
                self.closed = True
                return True
            if not d:
                self.closed = True
                return True
            self.buf += d
        return False

    def responses(self):
        """Split what was read into (status, headers, body) tuples."""
        out, b = [], self.buf
        while b:
            i = b.find(b"\r\n\r\n")
            if i < 0:
                out.append((None, {}, b))
                break
            lines = b[:i].decode("latin-1").split("\r\n")
            try:
                status = int(lines[0].split()[1])
            except (IndexError, ValueError):
                out.append((None, {}, b))
                break
            hdrs = {}
            for ln in lines[1:]:
                k, _, v = ln.partition(":")
                hdrs[k.strip().lower()] = v.strip()
            n = int(hdrs.get("content-length", "0") or 0)
            body = b[i + 4:i + 4 + n]
            out.append((status, hdrs, body))
            b = b[i + 4 + n:]
        return out

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def oai_code(hdrs, body):
    """error.code of an OpenAI-shaped error, or raise."""
    if "json" not in hdrs.get("content-type", ""):
        raise ValueError("not JSON: content-type %r" % hdrs.get("content-type"))
    j = json.loads(body)
    assert list(j.keys()) == ["error"], j
    e = j["error"]
    assert set(e.keys()) == {"message", "type", "param", "code"}, e
    assert isinstance(e["message"], str) and e["message"], e
    assert isinstance(e["type"], str) and e["type"], e
    return e["code"]


class Fail(Exception):
    pass


def expect_refusal(c, status, code, limit, one_answer=True, shaped=True):
    """One answer STATUS (error.code CODE, or any when None), then closed."""
    t0 = time.monotonic()
    closed = c.read_until_closed(limit)
    took = time.monotonic() - t0
    rs = c.responses()
    if not rs:
        raise Fail("no answer within %.0f s (closed: %s)" % (limit, closed))
    st, hdrs, body = rs[0]
    want = status if isinstance(status, tuple) else (status,)
    if st not in want:
        raise Fail("status %s, want %s: %r" % (st, want, c.buf[:300]))
    got = None
    if shaped:
        try:
            got = oai_code(hdrs, body)
        except Exception as e:  # noqa: BLE001
            raise Fail("%s but not an OpenAI-shaped error (%s): %r" % (st, e, body[:300]))
        if code is not None and got != code:
            raise Fail("%s with error code %s, want %s: %r" % (st, got, code, body[:300]))
    if one_answer and len(rs) > 1:
        raise Fail("%d answers: a second request was served on the connection: %r"
                   % (len(rs), c.buf[:600]))
    if not closed:
        raise Fail("%s answered but the connection stayed open %.0f s" % (st, limit))
    return "%s %s, closed after %.1f s" % (st, got if shaped else "(h2o's own)", took)


# ---- the cases: each returns a message or raises Fail -----------------

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def send_and_refuse(a, data, status=400, code="invalid_framing", limit=10, **kw):
    c = Conn(a.port)
    c.send(data)
    try:
        return expect_refusal(c, status, code, limit, **kw)
    finally:
        c.close()


# CL + TE: h2o reads chunked and keeps the connection: the bytes after the
# chunked end would be a second request.
@case
def cl_te(a):
    body = chunked(CHAT)
    return send_and_refuse(a, head(fields=["Content-Length: %d" % len(body),
                                           "Transfer-Encoding: chunked"]) + body + SMUGGLED)


@case
def te_cl(a):
    body = chunked(CHAT)
    return send_and_refuse(a, head(fields=["Transfer-Encoding: chunked",
                                           "Content-Length: %d" % len(body)]) + body + SMUGGLED)


# CL.TE the way a front proxy framing by Content-Length would be fooled:
# the body by length is "0\r\n\r\nGET ...", by chunks it ends after "0".
@case
def cl_te_smuggle(a):
    inner = b"0\r\n\r\n" + SMUGGLED
    return send_and_refuse(a, head(fields=["Content-Length: %d" % len(inner),
                                           "Transfer-Encoding: chunked"]) + inner)


# CL + TE with a chunked body that never ends (a front proxy framed it by
# length and is done): answered at once, not after a timeout.
@case
def cl_te_pending(a):
    return send_and_refuse(a, head(fields=["Content-Length: 10", "Transfer-Encoding: chunked"]) +
                           b"5\r\nhello", limit=a.quick)


@case
def cl_cl_differ(a):
    return send_and_refuse(a, head(fields=["Content-Length: %d" % len(CHAT),
                                           "Content-Length: %d" % (len(CHAT) + len(SMUGGLED))]) +
                           CHAT + SMUGGLED)


@case
def cl_cl_same(a):
    return send_and_refuse(a, head(fields=["Content-Length: %d" % len(CHAT)] * 2) + CHAT + SMUGGLED)


# two different lengths, the body by the second never arrives
@case
def cl_cl_pending(a):
    return send_and_refuse(a, head(fields=["Content-Length: %d" % (len(CHAT) + 50),
                                           "Content-Length: %d" % len(CHAT)]) + CHAT,
                           limit=a.quick)


@case
def cl_list(a):
    n = len(CHAT)
    return send_and_refuse(a, head(fields=["Content-Length: %d, %d" % (n, n)]) + CHAT + SMUGGLED,
                           code=None)


def te_case(values, code="invalid_framing"):
    def run(a):
        return send_and_refuse(a, head(fields=["Transfer-Encoding: " + v for v in values]) +
                               chunked(CHAT) + SMUGGLED, code=code)
    return run


for _name, _vals in {
    "te_gzip_chunked": ["gzip, chunked"],
    "te_chunked_gzip": ["chunked, gzip"],
    "te_identity": ["identity"],
    "te_chunked_twice": ["chunked", "chunked"],
    "te_chunked_list_twice": ["chunked, chunked"],
    "te_gzip_then_chunked": ["gzip", "chunked"],
    "te_chunked_semicolon": ["chunked;q=1"],
    "te_xchunked": ["xchunked"],
    "te_empty": [""],
    "te_trailing_blank": ["chunked  "],
}.items():
    CASES[_name] = te_case(_vals, code=None)


# obs-fold: "Transfer-Encoding: chunked" continued on the next line
@case
def te_obs_fold(a):
    return send_and_refuse(a, head(fields=["Transfer-Encoding: chunked", " gzip"]) +
                           chunked(CHAT) + SMUGGLED, code=None)


@case
def obs_fold_other(a):
    return send_and_refuse(a, head(fields=["X-Foo: a", "\tb", "Content-Length: %d" % len(CHAT)]) +
                           CHAT + SMUGGLED, code=None)


@case
def te_http10(a):
    return send_and_refuse(a, head(version="HTTP/1.0", fields=["Transfer-Encoding: chunked"]) +
                           chunked(CHAT) + SMUGGLED)


# space before the colon: h2o's parser would refuse the head (with its own
# plain-text 400); the read guard asks it first and answers in JSON
@case
def te_space_colon(a):
    return send_and_refuse(a, head(fields=["Transfer-Encoding : chunked"]) + chunked(CHAT) +
                           SMUGGLED, code="invalid_request_head")


# accepted spellings: one chunked body, case and blanks as RFC allows;
# the pipelined second request is legitimate here and must be answered
def te_ok(value):
    def run(a):
        c = Conn(a.port)
        try:
            c.send(head(fields=["Transfer-Encoding:" + value]) + chunked(CHAT) +
                   b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            c.read_until_closed(a.quick)
            rs = c.responses()
            sts = [r[0] for r in rs]
            if sts[:2] != [200, 200]:
                raise Fail("want 200 then 200 (pipelined), got %s: %r" % (sts, c.buf[:400]))
            return "200, pipelined 200"
        finally:
            c.close()
    return run


# pipelined, each framed by one Content-Length: all answered in order
@case
def cl_pipelined_ok(a):
    c = Conn(a.port)
    one = head(fields=["Content-Length: %d" % len(CHAT)]) + CHAT
    try:
        c.send(one + one + b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        c.read_until_closed(a.quick)
        sts = [r[0] for r in c.responses()]
        if sts != [200, 200, 200]:
            raise Fail("want 200 200 200, got %s: %r" % (sts, c.buf[:300]))
        return "200 200 200"
    finally:
        c.close()


# the ambiguous request second on a keep-alive connection, after a good
# one: the good one is answered, the bad one refused, the smuggled one not
@case
def cl_te_second(a):
    body = chunked(CHAT)
    c = Conn(a.port)
    try:
        c.send(head(fields=["Content-Length: %d" % len(CHAT)]) + CHAT +
               head(fields=["Content-Length: %d" % len(body), "Transfer-Encoding: chunked"]) +
               body + SMUGGLED)
        closed = c.read_until_closed(a.quick)
        rs = c.responses()
        sts = [r[0] for r in rs]
        if sts != [200, 400]:
            raise Fail("want 200 then 400 and nothing more, got %s: %r" % (sts, c.buf[:600]))
        code = oai_code(rs[1][1], rs[1][2])
        if code != "invalid_framing" or not closed:
            raise Fail("second answer %s, closed: %s" % (code, closed))
        return "200, then 400 invalid_framing, closed"
    finally:
        c.close()


CASES["te_ok_case"] = te_ok(" Chunked")
CASES["te_ok_blanks"] = te_ok("\t chunked")


# ---- chunk sizes ---------------------------------------------------------

def chunk_case(chunk_bytes, status, code=None, shaped=True):
    def run(a):
        return send_and_refuse(a, head(fields=["Transfer-Encoding: chunked"]) + chunk_bytes,
                               status=status, code=code, limit=a.quick, shaped=shaped)
    return run


CASES["chunk_nonhex"] = chunk_case(b"zz\r\nhello\r\n0\r\n\r\n", 400)
# 17 digits of a small size (h2o's own bound is 16)
CASES["chunk_overlong_hex"] = chunk_case(b"0" * 16 + b"5\r\nhello", 400)
CASES["chunk_bad_crlf"] = chunk_case(b"5\r\nhelloXX0\r\n\r\n", 400)
CASES["chunk_negative"] = chunk_case(b"-5\r\nhello\r\n0\r\n\r\n", 400)
# sizes past http.max_body_size, then nothing: 413 (or 408, body_timeout)
CASES["chunk_huge"] = chunk_case(b"ffffffffffff\r\nhello", (413, 408))
CASES["chunk_huge_ext"] = chunk_case(b"fffffff;" + b"x" * 1000, (413, 408))


# ---- chunk sizes answered AT ONCE (hostile-http-chunks.sh) -------------
# h2o 2.2.5 decodes chunks in place and notices a size past
# http.max_body_size only when that many bytes arrived: without the
# worker's read guard these wait for http.body_timeout (408). The test's
# body_timeout is far above AT_ONCE, so a pass cannot come from the 408.

AT_ONCE = 3.0  # seconds: "at once", generous on a loaded machine


def at_once(a, pieces, status, code):
    """Send pieces (a pause between them), then expect STATUS within AT_ONCE."""
    if a.body_timeout < 3 * AT_ONCE:
        raise Fail("needs --body-timeout well above %.0f s (got %.0f)" % (AT_ONCE, a.body_timeout))
    c = Conn(a.port)
    try:
        for i, p in enumerate(pieces):
            if i:
                time.sleep(0.3)
            c.send(p)
        return expect_refusal(c, status, code, AT_ONCE)
    finally:
        c.close()


CHUNKED_HEAD = head(fields=["Transfer-Encoding: chunked"])


def big_chunks(total, size=16384):
    """A chunked body of total bytes of JSON string content, in many chunks."""
    pre = b'{"model":"%s","messages":[{"role":"user","content":"' % MODEL.encode()
    post = b'"}]}'
    body = pre + b"x" * (total - len(pre) - len(post)) + post
    out = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
                   for i in range(0, len(body), size))
    return out + b"0\r\n\r\n"


# one size past the limit, a few bytes, then silence
CASES["chunk_size_over_limit_silent"] = lambda a: at_once(
    a, [CHUNKED_HEAD + b"ffffffff\r\nhello"], 413, "request_too_large")
# the size line still open (no CRLF yet) when the limit is passed
CASES["chunk_size_over_limit_open_line"] = lambda a: at_once(
    a, [CHUNKED_HEAD, b"10000000"], 413, "request_too_large")
# sizes that each fit but add up past the limit (http.max_body_size 8 MiB
# in hostile-http-chunks.sh): 5 MiB sent, then 4 MiB declared, silence
CASES["chunk_sizes_sum_over_limit"] = lambda a: at_once(
    a, [CHUNKED_HEAD + b"500000\r\n" + b"x" * 0x500000 + b"\r\n", b"400000\r\nabc"], 413,
    "request_too_large")
# a bad chunk line split across two writes
CASES["chunk_line_split_bad"] = lambda a: at_once(
    a, [CHUNKED_HEAD + b"1", b"0x\r\n" + b"y" * 16], 400, "invalid_chunked_encoding")
CASES["chunk_line_split_bare_lf"] = lambda a: at_once(
    a, [CHUNKED_HEAD + b"10;name=va", b"lue\n" + b"y" * 16], 400, "invalid_chunked_encoding")
CASES["chunk_line_too_long"] = lambda a: at_once(
    a, [CHUNKED_HEAD + b"10;" + b"e" * 600, b"e" * 600], 400, "invalid_chunked_encoding")
CASES["chunk_data_no_crlf"] = lambda a: at_once(
    a, [CHUNKED_HEAD + b"5\r\nhello", b"XX"], 400, "invalid_chunked_encoding")
# a head over http.max_header_size, still growing: 431 at once, not at the sweep
CASES["head_over_limit_at_once"] = lambda a: at_once(
    a, [b"POST /v1/chat/completions HTTP/1.1\r\nX-Big: " + b"a" * 70000], 431,
    "headers_too_large")


# pipelined behind a good chunked body, the bad one gets the 413 only after
# the good one's 200, and nothing behind it is served
@case
def chunk_pipelined_good_then_huge(a):
    c = Conn(a.port)
    try:
        c.send(CHUNKED_HEAD + chunked(CHAT) + CHUNKED_HEAD + b"fffffffff\r\nabc" + SMUGGLED)
        closed = c.read_until_closed(AT_ONCE * 3)
        rs = c.responses()
        sts = [r[0] for r in rs]
        if sts != [200, 413]:
            raise Fail("want 200 then 413 and nothing more, got %s: %r" % (sts, c.buf[:600]))
        if oai_code(rs[1][1], rs[1][2]) != "request_too_large" or not closed:
            raise Fail("second answer %r, closed: %s" % (rs[1][2][:200], closed))
        return "200, then 413 request_too_large, closed"
    finally:
        c.close()


# two good requests, then a bad chunk line, all in one write: 200, 200, 400
@case
def chunk_pipelined_two_good_then_bad(a):
    c = Conn(a.port)
    try:
        c.send(head(fields=["Content-Length: %d" % len(CHAT)]) + CHAT + CHUNKED_HEAD +
               chunked(CHAT) + CHUNKED_HEAD + b"5x\r\nhello\r\n0\r\n\r\n" + SMUGGLED)
        closed = c.read_until_closed(AT_ONCE * 3)
        rs = c.responses()
        sts = [r[0] for r in rs]
        if sts != [200, 200, 400] or not closed:
            raise Fail("want 200 200 400 then closed, got %s (closed: %s): %r"
                       % (sts, closed, c.buf[:600]))
        if oai_code(rs[2][1], rs[2][2]) != "invalid_chunked_encoding":
            raise Fail("third answer %r" % rs[2][2][:200])
        return "200, 200, then 400 invalid_chunked_encoding, closed"
    finally:
        c.close()


# a chunked body pipelined behind a good request, its start in the same
# write: h2o decodes that start in place when it comes back for it (not
# in a read); the rest, then sizes past the limit: 200, then 413 at once
@case
def chunk_pipelined_then_sum_over(a):
    c = Conn(a.port)
    try:
        c.send(head(fields=["Content-Length: %d" % len(CHAT)]) + CHAT + CHUNKED_HEAD +
               b"100000\r\n" + b"x" * 1000)
        time.sleep(0.5)
        c.send(b"x" * (0x100000 - 1000) + b"\r\n")
        time.sleep(0.3)
        c.send(b"f00000\r\nabc")
        closed = c.read_until_closed(AT_ONCE)
        rs = c.responses()
        sts = [r[0] for r in rs]
        if sts != [200, 413] or not closed:
            raise Fail("want 200 then 413 within %.0f s, closed, got %s (closed: %s): %r"
                       % (AT_ONCE, sts, closed, c.buf[:600]))
        return "200, then 413 %s, closed" % oai_code(rs[1][1], rs[1][2])
    finally:
        c.close()


# good chunked bodies (in pieces, with extensions and a trailer), each with
# requests pipelined behind it in the same write: all served
@case
def chunk_pipelined_good(a):
    c = Conn(a.port)
    body = CHAT
    parts = b"%x;ext=1\r\n%s\r\n%x\r\n%s\r\n0\r\nX-Trailer: t\r\n\r\n" % (
        10, body[:10], len(body) - 10, body[10:])
    try:
        c.send(CHUNKED_HEAD + parts[:7])
        time.sleep(0.2)
        c.send(parts[7:] + CHUNKED_HEAD + chunked(CHAT) +
               head(fields=["Content-Length: %d" % len(CHAT)]) + CHAT +
               b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        c.read_until_closed(a.quick)
        sts = [r[0] for r in c.responses()]
        if sts != [200, 200, 200, 200]:
            raise Fail("want 200 x4, got %s: %r" % (sts, c.buf[:400]))
        return "200 200 200 200"
    finally:
        c.close()


# Expect: 100-continue: h2o stops reading to write the 100 and reads the
# body afterwards (the guard picks up again there): a good body is served,
# a size past the limit refused at once
def chunk_after_continue(chunk_bytes, want):
    def run(a):
        c = Conn(a.port)
        try:
            c.send(head(fields=["Transfer-Encoding: chunked", "Expect: 100-continue"]))
            c.s.settimeout(AT_ONCE)
            got = c.s.recv(100)
            if not got.startswith(b"HTTP/1.1 100"):
                raise Fail("no 100 Continue: %r" % got)
            c.send(chunk_bytes)
            if want == 200:
                c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                c.read_until_closed(a.quick)
                sts = [r[0] for r in c.responses()]
                if sts != [200, 200]:
                    raise Fail("want 200 then 200 (pipelined), got %s: %r" % (sts, c.buf[:400]))
                return "100, 200, pipelined 200"
            return "100, then " + expect_refusal(c, want, "request_too_large", AT_ONCE)
        finally:
            c.close()
    return run


CASES["chunk_continue_good"] = chunk_after_continue(chunked(CHAT), 200)
CASES["chunk_continue_huge"] = chunk_after_continue(b"fffffffff\r\nabc", 413)


# a legitimate large upload: several MiB in many chunks, written in pieces
@case
def chunk_large_upload(a):
    c = Conn(a.port)
    data = CHUNKED_HEAD + big_chunks(6 * 1024 * 1024)
    try:
        for i in range(0, len(data), 100000):
            if not c.send(data[i:i + 100000]):
                raise Fail("the server closed during the upload: %r" % c.buf[:300])
        c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        c.read_until_closed(a.quick * 2)
        sts = [r[0] for r in c.responses()]
        if sts != [200, 200]:
            raise Fail("want 200 then 200 (pipelined), got %s: %r" % (sts, c.buf[:400]))
        return "6 MiB in %d chunks: 200, pipelined 200" % (len(data) // 16384)
    finally:
        c.close()


# Content-Length values h2o refuses itself (text turned into JSON)
CASES["cl_negative"] = lambda a: send_and_refuse(
    a, head(fields=["Content-Length: -1"]) + CHAT, code=None)
CASES["cl_plus"] = lambda a: send_and_refuse(
    a, head(fields=["Content-Length: +%d" % len(CHAT)]) + CHAT + SMUGGLED, code=None)
CASES["cl_hex"] = lambda a: send_and_refuse(
    a, head(fields=["Content-Length: 0x10"]) + CHAT, code=None)
CASES["cl_huge"] = lambda a: send_and_refuse(
    a, head(fields=["Content-Length: 99999999999999999999999"]) + CHAT, status=(400, 413),
    code=None)


# ---- heads -------------------------------------------------------------

def big_head(n):
    return head(method="GET", path="/v1/models", fields=["X-Big: " + "a" * n])


# a head over http.max_header_size (64KiB), whole: 431 JSON
@case
def head_over_limit(a):
    return send_and_refuse(a, big_head(100 * 1024) + SMUGGLED, status=431,
                           code="headers_too_large")


# the same, but the blank line never comes: 431 before header_timeout
@case
def head_over_limit_incomplete(a):
    data = big_head(70 * 1024)[:-4]
    return send_and_refuse(a, data, status=431, code="headers_too_large", limit=a.quick)


# past h2o's own cap (about 408KiB): our 431 before h2o's plain 400
@case
def head_over_h2o_cap(a):
    c = Conn(a.port)
    try:
        c.send(big_head(500 * 1024))
        return expect_refusal(c, 431, "headers_too_large", a.quick)
    finally:
        c.close()


# more header lines than h2o takes (100): 400, in JSON (not h2o's plain one)
@case
def head_many_fields(a):
    return send_and_refuse(a, head(method="GET", path="/v1/models",
                                   fields=["X-H%d: v" % i for i in range(150)]),
                           code="invalid_request_head")


# 90 fields of 700 bytes: under h2o's count, over our size
@case
def head_many_big_fields(a):
    return send_and_refuse(a, head(method="GET", path="/v1/models",
                                   fields=["X-H%d: %s" % (i, "v" * 700) for i in range(95)]),
                           status=431, code="headers_too_large")


@case
def nul_in_header(a):
    return send_and_refuse(a, b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
                           code="invalid_request_head")


@case
def nul_in_path(a):
    return send_and_refuse(a, b"GET /v1/mo\x00dels HTTP/1.1\r\nHost: x\r\n\r\n",
                           code="invalid_request_head")


@case
def bad_version(a):
    return send_and_refuse(a, b"GET /v1/models HTTP/9.9\r\nHost: x\r\n\r\n",
                           code="invalid_request_head")


# a bad request line whose head never completes: refused at once, in JSON
@case
def bad_line_head_open(a):
    c = Conn(a.port)
    try:
        c.send(b"GET /v1/mo\x01dels HTTP/1.1\r\nHost: x\r\n")
        return expect_refusal(c, 400, "invalid_request_head", a.quick)
    finally:
        c.close()


@case
def garbage_line(a):
    return send_and_refuse(a, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\xff" * 64 +
                           b"\r\n\r\n", code="invalid_request_head")


# methods and paths h2o parses: our router answers, in JSON, and the
# connection stays usable
def routed(raw, status, code):
    def run(a):
        c = Conn(a.port)
        try:
            c.send(raw + b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            c.read_until_closed(a.quick)
            rs = c.responses()
            if len(rs) < 2 or rs[0][0] != status or rs[1][0] != 200:
                raise Fail("want %d then 200, got %s: %r" % (status, [r[0] for r in rs],
                                                             c.buf[:300]))
            got = oai_code(rs[0][1], rs[0][2])
            if code is not None and got != code:
                raise Fail("error code %s, want %s" % (got, code))
            return "%d %s, then 200" % (status, got)
        finally:
            c.close()
    return run


CASES["method_unknown"] = routed(b"FOO /v1/models HTTP/1.1\r\nHost: x\r\n\r\n", 405,
                                 "method_not_allowed")
CASES["path_unknown"] = routed(b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 404,
                               "unknown_url")
CASES["path_absolute"] = routed(b"GET http://evil/v1/x HTTP/1.1\r\nHost: x\r\n\r\n", 404,
                                "unknown_url")
CASES["stream_not_bool"] = routed(
    head(fields=["Content-Length: %d" % len(b'{"model":"%s","stream":"yes"}' % MODEL.encode())]) +
    b'{"model":"%s","stream":"yes"}' % MODEL.encode(), 400, "invalid_type")
CASES["model_empty"] = routed(
    head(fields=["Content-Length: 12"]) + b'{"model":""}', 400, "missing_model")


# ---- slow and silent clients --------------------------------------------

# a body a byte a second: 408 at body_timeout, not held for the
# connection's whole request timeout
@case
def slow_body(a):
    c = Conn(a.port)
    bound = a.body_timeout * 3 + 5
    try:
        c.send(head(fields=["Content-Length: %d" % len(CHAT)]))
        t0 = time.monotonic()
        i = 0
        while time.monotonic() - t0 < bound:
            if i < len(CHAT) - 1:  # the body never completes
                if not c.send(CHAT[i:i + 1]):
                    break
                i += 1
            c.s.settimeout(1.0)
            try:
                d = c.s.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if d:
                c.buf += d
            c.read_until_closed(5)
            break
        took = time.monotonic() - t0
        msg = expect_refusal(c, 408, "request_timeout", 1)
        if took < a.body_timeout - 1:
            raise Fail("408 after %.1f s, before body_timeout" % took)
        return "%s; %d body bytes sent in %.1f s" % (msg, i, took)
    finally:
        c.close()


# slowloris: a head a byte a second is closed at header_timeout
@case
def slow_head(a):
    c = Conn(a.port)
    data = head(method="GET", path="/v1/models")
    t0 = time.monotonic()
    try:
        for i in range(len(data)):
            if not c.send(data[i:i + 1]):
                break
            c.s.settimeout(1.0)
            try:
                if c.s.recv(65536) == b"":
                    break
            except socket.timeout:
                pass
            except OSError:
                break
            if time.monotonic() - t0 > a.header_timeout * 3 + 5:
                raise Fail("still open %.0f s into a byte-a-second head" % (time.monotonic() - t0))
        took = time.monotonic() - t0
        if took < a.header_timeout - 1:
            raise Fail("closed after %.1f s, before header_timeout" % took)
        return "closed after %.1f s (header_timeout %s s)" % (took, a.header_timeout)
    finally:
        c.close()


# connections that never send a byte are closed at header_timeout
@case
def silent(a):
    cs = [Conn(a.port) for _ in range(50)]
    t0 = time.monotonic()
    try:
        for c in cs:
            c.read_until_closed(max(0.1, a.header_timeout * 3 + 5 - (time.monotonic() - t0)))
        open_ = sum(1 for c in cs if not c.closed)
        if open_:
            raise Fail("%d of 50 silent connections still open after %.0f s" %
                       (open_, time.monotonic() - t0))
        if any(c.buf for c in cs):
            raise Fail("a silent connection got bytes: %r" % [c.buf for c in cs if c.buf][0][:200])
        return "50 closed after %.1f s" % (time.monotonic() - t0)
    finally:
        for c in cs:
            c.close()


# half-open: the client's FIN after part of a head (closed promptly,
# nothing answered or an error) or after a whole request (answered, closed)
def half_open_case(data, status):
    def run(a):
        c = Conn(a.port)
        try:
            c.send(data)
            c.s.shutdown(socket.SHUT_WR)
            if not c.read_until_closed(a.quick):
                raise Fail("still open %.0f s after the client's FIN" % a.quick)
            rs = c.responses()
            if status is not None and (not rs or rs[0][0] != status):
                raise Fail("want %d, got %r" % (status, c.buf[:200]))
            return "closed (%d bytes answered)" % len(c.buf)
        finally:
            c.close()
    return run


CASES["half_open"] = half_open_case(
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Le", None)
CASES["half_open_request"] = half_open_case(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 200)


# a flood: 300 connections at once, each with half a request
@case
def flood(a):
    cs = []
    try:
        for _ in range(300):
            try:
                c = Conn(a.port)
            except OSError as e:
                raise Fail("connect %d failed: %s" % (len(cs), e))
            c.send(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            cs.append(c)
        # the server is still answering others meanwhile
        c = Conn(a.port)
        c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        c.read_until_closed(a.quick)
        rs = c.responses()
        c.close()
        if not rs or rs[0][0] != 200:
            raise Fail("/healthz during the flood: %r" % c.buf[:200])
        return "300 connections held, /healthz 200 meanwhile"
    finally:
        for c in cs:
            c.close()


# ---- HTTP/2 (prior knowledge on a plaintext listener; http.http2 on) -----
# A hand-rolled client: frames and HPACK literals (never indexed, no
# Huffman) are enough to send; of the answers only frame types, stream ids
# and the first HPACK byte of a response (":status" 200 is static index 8,
# 0x88) are read.

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def h2_frame(ftype, flags, stream, payload=b""):
    return (len(payload).to_bytes(3, "big") + bytes([ftype, flags]) +
            stream.to_bytes(4, "big") + payload)


def hpack_literal(name, value):
    assert len(name) < 127 and len(value) < 127
    return bytes([0, len(name)]) + name + bytes([len(value)]) + value


def h2_request(stream, body, clen, end_on_headers=False):
    hdrs = b"".join(hpack_literal(k, v) for k, v in [
        (b":method", b"POST"), (b":scheme", b"http"), (b":path", b"/v1/chat/completions"),
        (b":authority", b"127.0.0.1"), (b"content-type", b"application/json")] +
        ([(b"content-length", str(clen).encode())] if clen is not None else []))
    out = h2_frame(1, 0x4 | (0x1 if end_on_headers else 0), stream, hdrs)  # END_HEADERS
    if not end_on_headers:
        out += h2_frame(0, 0x1, stream, body)  # DATA, END_STREAM
    return out


def h2_exchange(a, frames, want_streams, limit, upgrade=None):
    """Send; collect {stream: "200"|"status?"|"rst N"} until every stream
    in want_streams has an outcome, or limit seconds. upgrade: an HTTP/1
    request upgrading to h2c, sent first (its answer is stream 1)."""
    c = Conn(a.port)
    got = {}
    try:
        buf = b""
        if upgrade is not None:
            c.send(upgrade)
            c.s.settimeout(limit)
            while b"\r\n\r\n" not in buf:
                d = c.s.recv(65536)
                if not d:
                    raise Fail("closed before the 101: %r" % buf[:300])
                buf += d
            i = buf.index(b"\r\n\r\n") + 4
            if not buf.startswith(b"HTTP/1.1 101"):
                raise Fail("no 101 to the h2c upgrade: %r" % buf[:300])
            buf = buf[i:]
        c.send(H2_PREFACE + h2_frame(4, 0, 0) + frames)
        end = time.monotonic() + limit
        while time.monotonic() < end and not all(w in got for w in want_streams):
            c.s.settimeout(max(0.05, end - time.monotonic()))
            try:
                d = c.s.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                d = b""
            if not d:
                got.setdefault(0, "closed")
                break
            buf += d
            while len(buf) >= 9:
                n = int.from_bytes(buf[:3], "big")
                if len(buf) < 9 + n:
                    break
                ftype, flags = buf[3], buf[4]
                sid = int.from_bytes(buf[5:9], "big") & 0x7fffffff
                pl = buf[9:9 + n]
                buf = buf[9 + n:]
                if ftype == 4 and not flags & 1:
                    c.send(h2_frame(4, 1, 0))  # SETTINGS ACK
                elif ftype == 1 and sid not in got:
                    got[sid] = "200" if pl[:1] == b"\x88" else "status(0x%s)" % pl[:1].hex()
                elif ftype == 3:
                    got[sid] = "rst %d" % int.from_bytes(pl[:4], "big")
                elif ftype == 7:
                    got[0] = "goaway %d" % int.from_bytes(pl[4:8], "big")
    finally:
        c.close()
    return got


# an h2c upgrade from HTTP/1 (the read guard lets go of the socket when
# h2o switches it to HTTP/2): the upgraded request is answered on stream 1,
# a request on stream 3 too
@case
def h2c_upgrade(a):
    up = (b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
          b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n")
    got = h2_exchange(a, h2_request(3, CHAT, len(CHAT)), (1, 3), a.quick, upgrade=up)
    if got.get(1) != "200" or got.get(3) != "200":
        raise Fail("want 200 on streams 1 and 3, got %s" % got)
    return "101, then 200 on streams 1 and 3"


def h2_case(clen, body, want):
    """Stream 1: the hostile one (want: "rst" or "not200"); stream 3: a good
    request on the same connection, which must still get 200."""
    def run(a):
        frames = h2_request(1, body, clen) + h2_request(3, CHAT, len(CHAT))
        got = h2_exchange(a, frames, (1, 3), a.quick)
        s1, s3 = got.get(1), got.get(3)
        if want == "rst" and not (s1 or "").startswith("rst"):
            raise Fail("stream 1: want RST_STREAM, got %s (all: %s)" % (s1, got))
        if want == "not200" and (s1 is None or s1 == "200"):
            raise Fail("stream 1: want an error, got %s (all: %s)" % (s1, got))
        if s3 != "200":
            raise Fail("stream 3 (a good request after it): %s (all: %s)" % (s3, got))
        return "stream 1: %s; stream 3 on the same connection: 200" % s1
    return run


# content-length says less / more than the DATA frames carry
CASES["h2_cl_less"] = h2_case(5, CHAT, "rst")
CASES["h2_cl_more"] = h2_case(len(CHAT) + 100, CHAT, "rst")
# content-length with no DATA at all: an empty body, refused by the API
CASES["h2_cl_no_data"] = h2_case(len(CHAT), b"", "not200")


# a content-length that is no number: h2o ends the whole connection
# (GOAWAY); a new connection is served
@case
def h2_cl_bad(a):
    got = h2_exchange(a, h2_request(1, CHAT, "12abc"), (1,), a.quick)
    if got.get(1) == "200" or (1 not in got and 0 not in got):
        raise Fail("want a reset or GOAWAY, got %s" % got)
    return "%s; then %s" % (got, h2_ok(a))


@case
def h2_ok(a):
    got = h2_exchange(a, h2_request(1, CHAT, len(CHAT)) + h2_request(3, CHAT, None), (1, 3),
                      a.quick)
    if got.get(1) != "200" or got.get(3) != "200":
        raise Fail("want 200 on both streams, got %s" % got)
    return "200 with and without content-length"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int)
    ap.add_argument("--body-timeout", type=float, default=3)
    ap.add_argument("--header-timeout", type=float, default=5)
    ap.add_argument("--quick", type=float, default=8,
                    help="bound for answers due at once or at the next sweep")
    ap.add_argument("--tls", action="store_true", help="HTTPS (HTTP/1.1 by ALPN)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("cases", nargs="*")
    a = ap.parse_args()
    global TLS
    TLS = a.tls
    if a.list:
        print("\n".join(CASES))
        return 0
    bad = 0
    for name in a.cases or list(CASES):
        try:
            msg = CASES[name](a)
            print("ok %s: %s" % (name, msg), flush=True)
        except Fail as e:
            bad += 1
            print("FAIL %s: %s" % (name, e), flush=True)
        except Exception as e:  # noqa: BLE001
            bad += 1
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e), flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
