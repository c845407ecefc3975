#!/usr/bin/python3
"""idle_agents: link K idle agents to one agentd over h2c, for the bench.

Each agent is one TCP connection speaking just enough HTTP/2 by hand: the
client preface, an empty SETTINGS, HEADERS for the Connect call (HPACK
literal fields without indexing, no Huffman), one DATA frame with a
gRPC-framed AgentMessage{register}, then it only acks SETTINGS and PINGs
and never closes. No grpcio: 10,000 of these fit in one asyncio process.

Prints "LINKED <k> <ms>" when k agents got Registered (at 10%, 50%, all),
"FAILED <n> <reason>" for refusals, then "READY <linked> <failed> <ms>"
and waits for SIGTERM (or stdin EOF with --stdin-stop).
"""
import argparse
import asyncio
import os
import signal
import struct
import sys
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
T_DATA, T_HEADERS, T_RST, T_SETTINGS, T_PING, T_GOAWAY, T_WINDOW = 0, 1, 3, 4, 6, 7, 8


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", sid) + payload


def hpack_int(value, prefix_bits, first=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = bytearray([first | limit])
    value -= limit
    while value >= 128:
        out.append((value & 127) | 128)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_literal(name, value):
    """Literal header field without indexing, new name, no Huffman."""
    n, v = name.encode(), value.encode()
    return b"\x00" + hpack_int(len(n), 7) + n + hpack_int(len(v), 7) + v


def pb_varint(v):
    out = bytearray()
    while v >= 128:
        out.append((v & 127) | 128)
        v >>= 7
    out.append(v)
    return bytes(out)


def pb_bytes(field, data):
    return pb_varint(field << 3 | 2) + pb_varint(len(data)) + data


def register_message(ns, agent_id):
    reg = pb_bytes(1, ns.encode()) + pb_bytes(2, agent_id.encode()) + \
        pb_bytes(3, b"bench-idle") + pb_varint(5 << 3) + pb_varint(1)
    msg = pb_bytes(1, reg)                       # AgentMessage.register
    return b"\x00" + struct.pack(">I", len(msg)) + msg


class Stats:
    def __init__(self, k):
        self.k = k
        self.linked = 0
        self.failed = 0
        self.reasons = {}
        self.t0 = time.monotonic()
        self.marks = sorted({max(1, k // 10), max(1, k // 2), k})
        self.dropped = 0
        self.stopping = False

    def ms(self):
        return int((time.monotonic() - self.t0) * 1000)

    def ok(self):
        self.linked += 1
        if self.linked in self.marks:
            print("LINKED", self.linked, self.ms(), flush=True)

    def fail(self, why):
        self.failed += 1
        self.reasons[why] = self.reasons.get(why, 0) + 1


class Agent(asyncio.Protocol):
    def __init__(self, stats, hello, slot):
        self.stats = stats
        self.hello = hello
        self.slot = slot
        self.buf = bytearray()
        self.state = "linking"      # linking, linked, failed
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.hello)

    def finish(self, ok, why=""):
        if self.state != "linking":
            return
        self.state = "linked" if ok else "failed"
        if not self.slot.done():
            self.slot.set_result(None)
        if ok:
            self.stats.ok()
        else:
            self.stats.fail(why)

    def data_received(self, data):
        self.buf += data
        while len(self.buf) >= 9:
            length = int.from_bytes(self.buf[0:3], "big")
            if len(self.buf) < 9 + length:
                return
            ftype, flags = self.buf[3], self.buf[4]
            sid = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
            payload = bytes(self.buf[9:9 + length])
            del self.buf[:9 + length]
            self.on_frame(ftype, flags, sid, payload)

    def on_frame(self, ftype, flags, sid, payload):
        if ftype == T_SETTINGS and not flags & 1:
            self.transport.write(frame(T_SETTINGS, 1, 0))
        elif ftype == T_PING and not flags & 1:
            self.transport.write(frame(T_PING, 1, 0, payload))
        elif ftype == T_DATA and sid == 1:
            # Registered is ServerMessage field 1: first byte after the
            # 5-byte gRPC prefix is 0x0a
            if len(payload) > 5 and payload[5] == 0x0A:
                self.finish(True)
            if payload:      # keep the server's send window open
                inc = struct.pack(">I", len(payload))
                self.transport.write(frame(T_WINDOW, 0, 0, inc) + frame(T_WINDOW, 0, 1, inc))
        elif ftype == T_HEADERS and sid == 1 and flags & 1:
            self.finish(False, "call ended (Trailers-Only or trailers)")
        elif ftype == T_RST:
            self.finish(False, "RST_STREAM")
        elif ftype == T_GOAWAY:
            self.finish(False, "GOAWAY")

    def connection_lost(self, exc):
        if self.state == "linking":
            self.finish(False, "connection lost before Registered")
        elif self.state == "linked" and not self.stats.stopping:
            self.stats.dropped += 1
            print("DROPPED", self.stats.dropped, self.stats.ms(), flush=True)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--namespace", default="bench")
    ap.add_argument("-k", type=int, required=True)
    ap.add_argument("--parallel", type=int, default=256,
                    help="links being set up at once")
    ap.add_argument("--prefix", default="idle")
    args = ap.parse_args()
    host, port = args.addr.rsplit(":", 1)
    loop = asyncio.get_event_loop()
    stats = Stats(args.k)
    headers = b"".join(hpack_literal(n, v) for n, v in [
        (":method", "POST"), (":scheme", "http"),
        (":path", "/tokilake.v1.AgentLink/Connect"), (":authority", args.addr),
        ("content-type", "application/grpc"), ("te", "trailers"),
        ("user-agent", "tokiame-bench-idle/0"),
        ("authorization", "Bearer " + args.token),
        ("tokilake-namespace", args.namespace)])
    start = PREFACE + frame(T_SETTINGS, 0, 0) + frame(T_HEADERS, 4, 1, headers)
    sem = asyncio.Semaphore(args.parallel)
    transports = []

    async def one(i):
        async with sem:
            slot = loop.create_future()
            hello = start + frame(T_DATA, 0, 1, register_message(
                args.namespace, "%s-%d" % (args.prefix, i)))
            try:
                tr, _ = await loop.create_connection(
                    lambda: Agent(stats, hello, slot), host, int(port))
                transports.append(tr)
            except OSError as e:
                stats.fail("connect: %s" % e.strerror)
                return
            try:
                await asyncio.wait_for(slot, 30)
            except asyncio.TimeoutError:
                stats.fail("no Registered within 30 s")

    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, lambda: stop.done() or stop.set_result(1))
    loop.add_signal_handler(signal.SIGINT, lambda: stop.done() or stop.set_result(1))
    await asyncio.gather(*(one(i) for i in range(args.k)))
    print("READY", stats.linked, stats.failed, stats.ms(), flush=True)
    for why, n in stats.reasons.items():
        print("FAILED", n, why, flush=True)
    await stop
    stats.stopping = True
    for tr in transports:
        tr.close()


if __name__ == "__main__":
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError):
        pass
    asyncio.run(main())
