#!/usr/bin/python3
"""path_rec_backend.py: a backend that records what it receives.

The mock shows only two request headers (Authorization, X-Request-Id); the
hop-by-hop test needs them all. Every POST /v1/... is recorded (path, every
header with its name lower-cased, the body) and answered with a small
chat.completion; GET /_requests returns the records as JSON. Writes its
port to --port-file once it listens on 127.0.0.1.
"""

import argparse
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

p = argparse.ArgumentParser()
p.add_argument("--port-file", required=True)
ARGS = p.parse_args()
LOCK = threading.Lock()
SEEN = []


class H(BaseHTTPRequestHandler):
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
        if self.path == "/_requests":
            with LOCK:
                return self.reply(200, SEEN)
        self.reply(404, {"error": {"message": "no such path", "type": "invalid_request_error",
                                   "param": None, "code": "not_found"}})

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        with LOCK:
            SEEN.append({"path": self.path,
                         "headers": [[k.lower(), v] for k, v in self.headers.items()],
                         "body": body.decode("utf-8", "replace")})
        self.reply(200, {"object": "chat.completion", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "recorded"},
             "finish_reason": "stop"}]})


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
with open(ARGS.port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
srv.serve_forever()
