#!/usr/bin/python3
"""link_garbage.py: a misbehaving agent for link-robustness.sh.

    link_garbage.py --addr HOST:PORT --case CASE [--tls --ca FILE]
                    [--namespace NS --token TOKEN] [--wait S] [--seed N]
                    [--models M1,M2]

Plays one CASE against agentd's agent port, then reads (acknowledging
PINGs and SETTINGS, like a live peer, unless the case must stay silent)
until the server closes the connection or --wait seconds pass. Prints
    LOCAL ip:port           our end, to find agentd's log line about us
    SENT ...                what the case did
    RESULT closed|open <ms> <how> <frames seen>
Exit 0 if the server closed the link within --wait, 1 if it did not,
2 if the case could not even be played (e.g. authentication failed).

Cases that register publish the model m-garbage-CASE and --models.

Cases (all deterministic: random bytes come from --seed):
  random          4 KiB of random bytes instead of the HTTP/2 preface
  garbage-frames  a valid preface and SETTINGS, then random bytes as frames
  bad-frames      a valid preface and SETTINGS, then frames HTTP/2 forbids
                  (DATA on stream 0)
  truncated       a valid preface, SETTINGS, then the first 10 bytes of a
                  100-byte HEADERS frame, and silence (no PING answers)
  truncated-eof   the same, then the agent closes its side
  huge-prefix     authenticated Connect, then a gRPC prefix announcing a
                  4 GiB message (and a few bytes of it)
  huge-prefix-registered   the same after a successful Register
  pb-garbage      authenticated Connect, then random bytes as a correctly
                  framed gRPC message
  pb-garbage-registered    the same after a successful Register
  stream-flood    registered, then 1000 Serve streams opened at once
                  (far more than max_streams_per_agent)
  reset-flood     registered, then 1000 streams each opened and reset at once
  connect-twice   registered, then a second Connect call on the connection
  tls-random      (with --tls) a TLS handshake with ALPN h2, then random bytes
  tls-plain-bytes (TLS port) random bytes where a TLS ClientHello belongs
  tls-no-alpn     (with --tls) a TLS handshake offering only http/1.1
"""
import argparse
import random
import socket
import ssl
import sys
import time

sys.path.insert(0, __import__("os").path.dirname(__file__))
import link_h2 as h2  # noqa: E402


def say(*words):
    print(*words, flush=True)


