#!/usr/bin/python3
"""A tokiame stand-in written with python3-grpcio: proof that agentd speaks
real gRPC. It links to agentd, registers models, and answers task offers by
echoing the request back; modes let tests probe authentication.

Stubs are generated at test time from proto/tokilake.proto into --stubs.
Prints one line per event on stdout (LINKED, REGISTERED, OFFER, DONE,
STATUS) so shell tests can wait for them.
"""
import argparse
import queue
import sys
import threading

import grpc


def load_stubs(path):
    sys.path.insert(0, path)
    import tokilake_pb2  # noqa: E402
    import tokilake_pb2_grpc  # noqa: E402
    return tokilake_pb2, tokilake_pb2_grpc


def say(*words):
    print(*words, flush=True)


def channel_for(args):
    opts = [("grpc.max_receive_message_length", 8 << 20)]
    if args.ca:
        with open(args.ca, "rb") as f:
            creds = grpc.ssl_channel_credentials(root_certificates=f.read())
        if args.server_name:
            opts.append(("grpc.ssl_target_name_override", args.server_name))
        return grpc.secure_channel(args.addr, creds, options=opts)
    return grpc.insecure_channel(args.addr, options=opts)


def serve_task(pb, stub, offer, args):
    """Open a Serve call for the offer, read the body, answer with an echo."""
    up = queue.Queue()
    up.put(pb.TaskUp(accept=pb.TaskAccept(task_id=offer.task_id)))

    def gen():
        while True:
            m = up.get()
            if m is None:
                return
            yield m

    body = b""
    calls = stub.Serve(gen())
    try:
        for down in calls:
            kind = down.WhichOneof("msg")
            if kind == "body":
                body += down.body
            elif kind == "body_end":
                break
        say("DEADLINE", offer.task_id, offer.deadline_ms)
        say("OFFER", offer.task_id, offer.method, offer.path, offer.model, len(body))
        payload = b'{"echo_model":"%s","echo_bytes":%d}' % (offer.model.encode(), len(body))
        headers = [pb.Header(name="content-type", value="application/json")]
        if args.content_length_delta is not None:
            # a Content-Length that may lie by the given number of bytes
            headers.append(pb.Header(name="content-length",
                                     value=str(len(payload) + args.content_length_delta)))
        up.put(pb.TaskUp(head=pb.ResponseHead(status=200, headers=headers)))
        for i in range(0, len(payload), 7):
            up.put(pb.TaskUp(chunk=payload[i:i + 7]))
        up.put(pb.TaskUp(end=pb.TaskEnd()))
        up.put(None)
        for _ in calls:
            pass
        say("DONE", offer.task_id)
    except grpc.RpcError as e:
        up.put(None)
        say("TASKERR", offer.task_id, e.code().name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stubs", required=True)
    ap.add_argument("--addr", required=True)
    ap.add_argument("--namespace", required=True)
    ap.add_argument("--token", default="")
    ap.add_argument("--ca")
    ap.add_argument("--server-name")
    ap.add_argument("--agent-id", default="py-agent")
    ap.add_argument("--models", default="m1")
    ap.add_argument("--register-namespace", help="namespace in Register (default: same)")
    ap.add_argument("--once", action="store_true", help="exit after registering")
    ap.add_argument("--models-escaped", action="store_true",
                    help="decode backslash escapes in --models")
    ap.add_argument("--content-length-delta", type=int,
                    help="answer with content-length: the echo's length plus this")
    args = ap.parse_args()
    pb, pbg = load_stubs(args.stubs)

    ch = channel_for(args)
    stub = pbg.AgentLinkStub(ch)
    md = [("tokilake-namespace", args.namespace)]
    if args.token:
        md.append(("authorization", "Bearer " + args.token))

    out = queue.Queue()
    names = [m for m in args.models.split(",") if m]
    if args.models_escaped:
        # \x01 and the like in --models become those characters
        names = [m.encode().decode("unicode_escape") for m in names]
    models = [pb.Model(id=m, kind=pb.MODEL_KIND_CHAT, backend="py") for m in names]
    out.put(pb.AgentMessage(register=pb.Register(
        namespace=args.register_namespace or args.namespace, agent_id=args.agent_id,
        version="grpcio-test", models=models, capacity=4)))

    def gen():
        while True:
            m = out.get()
            if m is None:
                return
            yield m

    try:
        for msg in stub.Connect(gen(), metadata=md):
            kind = msg.WhichOneof("msg")
            if kind == "registered":
                say("REGISTERED", msg.registered.agent_id, msg.registered.heartbeat_interval_ms)
                out.put(pb.AgentMessage(heartbeat=pb.Heartbeat(in_flight=0, capacity=4)))
                if args.once:
                    out.put(None)
                    break
            elif kind == "control":
                c = msg.control
                if c.WhichOneof("msg") == "models_refused":
                    r = c.models_refused
                    say("CONTROL models_refused total", r.total,
                        " | ".join("#%d %r %s" % (m.index, m.id, m.reason) for m in r.models))
                else:
                    say("CONTROL", c.WhichOneof("msg"))
            elif kind == "offer":
                threading.Thread(target=serve_task, args=(pb, stub, msg.offer, args),
                                 daemon=True).start()
        say("STATUS", "OK")
    except grpc.RpcError as e:
        say("STATUS", e.code().name, e.details())
        return 1 if e.code() != grpc.StatusCode.UNAUTHENTICATED else 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
