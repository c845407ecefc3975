#!/usr/bin/python3
"""grpc_server.py: a mock tokilake AgentLink server written with grpcio.

It is the OTHER side for the tests of the real tokiame binary: a gRPC
stack we did not write, so what tokiame sends is checked against a
standard implementation. Run it with Debian's /usr/bin/python3 (grpcio).

The stubs are generated at test time from proto/tokilake.proto:
    /usr/bin/python3 -m grpc_tools.protoc -I$top_srcdir/proto \
        --python_out=GEN --grpc_python_out=GEN tokilake.proto
and found through --gen GEN.

What it does:
  * Connect: checks the metadata (authorization: Bearer TOKEN,
    tokilake-namespace: NS); a wrong one is answered UNAUTHENTICATED
    before any message. The first message must be Register; the answer
    is Registered with --heartbeat-ms. Heartbeats, model updates and
    Goodbye are recorded.
  * Serve: the first message must be TaskAccept for an offered task; the
    request body is streamed down (16 KiB messages) then BodyEnd; the
    head, chunks, end or error coming up are recorded.

A small HTTP control API on 127.0.0.1 drives it (port in --control-port-file):
  GET  /events                      every event so far (JSON list)
  GET  /wait?type=T&count=N&timeout=S&agent=ID
                                    wait until N events of type T (of that
                                    agent) exist; 200 with them, or 408
  POST /offer  {"model", "path", "method", "headers": [[n, v]], "body",
                "deadline_ms", "cancel_after_chunks", "read_pause_ms", "agent",
                "timeout"}
                                    offer a task to the newest (or the
                                    named) agent and wait for the Serve
                                    call to end; returns what came up
  POST /drain  {"reason"}           send Control.Drain to every agent
  POST /garbage {"hex", "repeat"}   send those bytes as one message on every
                                    Connect call (bad protobuf, huge messages)
"""

import argparse
import base64
import json
import os
import queue
import sys
import threading
import time
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import grpc


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--gen", required=True, help="directory of the generated stubs")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--control-port-file", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--namespace", required=True)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--heartbeat-ms", type=int, default=500)
    return p.parse_args()


ARGS = parse_args()
sys.path.insert(0, ARGS.gen)
import tokilake_pb2 as pb  # noqa: E402
import tokilake_pb2_grpc as pbg  # noqa: E402


def log(*a):
    print(time.strftime("%H:%M:%S"), "grpc_server:", *a, file=sys.stderr, flush=True)


KIND = {v: k for k, v in pb.ModelKind.items()}


def models_json(models):
    return [{"id": m.id, "kind": KIND.get(m.kind, m.kind), "backend": m.backend,
             "context_length": m.context_length} for m in models]


class State:
    def __init__(self):
        self.lock = threading.Condition()
        self.events = []
        self.agents = []          # live Connect calls, newest last
        self.tasks = {}
        self.next_task = 1

    def event(self, **ev):
        ev["t"] = time.time()
        with self.lock:
            self.events.append(ev)
            self.lock.notify_all()
        log("event", json.dumps({k: v for k, v in ev.items() if k != "t"})[:300])

    def matching(self, typ, agent):
        return [e for e in self.events
                if e["type"] == typ and (agent is None or e.get("agent_id") == agent)]

    def wait(self, typ, count, timeout, agent=None):
        deadline = time.time() + timeout
        with self.lock:
            while True:
                got = self.matching(typ, agent)
                if len(got) >= count:
                    return got
                left = deadline - time.time()
                if left <= 0:
                    return None
                self.lock.wait(left)


STATE = State()


class Agent:
    def __init__(self, agent_id):
        self.agent_id = agent_id
        self.out = queue.Queue()


class Task:
    def __init__(self, tid, spec):
        self.id = tid
        self.spec = spec
        self.body = spec.get("body", "").encode("utf-8")
        self.done = threading.Event()
        self.chunks = []
        self.result = {"task_id": tid, "accepted": False, "head": None, "nchunks": 0,
                       "end": False, "error": None, "cancelled": False}


