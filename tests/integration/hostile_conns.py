#!/usr/bin/python3
"""hostile_conns.py: hostile connections to a tokilake listener (the agent
listener or the node listener), for hostile-agent-listener.sh and
hostile-node-listener.sh.

    hostile_conns.py --addr HOST:PORT --mode MODE [--tls] [--count N]
                     [--hold S] [--stubs DIR --namespace NS --token T]
                     [--secret S] [--size BYTES]

Plays MODE, then waits (up to --hold seconds) for the server to close
every connection it opened. Prints
    SENT ...                   what was done
    CLOSED <n>/<count> first_ms <ms> last_ms <ms> [how]
    STATUS <grpc status name>  (grpc modes)
    RESULT ok|fail <why>
and exits 0 when the expected outcome happened, 1 when it did not, 2 when
the mode could not be played.

Modes (--tls: speak TLS where the mode needs it):
  silent       --count connections that send nothing (not even a
               ClientHello); each must be closed within --hold
  slow-hello   (TLS port) a real ClientHello, one byte a second: the
               handshake deadline must close it although bytes keep coming
  slow-preface (h2c port; after the handshake with --tls) the HTTP/2
               preface one byte a second
  half-open    connect, then shut down our write side at once
  garbage      4 KiB of random bytes (after the handshake with --tls)
  bad-preface  an HTTP/1.1 request where the HTTP/2 preface belongs
  no-alpn      (TLS port) a TLS handshake offering only ALPN http/1.1:
               the listener speaks HTTP/2 only and must close it
  preface-only the preface and SETTINGS, PINGs answered, and never a
               request: the register deadline must close it
  big-frame    preface, SETTINGS, then a frame header announcing 1 MiB
               (past SETTINGS_MAX_FRAME_SIZE): GOAWAY and close expected
  big-headers  preface, SETTINGS, then a request whose header list is
               256 KiB (HEADERS + CONTINUATION): the stream or the
               connection must be refused, never served
  grpc-big     (grpcio, --stubs) Connect with --token, a Register, then a
               ModelUpdate of --size bytes: expects RESOURCE_EXHAUSTED;
               with a wrong token, the same big Register at once:
               expects UNAUTHENTICATED; with --expect REGISTERED, a
               legitimate agent: Connect and a small Register, answered
               by Registered
  body-big     (node listener) POST with content-length --size, body sent
               in full: authorization from --secret (may be wrong);
               expects a refusal (4xx status or RST_STREAM), never 200
  blackhole    a SERVER on --addr that plays a dead peer node for --hold
               seconds: it accepts and says nothing (with --tls and
               --cert/--key: it completes the TLS handshake, ALPN h2, and
               then says nothing, not even SETTINGS). Prints ACCEPTED
               lines as peers come.
"""
import argparse
import os
import random
import select
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import link_h2 as h2  # noqa: E402


def say(*words):
    print(*words, flush=True)


def tls_client_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    return ctx


def raw(addr):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def dial(args):
    """A connection ready for HTTP/2 bytes (TLS done with --tls)."""
    s = raw(args.addr)
    if args.tls:
        s = tls_client_ctx().wrap_socket(s, server_hostname="localhost")
    return s


def closed_by_peer(s, timeout):
    """Read until EOF/error; True if that happened within timeout."""
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return False
        s.settimeout(left)
        try:
            if not s.recv(65536):
                return True
        except (socket.timeout, TimeoutError):
            return False
        except ssl.SSLWantReadError:
            continue
        except (OSError, ssl.SSLError):
            return True


def finish(ok, why):
    say("RESULT", "ok" if ok else "fail", why)
    sys.exit(0 if ok else 1)


def wait_all_closed(socks, t0, hold):
    """Poll every socket until each saw EOF or hold passes; close times."""
    open_ = {s.fileno(): s for s in socks}
    times = []
    end = t0 + hold
    while open_ and time.monotonic() < end:
        r, _, _ = select.select(list(open_.values()), [], [], min(0.5, end - time.monotonic()))
        for s in r:
            try:
                b = s.recv(4096)
            except OSError:
                b = b""
            if not b:
                times.append(int((time.monotonic() - t0) * 1000))
                del open_[s.fileno()]
                s.close()
    for s in open_.values():
        s.close()
    return times


