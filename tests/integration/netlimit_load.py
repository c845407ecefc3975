#!/usr/bin/python3
# netlimit_load.py KEY SECONDS RATE URL...: send RATE chat requests a second
# to each URL (one schedule per URL, requests on a pool of threads so a
# slow answer never delays the next), for SECONDS, all with KEY. Prints one
# line per URL: "<url> sent=N ok=N limited=N other=N", then
# "total sent=N ok=N limited=N other=N".
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

key, seconds, rate = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
urls = sys.argv[4:]
body = json.dumps({"model": "lab:qwen3:0.6b",
                   "messages": [{"role": "user", "content": "hi"}]}).encode()
lock = threading.Lock()
counts = {u: {"sent": 0, "ok": 0, "limited": 0, "other": 0} for u in urls}


def one(url):
    req = urllib.request.Request(url + "/v1/chat/completions", data=body, method="POST",
                                 headers={"Authorization": "Bearer " + key,
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            r.read()
            code = r.status
    except urllib.error.HTTPError as e:
        e.read()
        code = e.code
    except Exception:
        code = 0
    what = "ok" if code == 200 else "limited" if code == 429 else "other"
    with lock:
        counts[url][what] += 1


def schedule(url, pool, start):
    n = 0
    while True:
        at = start + n / rate
        if at - start >= seconds:
            return
        d = at - time.monotonic()
        if d > 0:
            time.sleep(d)
        with lock:
            counts[url]["sent"] += 1
        pool.submit(one, url)
        n += 1


with ThreadPoolExecutor(max_workers=64) as pool:
    start = time.monotonic()
    ts = [threading.Thread(target=schedule, args=(u, pool, start)) for u in urls]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
tot = {"sent": 0, "ok": 0, "limited": 0, "other": 0}
for u in urls:
    c = counts[u]
    print("%s sent=%d ok=%d limited=%d other=%d" % (u, c["sent"], c["ok"], c["limited"],
                                                   c["other"]))
    for k in tot:
        tot[k] += c[k]
print("total sent=%d ok=%d limited=%d other=%d" % (tot["sent"], tot["ok"], tot["limited"],
                                                   tot["other"]))
