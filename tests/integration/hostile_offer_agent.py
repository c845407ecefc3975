#!/usr/bin/python3
"""hostile_offer_agent.py: grpc_agent.py (the python3-grpcio agent) that
also prints, for every task offer, the request header names the server
sent it: "HEADERS <task id> <name>,<name>,...". It shows what reaches an
agent before the agent's own filtering (tokiame drops credentials again
before its backend). Same arguments as grpc_agent.py.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grpc_agent  # noqa: E402

_serve_task = grpc_agent.serve_task


def serve_task(pb, stub, offer, args):
    grpc_agent.say("HEADERS", offer.task_id, ",".join(h.name.lower() for h in offer.headers))
    return _serve_task(pb, stub, offer, args)


grpc_agent.serve_task = serve_task

if __name__ == "__main__":
    sys.exit(grpc_agent.main())