def report_closed(times, count, hold):
    if times:
        say("CLOSED %d/%d first_ms %d last_ms %d" % (len(times), count, min(times), max(times)))
    else:
        say("CLOSED 0/%d" % count)
    finish(len(times) == count, "%d of %d closed within %s s" % (len(times), count, hold))


def mode_silent(args):
    socks = []
    t0 = time.monotonic()
    for _ in range(args.count):
        try:
            socks.append(raw(args.addr))
        except OSError as e:
            say("SENT connect failed after %d: %s" % (len(socks), e))
            break
    say("SENT %d silent connections" % len(socks))
    report_closed(wait_all_closed(socks, t0, args.hold), args.count, args.hold)


def trickle(s, data, t0, hold, what):
    """Send data one byte a second; True if the server closed us first."""
    sent = 0
    for b in data:
        if time.monotonic() - t0 > hold:
            break
        try:
            s.sendall(bytes([b]))
        except OSError:
            break
        sent += 1
        r, _, _ = select.select([s], [], [], 1.0)
        if r:
            try:
                if not s.recv(4096):
                    break
            except OSError:
                break
    else:
        say("SENT all %d bytes of the %s" % (len(data), what))
        return closed_by_peer(s, max(0.1, hold - (time.monotonic() - t0)))
    say("SENT %d of %d bytes of the %s, one a second" % (sent, len(data), what))
    return time.monotonic() - t0 <= hold


def mode_slow_hello(args):
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = tls_client_ctx().wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    t0 = time.monotonic()
    s = raw(args.addr)
    ok = trickle(s, hello, t0, args.hold, "ClientHello")
    ms = int((time.monotonic() - t0) * 1000)
    say("CLOSED %d/1 first_ms %d last_ms %d" % (1 if ok else 0, ms, ms))
    finish(ok, "closed after %d ms" % ms)


def mode_slow_preface(args):
    t0 = time.monotonic()
    s = dial(args)
    ok = trickle(s, h2.PREFACE, t0, args.hold, "HTTP/2 preface")
    ms = int((time.monotonic() - t0) * 1000)
    say("CLOSED %d/1 first_ms %d last_ms %d" % (1 if ok else 0, ms, ms))
    finish(ok, "closed after %d ms" % ms)


def mode_no_alpn(args):
    t0 = time.monotonic()
    ctx = tls_client_ctx()
    ctx.set_alpn_protocols(["http/1.1"])
    try:
        s = ctx.wrap_socket(raw(args.addr), server_hostname="localhost")
    except (OSError, ssl.SSLError) as e:
        # refusing in the handshake itself is a close too
        say("SENT a ClientHello offering http/1.1 only; handshake refused:", e)
        finish(True, "closed in the handshake")
    say("SENT a ClientHello offering http/1.1 only; selected:", s.selected_alpn_protocol())
    ok = closed_by_peer(s, args.hold)
    ms = int((time.monotonic() - t0) * 1000)
    say("CLOSED %d/1 first_ms %d last_ms %d" % (1 if ok else 0, ms, ms))
    finish(ok, "closed after %d ms" % ms)


def one_shot(args, data, what):
    """Dial, send data (or FIN when data is None), wait for the close."""
    t0 = time.monotonic()
    s = dial(args)
    c = h2.Conn(s, auto_ack=True)
    if data is None:
        s.shutdown(socket.SHUT_WR)
    else:
        c.send(data)
    say("SENT", what)
    ok = c.wait_closed(args.hold)
    ms = int((time.monotonic() - t0) * 1000)
    say("CLOSED %d/1 first_ms %d last_ms %d %s" % (1 if ok else 0, ms, ms, c.summary()))
    return c, ok, ms


def mode_simple(args):
    rng = random.Random(12)
    if args.mode == "half-open":
        _, ok, ms = one_shot(args, None, "FIN right after connecting")
    elif args.mode == "garbage":
        _, ok, ms = one_shot(args, bytes(rng.getrandbits(8) for _ in range(4096)),
                             "4096 random bytes")
    elif args.mode == "bad-preface":
        _, ok, ms = one_shot(args, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                             "an HTTP/1.1 request instead of the preface")
    elif args.mode == "preface-only":
        _, ok, ms = one_shot(args, h2.PREFACE + h2.settings_frame(),
                             "the preface and SETTINGS, then nothing but PING answers")
    elif args.mode == "big-frame":
        c, ok, ms = one_shot(args, h2.PREFACE + h2.settings_frame() +
                             b"\x10\x00\x00\x00\x04\x00\x00\x00\x01" + b"\0" * 16384,
                             "preface, SETTINGS, a HEADERS frame announcing 1 MiB")
        g = c.goaway()
        say("GOAWAY", "none" if g is None else "code %d" % g[1])
        ok = ok and g is not None and g[1] != 0
    finish(ok, "closed after %d ms" % ms)