class AgentLink(pbg.AgentLinkServicer):
    def Connect(self, request_iterator, context):
        md = dict(context.invocation_metadata())
        auth = md.get("authorization", "")
        ns = md.get("tokilake-namespace", "")
        STATE.event(type="connect", namespace=ns, user_agent=md.get("user-agent", ""),
                    peer=context.peer())
        if auth != "Bearer " + ARGS.token or ns != ARGS.namespace:
            STATE.event(type="auth_fail", namespace=ns, peer=context.peer())
            context.abort(grpc.StatusCode.UNAUTHENTICATED,
                          "wrong token for namespace %s" % ns)
        first = next(request_iterator, None)
        if first is None or first.WhichOneof("msg") != "register":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first message must be Register")
        reg = first.register
        if reg.namespace != ns:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Register for another namespace")
        agent = Agent(reg.agent_id)
        STATE.event(type="register", agent_id=reg.agent_id, namespace=reg.namespace,
                    version=reg.version, capacity=reg.capacity, models=models_json(reg.models))
        with STATE.lock:
            STATE.agents.append(agent)

        def reader():
            try:
                for m in request_iterator:
                    k = m.WhichOneof("msg")
                    if k == "heartbeat":
                        STATE.event(type="heartbeat", agent_id=agent.agent_id,
                                    in_flight=m.heartbeat.in_flight,
                                    capacity=m.heartbeat.capacity)
                    elif k == "models":
                        STATE.event(type="models", agent_id=agent.agent_id,
                                    models=models_json(m.models.models))
                    elif k == "goodbye":
                        STATE.event(type="goodbye", agent_id=agent.agent_id,
                                    reason=m.goodbye.reason)
                    else:
                        STATE.event(type="unexpected", agent_id=agent.agent_id, what=str(k))
            except Exception as e:  # the call ended under us
                log("reader:", type(e).__name__)
            agent.out.put(None)

        context.add_callback(lambda: agent.out.put(None))
        threading.Thread(target=reader, daemon=True).start()
        yield pb.ServerMessage(registered=pb.Registered(
            agent_id=reg.agent_id + "@mock", node="mock-node",
            heartbeat_interval_ms=ARGS.heartbeat_ms))
        try:
            while True:
                item = agent.out.get()
                if item is None:
                    break
                yield item
        finally:
            with STATE.lock:
                if agent in STATE.agents:
                    STATE.agents.remove(agent)
            STATE.event(type="connect_end", agent_id=agent.agent_id)

    def Serve(self, request_iterator, context):
        first = next(request_iterator, None)
        if first is None or first.WhichOneof("msg") != "accept":
            STATE.event(type="serve_bad_first")
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first message must be TaskAccept")
        with STATE.lock:
            task = STATE.tasks.get(first.accept.task_id)
        if task is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "no such task")
        task.result["accepted"] = True
        cancel_after = task.spec.get("cancel_after_chunks", 0)
        read_pause = task.spec.get("read_pause_ms", 0) / 1000
        try:
            for i in range(0, len(task.body), 16384):
                yield pb.TaskDown(body=task.body[i:i + 16384])
            yield pb.TaskDown(body_end=pb.BodyEnd())
            for up in request_iterator:
                k = up.WhichOneof("msg")
                if k == "head":
                    task.result["head"] = {"status": up.head.status,
                                           "headers": [[h.name, h.value] for h in up.head.headers]}
                elif k == "chunk":
                    task.chunks.append(up.chunk)
                    task.result["nchunks"] += 1
                    if read_pause:
                        time.sleep(read_pause)  # a slow client: back-pressure
                    if cancel_after and task.result["nchunks"] >= cancel_after:
                        task.result["cancelled"] = True
                        task.result["cancelled_at"] = time.time()
                        context.cancel()
                        return
                elif k == "end":
                    task.result["end"] = True
                elif k == "error":
                    e = up.error
                    task.result["error"] = {"status": e.status, "type": e.type,
                                            "code": e.code, "message": e.message}
                elif k == "accept":
                    task.result["second_accept"] = True
        finally:
            body = b"".join(task.chunks)
            task.result["body"] = body.decode("latin-1")
            task.result["body_b64"] = base64.b64encode(body).decode()
            STATE.event(type="serve_end", task_id=task.id,
                        end=task.result["end"], error=task.result["error"])
            task.done.set()


