#!/usr/bin/python3
"""agent-backend.py: a tiny OpenAI-shaped backend for the tokiame tests.

  GET  /v1/models            {"object":"list","data":[{"id":...}]} from the
                             lines of --models-file, read at every request
                             (the test edits it to make discovery change)
  POST /v1/...               records the request, then streams an SSE answer
                             chunk by chunk (chunked encoding). The JSON body
                             may say "n_chunks" (default 3), "pause_ms"
                             (default 0), "chunk_bytes" (pad each event to about that
                             size), "head_delay_ms" (wait before the head) and "status" (answer that status
                             with a JSON error instead).
  GET  /_requests            the recorded requests (headers, body, and the
                             exact bytes of the answer's body it sent, or
                             their length and SHA-256 past 2 MiB)
  GET  /_aborted             the requests whose client went away mid-answer

Both sides check --api-key (Authorization: Bearer KEY) when given.
"""

import argparse
import hashlib
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

p = argparse.ArgumentParser()
p.add_argument("--port-file", required=True)
p.add_argument("--models-file", required=True)
p.add_argument("--api-key", default="")
ARGS = p.parse_args()

LOCK = threading.Lock()
REQUESTS = []
ABORTED = []


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

    def authorized(self):
        if not ARGS.api_key:
            return True
        if self.headers.get("Authorization") == "Bearer " + ARGS.api_key:
            return True
        self.reply(401, {"error": {"message": "bad backend key", "type": "invalid_request_error",
                                   "param": None, "code": "invalid_api_key"}})
        return False

    def do_GET(self):
        if self.path == "/_requests":
            with LOCK:
                return self.reply(200, REQUESTS)
        if self.path == "/_aborted":
            with LOCK:
                return self.reply(200, ABORTED)
        if self.path != "/v1/models":
            return self.reply(404, {"error": {"message": "no", "type": "invalid_request_error",
                                              "param": None, "code": "not_found"}})
        if not self.authorized():
            return
        try:
            with open(ARGS.models_file) as f:
                ids = [line.strip() for line in f if line.strip()]
        except OSError:
            ids = []
        self.reply(200, {"object": "list",
                         "data": [{"id": i, "object": "model", "owned_by": "mock"} for i in ids]})

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        rec = {"path": self.path, "method": "POST",
               "headers": {k.lower(): v for k, v in self.headers.items()},
               "body": body.decode("latin-1") if len(body) < 65536 else None,
               "body_len": len(body), "body_sha256": hashlib.sha256(body).hexdigest(),
               "sent": "", "t": time.time()}
        with LOCK:
            REQUESTS.append(rec)
        if not self.authorized():
            return
        try:
            req = json.loads(body)
        except ValueError:
            return self.reply(400, {"error": {"message": "bad JSON", "type": "invalid_request_error",
                                              "param": None, "code": None}})
        if req.get("status"):
            return self.reply(int(req["status"]), {"error": {
                "message": "injected", "type": "api_error", "param": None, "code": "injected"}})
        nchunks = int(req.get("n_chunks", 3))
        pause = float(req.get("pause_ms", 0)) / 1000
        if req.get("head_delay_ms"):
            time.sleep(float(req["head_delay_ms"]) / 1000)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("X-Backend", "agent-backend")
        self.end_headers()
        sent = []
        h = hashlib.sha256()
        size = 0
        try:
            pad = "p" * int(req.get("chunk_bytes", 0))
            for i in range(nchunks):
                data = ('data: {"i":%d,"model":"%s"%s}\n\n' % (
                    i, req.get("model", ""), ',"pad":"%s"' % pad if pad else "")).encode()
                self.chunk(data)
                h.update(data)
                size += len(data)
                if size < 2 * 1024 * 1024:
                    sent.append(data)
                if pause:
                    time.sleep(pause)
            data = b"data: [DONE]\n\n"
            self.chunk(data)
            h.update(data)
            size += len(data)
            sent.append(data)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            rec["t_end"] = time.time()
        except (BrokenPipeError, ConnectionResetError):
            with LOCK:
                ABORTED.append({"path": self.path, "chunks_sent": len(sent), "t": time.time()})
            self.close_connection = True
        rec["sent"] = b"".join(sent).decode("latin-1") if size < 2 * 1024 * 1024 else None
        rec["sent_len"] = size
        rec["sent_sha256"] = h.hexdigest()


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
tmp = ARGS.port_file + ".tmp"
with open(tmp, "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(tmp, ARGS.port_file)
srv.serve_forever()
