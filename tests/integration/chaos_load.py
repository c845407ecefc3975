#!/usr/bin/python3
# chaos_load.py: a bounded, steady load of chat completions against
# tokilake, with every answer classified. Used by route-hung-replica.sh
# and chaos-load.sh.
#
#   chaos_load.py --url http://127.0.0.1:PORT --model lab:qwen3:0.6b
#                 --rate 20 --out FILE [--duration S | --until FILE]
#                 [--stream-ratio 0.5] [--timeout 30] [--max-inflight 400]
#                 [--header "name: value"]...
#
# One new connection per request (its client port names it, so a test can
# tell which tokilake worker held it), started at a steady rate, a mix of
# streamed and non-streamed requests. One JSON line per request in FILE:
#   {"i", "stream", "start_ms", "end_ms", "port", "outcome", "status", "detail"}
# outcome is one of
#   ok      200 and a complete answer (streamed: "data: [DONE]")
#   error   an OpenAI-shaped error: {"error":{...}} with a 4xx/5xx status,
#           or an SSE event carrying "error" once the stream had started
#   cut     the connection closed without a response, or a stream that
#           ended without [DONE] and without an error event, or a body
#           shorter than announced: a silent cut
#   hang    nothing for --timeout seconds
# A summary line "sent N ok N error N cut N hang N" goes to stdout at the end.
import argparse
import http.client
import json
import os
import random
import socket
import sys
import threading
import time


def now_ms():
    return int(time.time() * 1000)


def is_oai_error(obj):
    if not isinstance(obj, dict) or not isinstance(obj.get("error"), dict):
        return False
    e = obj["error"]
    return isinstance(e.get("message"), str) and isinstance(e.get("type"), str)


def one(args, i, stream, host, port, lock, out):
    rec = {"i": i, "stream": stream, "start_ms": now_ms(), "port": 0, "status": 0,
           "outcome": "cut", "detail": ""}
    body = {"model": args.model, "messages": [{"role": "user", "content": "hi %d" % i}]}
    if stream:
        body["stream"] = True
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-Request-Id": "load-%d" % i}
    for h in args.header:
        k, v = h.split(":", 1)
        headers[k.strip()] = v.strip()
    conn = http.client.HTTPConnection(host, port, timeout=args.timeout)
    try:
        conn.connect()
        rec["port"] = conn.sock.getsockname()[1]
        conn.request("POST", "/v1/chat/completions", body=data, headers=headers)
        resp = conn.getresponse()
        rec["status"] = resp.status
        ctype = resp.getheader("content-type", "")
        if resp.status == 200 and ctype.startswith("text/event-stream"):
            done = err = False
            while True:
                line = resp.readline()
                if not line:
                    break
                line = line.strip()
                if line == b"data: [DONE]":
                    done = True
                elif line.startswith(b"data: ") and b'"error"' in line:
                    try:
                        err = is_oai_error(json.loads(line[6:]))
                    except ValueError:
                        pass
                    if err:
                        rec["detail"] = line[6:200].decode("utf-8", "replace")
            rec["outcome"] = "ok" if done else "error" if err else "cut"
            if not done and not err:
                rec["detail"] = "stream ended without [DONE] or an error event"
        else:
            raw = resp.read()
            try:
                obj = json.loads(raw)
            except ValueError:
                obj = None
            if resp.status == 200 and isinstance(obj, dict) and "choices" in obj:
                rec["outcome"] = "ok"
            elif resp.status >= 400 and is_oai_error(obj):
                rec["outcome"] = "error"
                # the code, and the message: it tells a request the dying
                # agentd held from one that waited for the new one
                rec["detail"] = "%s: %s" % (obj["error"].get("code"),
                                            obj["error"]["message"][:120])
            else:
                rec["detail"] = "status %d, unexpected body %r" % (resp.status, raw[:120])
    except socket.timeout:
        rec["outcome"] = "hang"
        rec["detail"] = "nothing for %d s" % args.timeout
    except (http.client.HTTPException, OSError) as e:
        rec["outcome"] = "cut"
        rec["detail"] = "%s: %s" % (type(e).__name__, e)
    finally:
        conn.close()
    rec["end_ms"] = now_ms()
    with lock:
        out.write(json.dumps(rec) + "\n")
        out.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--rate", type=float, default=20)
    ap.add_argument("--duration", type=float, default=0)
    ap.add_argument("--until", default="")
    ap.add_argument("--stream-ratio", type=float, default=0.5)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--max-inflight", type=int, default=400)
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    hostport = args.url.split("//", 1)[1].rstrip("/")
    host, port = hostport.rsplit(":", 1)
    lock = threading.Lock()
    rnd = random.Random(12)
    threads = []
    t0 = time.monotonic()
    i = 0
    with open(args.out, "a") as out:
        while True:
            el = time.monotonic() - t0
            if args.duration and el >= args.duration:
                break
            if args.until and os.path.exists(args.until):
                break
            threads = [t for t in threads if t.is_alive()]
            if len(threads) < args.max_inflight:
                t = threading.Thread(target=one, daemon=True, args=(
                    args, i, rnd.random() < args.stream_ratio, host, int(port), lock, out))
                t.start()
                threads.append(t)
                i += 1
            nxt = t0 + i / args.rate
            d = nxt - time.monotonic()
            if d > 0:
                time.sleep(d)
        for t in threads:
            t.join(args.timeout + 5)
    counts = {"ok": 0, "error": 0, "cut": 0, "hang": 0}
    with open(args.out) as f:
        for line in f:
            counts[json.loads(line)["outcome"]] += 1
    print("sent %d ok %d error %d cut %d hang %d" % (i, counts["ok"], counts["error"],
          counts["cut"], counts["hang"]))


if __name__ == "__main__":
    main()