def mode_big_headers(args):
    t0 = time.monotonic()
    c = h2.Conn(dial(args), auto_ack=True)
    c.start()
    block = h2.header_block(h2.grpc_request_headers(h2.PATH_CONNECT) +
                            [("x-pad-%d" % i, "v" * 4000) for i in range(64)])
    chunks = [block[i:i + 16000] for i in range(0, len(block), 16000)]
    out = h2.frame(h2.HEADERS, 0, 1, chunks[0])
    for i, ch in enumerate(chunks[1:], 1):
        out += h2.frame(h2.CONTINUATION, h2.END_HEADERS if i == len(chunks) - 1 else 0, 1, ch)
    c.send(out)
    say("SENT a request with a %d-byte header block in %d frames" % (len(block), len(chunks)))
    # the server's answer: a reset stream, a GOAWAY, a close, or a
    # non-200 response; never a served call (HEADERS :status 200 without
    # grpc-status would mean it was accepted: we look for RST or GOAWAY)
    c.read_frames(min(args.hold, 5))
    refused = (c.closed is not None or c.goaway() is not None or
               any(f[0] == h2.RST_STREAM and f[2] == 1 for f in c.frames))
    ms = int((time.monotonic() - t0) * 1000)
    say("ANSWER after %d ms: %s" % (ms, c.summary()))
    finish(refused, "the oversized header list was refused (%s)" % c.summary())


def mode_body_big(args):
    t0 = time.monotonic()
    c = h2.Conn(dial(args), auto_ack=True)
    c.start(settings=((3, 100), (4, 1 << 24)))
    hdrs = [(":method", "POST"), (":scheme", "https" if args.tls else "http"),
            (":path", "/v1/chat/completions"), (":authority", "localhost"),
            ("content-type", "application/json"), ("content-length", str(args.size)),
            ("tokilake-namespace", "lab"), ("tokilake-model", "qwen3:0.6b")]
    if args.secret:
        hdrs.append(("authorization", "Bearer " + args.secret))
    c.send(h2.headers_frame(1, hdrs))
    sent = 0
    while sent < args.size and c.closed is None:
        n = min(16384, args.size - sent)
        if not c.send(h2.data_frame(1, b"x" * n, end_stream=sent + n == args.size)):
            break
        sent += n
        # drain what the server says (and ack) without blocking long
        c.read_frames(0.001)
        if any(f[2] == 1 and f[0] in (h2.RST_STREAM, h2.HEADERS) for f in c.frames):
            break
    say("SENT headers and %d of %d body bytes" % (sent, args.size))
    f = c.wait_for(lambda f: f[2] == 1 and f[0] in (h2.RST_STREAM, h2.HEADERS), args.hold)
    ms = int((time.monotonic() - t0) * 1000)
    if f is None:
        finish(c.closed is not None, "no answer on stream 1 (%s)" % c.summary())
    if f[0] == h2.RST_STREAM:
        say("ANSWER RST_STREAM code %d after %d ms" % (int.from_bytes(f[3][:4], "big"), ms))
        finish(True, "stream reset")
    # :status is the first header; h2o sends it indexed from the static
    # table (0x88 = 200) or as a literal with the indexed name :status
    blk = f[3]
    status = "200" if blk[:1] == b"\x88" else None
    for code in (b"400", b"401", b"403", b"408", b"413", b"431", b"503"):
        if code in blk[:16]:
            status = code.decode()
    idx = {0x89: "204", 0x8a: "206", 0x8b: "304", 0x8c: "400", 0x8d: "404", 0x8e: "500"}
    if status is None and blk[:1] and blk[0] in idx:
        status = idx[blk[0]]
    say("ANSWER status %s after %d ms" % (status, ms))
    finish(status is not None and status != "200", "answered %s" % status)