def offer(spec):
    with STATE.lock:
        agents = [a for a in STATE.agents
                  if spec.get("agent") in (None, a.agent_id)]
        if not agents:
            return 409, {"error": "no agent linked"}
        agent = agents[-1]
        tid = STATE.next_task
        STATE.next_task += 1
        task = Task(tid, spec)
        STATE.tasks[tid] = task
    o = pb.TaskOffer(task_id=tid, request_id="req-%d" % tid,
                     method=spec.get("method", "POST"),
                     path=spec.get("path", "/v1/chat/completions"),
                     body_size=spec.get("body_size", len(task.body)),
                     deadline_ms=spec.get("deadline_ms", 0),
                     model=spec["model"])
    for n, v in spec.get("headers", []):
        o.headers.add(name=n, value=v)
    agent.out.put(pb.ServerMessage(offer=o))
    if not task.done.wait(spec.get("timeout", 15)):
        r = dict(task.result)
        r["timeout"] = True
        return 504, r
    return 200, task.result


class Control(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, obj):
        b = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def do_GET(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if u.path == "/events":
            with STATE.lock:
                self.reply(200, list(STATE.events))
        elif u.path == "/wait":
            got = STATE.wait(q["type"], int(q.get("count", 1)), float(q.get("timeout", 10)),
                             q.get("agent"))
            if got is None:
                self.reply(408, {"error": "timeout"})
            else:
                self.reply(200, got)
        else:
            self.reply(404, {"error": "not found"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        spec = json.loads(self.rfile.read(n) or b"{}")
        if self.path == "/offer":
            self.reply(*offer(spec))
        elif self.path == "/garbage":
            with STATE.lock:
                agents = list(STATE.agents)
            raw = bytes.fromhex(spec.get("hex", "")) * int(spec.get("repeat", 1))
            for a in agents:
                a.out.put(raw)
            self.reply(200, {"agents": len(agents)})
        elif self.path == "/drain":
            with STATE.lock:
                agents = list(STATE.agents)
            for a in agents:
                a.out.put(pb.ServerMessage(control=pb.Control(
                    drain=pb.Drain(reason=spec.get("reason", "test")))))
            self.reply(200, {"agents": len(agents)})
        else:
            self.reply(404, {"error": "not found"})


def write_file(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def main():
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=64),
        options=[
            # tokiame PINGs every few seconds while idle: allow it
            ("grpc.http2.min_ping_interval_without_data_ms", 100),
            ("grpc.http2.max_ping_strikes", 0),
            ("grpc.keepalive_permit_without_calls", 1),
        ])
    # The generated registration, except that a response may also be raw
    # bytes: POST /garbage sends what no protobuf decoder accepts.
    def ser(m):
        return m if isinstance(m, bytes) else m.SerializeToString()
    svc = AgentLink()
    handlers = {
        "Connect": grpc.stream_stream_rpc_method_handler(
            svc.Connect, request_deserializer=pb.AgentMessage.FromString,
            response_serializer=ser),
        "Serve": grpc.stream_stream_rpc_method_handler(
            svc.Serve, request_deserializer=pb.TaskUp.FromString, response_serializer=ser),
    }
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("tokilake.v1.AgentLink", handlers),))
    addr = "127.0.0.1:%d" % ARGS.port
    if ARGS.tls_cert:
        with open(ARGS.tls_key, "rb") as f:
            key = f.read()
        with open(ARGS.tls_cert, "rb") as f:
            cert = f.read()
        port = server.add_secure_port(addr, grpc.ssl_server_credentials([(key, cert)]))
    else:
        port = server.add_insecure_port(addr)
    if port == 0:
        log("cannot bind", addr)
        sys.exit(1)
    server.start()
    ctl = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    ctl.daemon_threads = True
    threading.Thread(target=ctl.serve_forever, daemon=True).start()
    write_file(ARGS.control_port_file, str(ctl.server_address[1]))
    write_file(ARGS.port_file, str(port))
    log("serving on port", port, "(TLS)" if ARGS.tls_cert else "(h2c)",
        "control on", ctl.server_address[1])
    server.wait_for_termination()


if __name__ == "__main__":
    main()
