#!/usr/bin/python3
"""queue_load.py: a greedy key and a polite key share one saturated model.

usage: queue_load.py API_URL MODEL GREEDY_KEY POLITE_KEY SERVICE_MS N_GREEDY N_POLITE

The greedy key sends N_GREEDY requests at once; half a service time
later the polite key sends N_POLITE requests one after the other. Every
request is a chat completion whose backend (the mock) takes SERVICE_MS
before its answer (x-mock-fail: slow-first-byte). Prints one JSON object:
the polite latencies (ms), the greedy statuses and latencies, and how
many answers' body length (as the mock saw it) differs from what was sent
(less the namespace the worker takes off the model).
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse

api, model, greedy_key, polite_key = sys.argv[1:5]
service_ms, n_greedy, n_polite = (int(x) for x in sys.argv[5:8])
u = urllib.parse.urlparse(api)
bad_len = 0
lock = threading.Lock()


def one(key, i):
    """One request; (status, latency ms, error code or None)."""
    global bad_len
    body = json.dumps({"model": model, "messages": [
        {"role": "user", "content": "request %s %d %s" % (key[:12], i, "x" * (i % 50))}]})
    t0 = time.monotonic()
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    try:
        c.request("POST", "/v1/chat/completions", body=body, headers={
            "Authorization": "Bearer " + key, "Content-Type": "application/json",
            "x-mock-fail": "slow-first-byte:%d" % service_ms})
        r = c.getresponse()
        data = r.read()
        ms = (time.monotonic() - t0) * 1000
        code = None
        try:
            j = json.loads(data)
            if r.status == 200:
                text = j["choices"][0]["message"]["content"]
                # the worker sends the backend the model without "lab:"
                want = len(body.encode()) - len(model) + len(model.split(":", 1)[1])
                if ("len=%d " % want) not in text:
                    with lock:
                        bad_len += 1
                        sys.stderr.write("length %d expected: %s\n" % (want, text))
            else:
                code = j["error"]["code"]
        except (ValueError, KeyError, IndexError, TypeError):
            code = "not-json"
        return r.status, ms, code
    except OSError as e:
        return 0, (time.monotonic() - t0) * 1000, "client: %s" % e
    finally:
        c.close()


greedy = [None] * n_greedy


def run_greedy(i):
    greedy[i] = one(greedy_key, i)


threads = [threading.Thread(target=run_greedy, args=(i,)) for i in range(n_greedy)]
t_start = time.monotonic()
for t in threads:
    t.start()
time.sleep(service_ms / 2000)
polite = [one(polite_key, i) for i in range(n_polite)]
polite_done = (time.monotonic() - t_start) * 1000
for t in threads:
    t.join()
print(json.dumps({
    "polite_ms": [round(p[1]) for p in polite],
    "polite_status": [p[0] for p in polite],
    "polite_codes": [p[2] for p in polite],
    "polite_done_ms": round(polite_done),
    "greedy_status": [g[0] for g in greedy],
    "greedy_codes": sorted(set(str(g[2]) for g in greedy if g[0] != 200)),
    "greedy_ms": sorted(round(g[1]) for g in greedy),
    "bad_len": bad_len,
}))