def mode_grpc_big(args):
    import grpc
    sys.path.insert(0, args.stubs)
    import tokilake_pb2 as pb  # noqa: E402
    import tokilake_pb2_grpc as pbg  # noqa: E402

    if args.tls:
        with open(args.ca, "rb") as f:
            creds = grpc.ssl_channel_credentials(root_certificates=f.read())
        ch = grpc.secure_channel(args.addr, creds,
                                 options=[("grpc.ssl_target_name_override", "localhost")])
    else:
        ch = grpc.insecure_channel(args.addr)
    stub = pbg.AgentLinkStub(ch)
    md = (("tokilake-namespace", args.namespace), ("authorization", "Bearer " + args.token))
    n = args.size // 40 + 1
    models = [pb.Model(id="m-big-%06d-%s" % (i, "p" * 24)) for i in range(n)]
    reg_small = pb.AgentMessage(register=pb.Register(namespace=args.namespace,
                                                     agent_id="hostile-big", capacity=1))
    big_update = pb.AgentMessage(models=pb.ModelUpdate(models=models))
    big_reg = pb.AgentMessage(register=pb.Register(namespace=args.namespace,
                                                   agent_id="hostile-big", models=models))
    say("SENT a message of %d bytes" % big_update.ByteSize())

    def gen():
        if args.expect == "UNAUTHENTICATED":
            yield big_reg
        elif args.expect == "REGISTERED":
            yield reg_small
        else:
            yield reg_small
            time.sleep(0.5)
            yield big_update
        time.sleep(args.hold)

    code = None
    try:
        for m in stub.Connect(gen(), metadata=md, timeout=args.hold):
            say("GOT", m.WhichOneof("msg"))
            if m.WhichOneof("msg") == "registered" and args.expect == "REGISTERED":
                code = "REGISTERED"
                say("STATUS REGISTERED as", m.registered.agent_id)
                break
    except grpc.RpcError as e:
        code = e.code().name
        say("STATUS", code, (e.details() or "")[:120])
    ch.close()
    finish(code == args.expect, "status %s, expected %s" % (code, args.expect))


def mode_blackhole(args):
    host, port = args.addr.rsplit(":", 1)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, int(port)))
    ls.listen(64)
    ctx = None
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        ctx.set_alpn_protocols(["h2"])
    held = []
    say("LISTENING", args.addr, "tls" if ctx else "tcp")

    def handshake(c):
        try:
            c.settimeout(10)
            t = ctx.wrap_socket(c, server_side=True)
            say("HANDSHAKE done, alpn", t.selected_alpn_protocol())
            held.append(t)
        except (OSError, ssl.SSLError) as e:
            say("HANDSHAKE failed", e)

    end = time.monotonic() + args.hold
    n = 0
    while time.monotonic() < end:
        r, _, _ = select.select([ls], [], [], 0.5)
        if not r:
            continue
        c, peer = ls.accept()
        n += 1
        say("ACCEPTED", n, "%s:%d" % peer)
        if ctx:
            threading.Thread(target=handshake, args=(c,), daemon=True).start()
        else:
            held.append(c)
    say("RESULT ok held %d connections" % n)
    sys.exit(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--mode", required=True)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--ca")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--hold", type=float, default=10)
    ap.add_argument("--stubs")
    ap.add_argument("--namespace", default="lab")
    ap.add_argument("--token", default="")
    ap.add_argument("--secret", default="")
    ap.add_argument("--size", type=int, default=64 * 1024)
    ap.add_argument("--expect", default="RESOURCE_EXHAUSTED")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    args = ap.parse_args()
    modes = {"silent": mode_silent, "slow-hello": mode_slow_hello,
             "slow-preface": mode_slow_preface, "half-open": mode_simple,
             "garbage": mode_simple, "bad-preface": mode_simple, "big-frame": mode_simple,
             "preface-only": mode_simple, "no-alpn": mode_no_alpn,
             "big-headers": mode_big_headers, "body-big": mode_body_big,
             "grpc-big": mode_grpc_big, "blackhole": mode_blackhole}
    if args.mode not in modes:
        say("RESULT fail unknown mode", args.mode)
        sys.exit(2)
    try:
        modes[args.mode](args)
    except (OSError, ssl.SSLError) as e:
        say("RESULT fail could not play %s: %s" % (args.mode, e))
        sys.exit(2)


if __name__ == "__main__":
    main()
