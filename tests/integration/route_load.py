#!/usr/bin/python3
# route_load.py: N chat completions through tokilake, C at a time, and a
# count of their answers. Used by the route-*.sh tests.
#
#   route_load.py --url http://127.0.0.1:PORT --model lab:qwen3:0.6b
#                 [-n 200] [-c 8] [--stream] [--timeout 30]
#
# Prints one JSON line: {"sent": N, "codes": {"200": n, ...},
# "bad": [first few non-200 answers]}. A streamed answer counts as 200
# only when it is complete (ends with "data: [DONE]"); else "cut".
import argparse
import http.client
import json
import threading
import urllib.parse

p = argparse.ArgumentParser()
p.add_argument("--url", required=True)
p.add_argument("--model", required=True)
p.add_argument("-n", type=int, default=200)
p.add_argument("-c", type=int, default=8)
p.add_argument("--stream", action="store_true")
p.add_argument("--timeout", type=float, default=30)
a = p.parse_args()
u = urllib.parse.urlparse(a.url)
body = json.dumps({"model": a.model, "messages": [{"role": "user", "content": "hi"}],
                   "stream": a.stream}).encode()
lock = threading.Lock()
codes = {}
bad = []
left = [a.n]


def one():
    try:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=a.timeout)
        c.request("POST", "/v1/chat/completions", body, {"content-type": "application/json"})
        r = c.getresponse()
        data = r.read()
        code = str(r.status)
        if r.status == 200 and a.stream and not data.rstrip().endswith(b"data: [DONE]"):
            code = "cut"
        c.close()
    except Exception as e:  # a failure is a result here
        code, data = "exc", repr(e).encode()
    with lock:
        codes[code] = codes.get(code, 0) + 1
        if code != "200" and len(bad) < 5:
            bad.append(code + " " + data[:300].decode("utf-8", "replace"))


def worker():
    while True:
        with lock:
            if left[0] == 0:
                return
            left[0] -= 1
        one()


ts = [threading.Thread(target=worker) for _ in range(a.c)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(json.dumps({"sent": a.n, "codes": codes, "bad": bad}))
