#!/usr/bin/python3
"""link_many.py: link N idle agents to one agentd over h2c, for
link-memory.sh. One process, asyncio, raw sockets, hand-written HTTP/2
(link_h2.py): per agent the preface, SETTINGS, the Connect HEADERS with
the token and one DATA frame holding a gRPC-framed Register. Then each
connection stays open and idle, answering PINGs (and SETTINGS) the way a
live tokiame does, until SIGTERM (or --hold seconds).

    link_many.py --addr HOST:PORT --namespace NS --token TOKEN -n N
                 [--parallel P] [--timeout S] [--hold S]

Prints "LINKED n ms" once all N are registered (n = N) or the timeout
passed (n < N), "LOST k" if the server closed k links while holding them,
and "BYE" at the end. Exit 0 if all N linked and none was lost.
"""
import argparse
import asyncio
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import link_h2 as h2  # noqa: E402


class Agent:
    def __init__(self, i, args):
        self.i = i
        self.args = args
        self.registered = asyncio.Event()
        self.closed = False
        self.writer = None

    async def run(self, gate):
        a = self.args
        host, port = a.addr.rsplit(":", 1)
        async with gate:
            reader, writer = await asyncio.open_connection(host, int(port))
            self.writer = writer
            writer.write(h2.PREFACE + h2.settings_frame(((3, 100), (4, 1 << 20))) +
                         h2.headers_frame(1, h2.grpc_request_headers(
                             h2.PATH_CONNECT, namespace=a.namespace, token=a.token)) +
                         h2.data_frame(1, h2.grpc_message(h2.register_msg(
                             a.namespace, "many-%d" % self.i, ["m%04d" % self.i]))))
            await writer.drain()
            buf = b""
            data1 = b""
            # read until Registered, inside the gate: bounded handshakes in flight
            while not self.registered.is_set():
                b = await reader.read(65536)
                if not b:
                    self.closed = True
                    return
                buf, data1 = self.frames(buf + b, data1)
        # idle: answer PINGs until the server closes or we are told to stop
        while True:
            b = await reader.read(65536)
            if not b:
                self.closed = True
                return
            buf, data1 = self.frames(buf + b, data1)

    def frames(self, buf, data1):
        out = b""
        while len(buf) >= 9:
            n = int.from_bytes(buf[0:3], "big")
            if len(buf) < 9 + n:
                break
            t, flags = buf[3], buf[4]
            sid = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
            p = buf[9:9 + n]
            buf = buf[9 + n:]
            if t == h2.PING and not flags & h2.ACK:
                out += h2.ping_frame(p, ack=True)
            elif t == h2.SETTINGS and not flags & h2.ACK:
                out += h2.settings_frame(ack=True)
            elif t == h2.DATA and sid == 1 and not self.registered.is_set():
                data1 += p
                if len(data1) >= 5 and len(data1) >= 5 + int.from_bytes(data1[1:5], "big"):
                    self.registered.set()
        if out:
            self.writer.write(out)
        return buf, data1


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--namespace", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--parallel", type=int, default=64)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--hold", type=float, default=120, help="stop after this many seconds")
    args = ap.parse_args()

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.call_later(args.hold, stop.set)  # never outlive a forgotten test

    gate = asyncio.Semaphore(args.parallel)
    agents = [Agent(i, args) for i in range(args.n)]
    t0 = time.monotonic()
    tasks = [asyncio.ensure_future(a.run(gate)) for a in agents]

    async def all_registered():
        await asyncio.gather(*(a.registered.wait() for a in agents))

    try:
        await asyncio.wait_for(all_registered(), args.timeout)
    except asyncio.TimeoutError:
        pass
    linked = sum(a.registered.is_set() for a in agents)
    errors = [t.exception() for t in tasks if t.done() and not t.cancelled() and t.exception()]
    print("LINKED %d %d" % (linked, (time.monotonic() - t0) * 1000), flush=True)
    if errors:
        print("ERRORS %d first: %r" % (len(errors), errors[0]), flush=True)
    await stop.wait()
    lost = sum(a.closed for a in agents)
    print("LOST %d" % lost, flush=True)
    for a in agents:
        if a.writer is not None:
            a.writer.close()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print("BYE", flush=True)
    return 0 if linked == args.n and lost == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