def rand_bytes(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def connect_call(c, args, sid=1):
    c.send(h2.headers_frame(sid, h2.grpc_request_headers(
        h2.PATH_CONNECT, namespace=args.namespace, token=args.token)))


def register(c, args):
    """Authenticated Connect and Register on stream 1; False if refused."""
    connect_call(c, args)
    models = ["m-garbage-" + args.case] + [m for m in args.models.split(",") if m]
    c.send(h2.data_frame(1, h2.grpc_message(h2.register_msg(
        args.namespace, "garbage-" + args.case, models))))
    f = c.wait_for(lambda f: f[0] == h2.DATA and f[2] == 1 and c.messages(1), 5)
    if f is None:
        say("SENT register, no Registered:", c.summary())
        return False
    say("SENT register: registered as", h2.registered_agent_id(c.messages(1)[0]))
    return True


def authenticated(c, args):
    """Connect accepted: response HEADERS without END_STREAM on stream 1."""
    connect_call(c, args)
    f = c.wait_for(lambda f: f[0] == h2.HEADERS and f[2] == 1, 5)
    if f is None or f[1] & h2.END_STREAM:
        say("SENT connect, not accepted:", c.summary())
        return False
    return True


def play(c, args, rng):
    case = args.case
    if case in ("random", "tls-random"):
        c.send(rand_bytes(rng, 4096))
        say("SENT 4096 random bytes")
    elif case == "garbage-frames":
        c.start()
        # the first random "frame" header must not be a harmless unknown
        # extension frame: force a length past SETTINGS_MAX_FRAME_SIZE
        junk = bytearray(rand_bytes(rng, 4096))
        junk[0] = 0x7F
        c.send(bytes(junk))
        say("SENT preface, SETTINGS, 4096 random bytes")
    elif case == "bad-frames":
        c.start()
        c.send(h2.frame(h2.DATA, 0, 0, b"not on stream zero"))
        say("SENT preface, SETTINGS, DATA on stream 0")
    elif case in ("truncated", "truncated-eof"):
        c.auto_ack = False
        c.start()
        whole = h2.frame(h2.HEADERS, h2.END_HEADERS, 1, rand_bytes(rng, 100))
        c.send(whole[:10])
        say("SENT preface, SETTINGS, 10 of the %d bytes of a HEADERS frame" % len(whole))
        if case == "truncated-eof":
            c.sock.shutdown(socket.SHUT_WR)
            say("SENT FIN")
    elif case in ("huge-prefix", "huge-prefix-registered"):
        c.start()
        if case == "huge-prefix" and not authenticated(c, args):
            return False
        if case == "huge-prefix-registered" and not register(c, args):
            return False
        c.send(h2.data_frame(1, b"\x00\xff\xff\xff\xff" + b"A" * 1000))
        say("SENT a gRPC prefix of 4 GiB - 1 and 1000 bytes")
    elif case in ("pb-garbage", "pb-garbage-registered"):
        c.start()
        if case == "pb-garbage" and not authenticated(c, args):
            return False
        if case == "pb-garbage-registered" and not register(c, args):
            return False
        # 0xff... is never a valid protobuf key: a sure decoding error
        c.send(h2.data_frame(1, h2.grpc_message(b"\xff\xff\xff" + rand_bytes(rng, 200))))
        say("SENT a framed 203-byte message of protobuf garbage")
    elif case == "stream-flood":
        c.start()
        if not register(c, args):
            return False
        out = []
        for i in range(1000):
            out.append(h2.headers_frame(3 + 2 * i, h2.grpc_request_headers(h2.PATH_SERVE)))
        c.send(b"".join(out))
        say("SENT 1000 Serve streams")
    elif case == "reset-flood":
        c.start()
        if not register(c, args):
            return False
        out = []
        for i in range(1000):
            sid = 3 + 2 * i
            out.append(h2.headers_frame(sid, h2.grpc_request_headers(h2.PATH_SERVE)))
            out.append(h2.rst_frame(sid, 8))
        c.send(b"".join(out))
        say("SENT 1000 streams opened and reset")
    elif case == "connect-twice":
        c.start()
        if not register(c, args):
            return False
        connect_call(c, args, sid=3)
        c.send(h2.data_frame(3, h2.grpc_message(h2.register_msg(args.namespace, "twice"))))
        say("SENT a second Connect (stream 3)")
    elif case in ("tls-plain-bytes", "tls-no-alpn"):
        pass  # played in main: they are about the handshake
    else:
        say("unknown case", case)
        return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--case", required=True)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--ca")
    ap.add_argument("--namespace", default="lab")
    ap.add_argument("--token", default="")
    ap.add_argument("--wait", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--models", default="",
                    help="more models to Register (besides m-garbage-CASE)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    t0 = time.monotonic()

    host, port = args.addr.rsplit(":", 1)
    if args.case == "tls-plain-bytes":
        sock = socket.create_connection((host, int(port)), timeout=5)
        say("LOCAL %s:%d" % sock.getsockname()[:2])
        sock.sendall(rand_bytes(rng, 4096))
        say("SENT 4096 random bytes instead of a ClientHello")
        c = h2.Conn(sock)
    elif args.case == "tls-no-alpn":
        raw = socket.create_connection((host, int(port)), timeout=5)
        say("LOCAL %s:%d" % raw.getsockname()[:2])
        ctx = ssl.create_default_context(cafile=args.ca)
        ctx.set_alpn_protocols(["http/1.1"])
        try:
            sock = ctx.wrap_socket(raw, server_hostname="localhost")
            say("SENT handshake with ALPN http/1.1; selected:", sock.selected_alpn_protocol())
            c = h2.Conn(sock)
            c.start()
        except (ssl.SSLError, OSError) as e:
            say("RESULT closed %d handshake-refused %s" % ((time.monotonic() - t0) * 1000, e))
            return 0
    else:
        sock = h2.dial(args.addr, args.tls, args.ca)
        say("LOCAL %s:%d" % sock.getsockname()[:2])
        c = h2.Conn(sock)
        t0 = time.monotonic()
        if not play(c, args, rng):
            return 2
    t_sent = time.monotonic()
    closed = c.wait_closed(args.wait)
    ms = (time.monotonic() - t_sent) * 1000
    say("RESULT %s %d %s" % ("closed" if closed else "open", ms, c.summary()))
    c.close()
    return 0 if closed else 1


if __name__ == "__main__":
    sys.exit(main())
