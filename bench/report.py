#!/usr/bin/python3
"""report.py DIR: turn the raw files bench/run leaves in DIR into the
markdown report (stdout): machine, per-load tables, streams, cancels,
agents, the issue's goals, problems seen.

Raw files (tab-separated):
  runs.tsv    load conns round target requests duration_us p50_us p99_us
              errors sut_cpu_ticks max_us
  streams.tsv target status first_event_us total_us events start_us
              (and "target WALL wall_us sut_cpu_ticks")
  cancel.tsv  target request_id close_unix_us abort_at_ms(-1: none) status
  agents.tsv  k linked failed ms rss0_kib rss1_kib agentd_ticks dropped
"""
import os
import statistics
import sys

D = sys.argv[1]
NAMES = {"a": "a direct", "b": "b nginx proxy", "c": "c two nginx",
         "d": "d tokilake TLS", "e": "e tokilake h2c", "m": "direct to mock"}


def rows(name):
    p = os.path.join(D, name)
    if not os.path.exists(p):
        return []
    with open(p) as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def pct(xs, p):
    """Nearest-rank percentile."""
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


def fmt(x, nd=0):
    if x != x:          # nan
        return "–"
    return "%.*f" % (nd, x)


meta = {}
with open(os.path.join(D, "meta")) as f:
    for line in f:
        k, _, v = line.rstrip("\n").partition("=")
        meta[k] = v
tick_us = 1e6 / float(meta.get("clk_tck", 100))
loaded = float(meta["load_start"].split()[0]) > 2 or float(meta["load_end"].split()[0]) > 2
out = []
w = out.append

w("# tokilake bench: %s, commit %s%s" % (meta["date"], meta["commit"],
                                          " (BENCH_QUICK smoke test)" if meta["quick"] == "1" else ""))
w("")
w("- machine: %s CPUs, %s, kernel %s" % (meta["nproc"], meta["cpu"], meta["kernel"]))
w("- nginx %s, %s" % (meta["nginx"], meta["wrk"]))
w("- API key: %s" % {"": "none (tokilake with no keys configured, no Authorization header)",
                     "1": "one on every request of every target (BENCH_KEY=1: tokilake checks it)",
                     "limits": "one on every request, with rpm, tpm and in-flight limits too high "
                               "to refuse (BENCH_KEY=limits: checked, limited, usage charged)"}
  .get(meta.get("key", ""), meta.get("key", "")))
if meta.get("parts", "load streams cancel agents") != "load streams cancel agents":
    w("- parts run: %s (BENCH_PARTS)" % meta["parts"])
w("- load average at start %s, at the end %s%s" % (
    meta["load_start"], meta["load_end"],
    " — **taken on a loaded machine (other jobs running): treat the numbers as rough**" if loaded else ""))
w("- %s s per run, %s round(s), rounds interleaved (a b c d e a b c d e …); "
  "wrk -t1 with bench/wrk-chat.lua" % (meta["seconds"], meta["rounds"]))
w("- pinning: wrk and the nginx backend on cpu0, the system under test on cpu1; "
  "1-connection loads: everything on cpu0")
w("")
w("Targets:")
for t in "abcde":
    if meta.get("desc_" + t):
        w("- **%s**: %s" % (t, meta["desc_" + t]))
w("")
w("CPU/req: utime+stime of the system under test from /proc/PID/stat "
  "(c: both nginx workers; d, e: every tokilake process and tokiame) over the "
  "requests completed; for a it is the nginx backend worker alone (reference). "
  "Resolution: one clock tick (%d µs) per run." % tick_us)
w("")

# ---- loads ------------------------------------------------------------------
runs = rows("runs.tsv")
agg = {}        # (load, conns, target) -> dict of lists
for r in runs:
    load, c, rnd, t = r[0], int(r[1]), r[2], r[3]
    req, dur, p50, p99, err, ticks = int(r[4]), int(r[5]), int(r[6]), int(r[7]), int(r[8]), int(r[9])
    a = agg.setdefault((load, c, t), {"rps": [], "p50": [], "p99": [], "err": 0, "cpu": []})
    a["rps"].append(req * 1e6 / dur if dur else 0)
    a["p50"].append(p50)
    a["p99"].append(p99)
    a["err"] += err
    if req:
        a["cpu"].append(ticks * tick_us / req)

goals = []


def m(load, c, t, key):
    a = agg.get((load, c, t))
    return median(a[key]) if a else float("nan")


if runs:
    loads = []
    for r in runs:
        k = (r[0], int(r[1]))
        if k not in loads:
            loads.append(k)
    loads.sort(key=lambda k: (k[0] != "plain", k[1]))
    for load, c in loads:
        w("## %s, %d connection%s" % ("non-streaming" if load == "plain" else
                                       "streaming (8 SSE events)", c, "" if c == 1 else "s"))
        w("")
        w("| target | RPS median (min–max) | p50 µs | p99 µs | errors | CPU/req µs |")
        w("|---|---|---|---|---|---|")
        for t in "abcde":
            a = agg.get((load, c, t))
            if not a:
                continue
            w("| %s | %s (%s–%s) | %s | %s | %s | %s |" % (
                NAMES[t], fmt(median(a["rps"])), fmt(min(a["rps"])), fmt(max(a["rps"])),
                fmt(median(a["p50"])), fmt(median(a["p99"])),
                ("**%d**" % a["err"]) if a["err"] else "0",
                fmt(median(a["cpu"]), 1)))
        w("")
        for t in "de":
            if (load, c, t) not in agg:
                continue
            parts = []
            for o in "abc":
                if (load, c, o) in agg:
                    parts.append("%s/%s = %.2f" % (t, o, m(load, c, t, "rps") / m(load, c, o, "rps")))
            if (load, c, "a") in agg:
                parts.append("added p50 %s − a = %+.0f µs" % (t, m(load, c, t, "p50") - m(load, c, "a", "p50")))
                parts.append("added p99 = %+.0f µs" % (m(load, c, t, "p99") - m(load, c, "a", "p99")))
            if (load, c, "b") in agg and m(load, c, "b", "cpu") > 0:
                parts.append("CPU/req %s ÷ b = %.2f" % (t, m(load, c, t, "cpu") / m(load, c, "b", "cpu")))
            w("- %s" % "; ".join(parts))
        w("")
        errs = sum(agg[(load, c, t)]["err"] for t in "abcde" if (load, c, t) in agg)
        if errs:
            w("**ERRORS in this load: %d (must be 0)**" % errs)
            w("")

    # CPU and context switches by process
    split = rows("split.tsv")
    sp = {}         # (load, conns, target, role) -> ([µs/req], [switches/req])
    for r in split:
        load, c, rnd, t, role, ticks, req = r[0], int(r[1]), r[2], r[3], r[4], int(r[5]), int(r[6])
        cs = int(r[7]) if len(r) > 7 else 0
        if req:
            e = sp.setdefault((load, c, t, role), ([], []))
            e[0].append(ticks * tick_us / req)
            e[1].append(cs / float(req))
    if sp:
        w("## Per process: CPU µs and context switches per request (medians over rounds)")
        w("")
        w("Context switches (voluntary + involuntary, /proc/PID/task/*/status) count the "
          "sleeps and wake-ups a request costs; on this VM each one is expensive "
          "(kernel time in finish_task_switch).")
        w("")
        w("| load | conns | target | per process: µs CPU / switches | total switches/req |")
        w("|---|---|---|---|---|")
        order = ["worker", "agentd", "tokiame", "master", "nginx", "nginx-front", "nginx-mid", "other"]
        for load, c in loads:
            for t in "abcde":
                roles = [ro for ro in order if (load, c, t, ro) in sp]
                if not roles:
                    continue
                cells = []
                tot = 0.0
                for ro in roles:
                    us, cs = sp[(load, c, t, ro)]
                    tot += median(cs)
                    cells.append("%s %s / %.1f" % (ro, fmt(median(us), 1), median(cs)))
                w("| %s | %d | %s | %s | %.1f |" % (load, c, NAMES[t], "; ".join(cells), tot))
        w("")
        w("(a: the backend worker; with a %d µs tick and %s s runs, small CPU shares are coarse)" % (
            tick_us, meta["seconds"]))
        w("")

    # goals of issue 5
    for t in "de":
        if ("plain", 32, t) in agg and ("plain", 32, "b") in agg:
            v = m("plain", 32, t, "rps") / m("plain", 32, "b", "rps")
            goals.append(("non-streaming 32 conns: RPS %s/b ≥ 0.5" % t, "%.2f" % v, v >= 0.5))
            v = m("plain", 32, t, "cpu") / m("plain", 32, "b", "cpu")
            goals.append(("CPU/req %s ≤ 2.5 × b (non-streaming, 32 conns)" % t, "%.2f×" % v, v <= 2.5))
        if ("plain", 1, t) in agg and ("plain", 1, "a") in agg:
            v = m("plain", 1, t, "p50") - m("plain", 1, "a", "p50")
            goals.append(("added p50 %s − a ≤ 120 µs (1 conn, one core)" % t, "%.0f µs" % v, v <= 120))
            v = m("plain", 1, t, "p99") - m("plain", 1, "a", "p99")
            goals.append(("added p99 %s − a ≤ 500 µs (1 conn, one core)" % t,
                          "%+.0f µs (%s p99 %.0f µs, a p99 %.0f µs%s)" % (
                              v, t, m("plain", 1, t, "p99"), m("plain", 1, "a", "p99"),
                              "; a's p99 above 500 µs: noise" if m("plain", 1, "a", "p99") > 500 else ""),
                          v <= 500))
        if ("stream", 1, t) in agg and ("stream", 1, "a") in agg:
            v = m("stream", 1, t, "p50") - m("stream", 1, "a", "p50")
            goals.append(("streaming: whole 8-event stream adds ≤ 150 µs at p50 (%s, 1 conn)" % t,
                          "%.0f µs" % v, v <= 150))
    bad = sum(a["err"] for a in agg.values())
    goals.append(("errors in every load = 0", str(bad), bad == 0))
    pf = os.path.join(D, "problems")
    stalls = sum(1 for line in open(pf) if line.startswith("STALL")) if os.path.exists(pf) else 0
    goals.append(("no stall: d and e answer after every run (else restarted, see Problems)",
                  "%d stall(s)" % stalls, stalls == 0))

# ---- streams at scale -----------------------------------------------------------
srows = rows("streams.tsv")
if srows:
    w("## %s concurrent streams, %s events each, %s ms apart (mock paces them)" % (
        meta["nstreams"], meta["nevents"], meta["pause_ms"]))
    w("")
    w("Client: bench/streamload.c (epoll, one thread, cpu0, with the mock); "
      "first event = time from connect to the first `data:` line; "
      "events/s = all events received ÷ wall time of the run.")
    w("")
    w("| target | ok streams | first event p50 / p99 / max ms | total p50 / max s | "
      "slowest ÷ median | events/s | SUT CPU/event µs |")
    w("|---|---|---|---|---|---|---|")
    nev = int(meta["nevents"])
    for t in "mde":
        ss = [r for r in srows if r[0] == t and r[1] != "WALL"]
        wall = [r for r in srows if r[0] == t and r[1] == "WALL"]
        if not ss or not wall:
            continue
        ok = [r for r in ss if r[1] == "200" and int(r[4]) >= nev]
        first = [int(r[2]) / 1000.0 for r in ok if int(r[2]) >= 0]
        total = [int(r[3]) / 1e6 for r in ok]
        events = sum(int(r[4]) for r in ss)
        wall_s = int(wall[0][2]) / 1e6
        cpu = int(wall[0][3]) * tick_us
        ratio = max(total) / median(total) if total else float("nan")
        w("| %s | %d/%d | %s / %s / %s | %s / %s | %.2f | %s | %s |" % (
            NAMES[t], len(ok), len(ss), fmt(median(first), 1), fmt(pct(first, 99), 1),
            fmt(max(first) if first else float("nan"), 1), fmt(median(total), 2),
            fmt(max(total) if total else float("nan"), 2), ratio,
            fmt(events / wall_s if wall_s else 0), fmt(cpu / events, 1) if events else "–"))
        if t != "m":
            goals.append(("%d streams: slowest ≤ 2 × median total time (%s)" % (len(ss), t),
                          "%.2f" % ratio, ratio <= 2 and len(ok) == len(ss)))
    w("")
    w("CPU/event: for the tokilake rows every tokilake process and tokiame, for the direct row the mock itself (reference).")
    ssp = rows("streams_split.tsv")
    if ssp:
        w("")
        w("CPU (ms) and context switches by process over the run: " + "; ".join(
            "%s %s %.0f ms, %s switches" % (NAMES[r[0]], r[1], int(r[2]) * tick_us / 1000,
                                           r[3] if len(r) > 3 else "?")
            for r in sorted(ssp) if r[0] != "m" and r[1] != "master"))
    w("")

# ---- cancel latency --------------------------------------------------------------
crows = rows("cancel.tsv")
if crows:
    w("## Cancel latency: client close() → the backend sees its connection close")
    w("")
    w("The mock records the abort in whole milliseconds (unix ms), so each value is "
      "an upper bound: (at_ms + 1) ms − the client's close time (µs).")
    w("")
    w("| target | cancels | recorded | median ms | p99 ms | max ms |")
    w("|---|---|---|---|---|---|")
    for t in "mde":
        cs = [r for r in crows if r[0] == t]
        if not cs:
            continue
        lat = [((int(r[3]) + 1) * 1000 - int(r[2])) / 1000.0 for r in cs if int(r[3]) >= 0 and int(r[2]) > 0]
        w("| %s | %d | %d | %s | %s | %s |" % (NAMES[t], len(cs), len(lat), fmt(median(lat), 1),
                                               fmt(pct(lat, 99), 1), fmt(max(lat) if lat else float("nan"), 1)))
        if t != "m":
            p99 = pct(lat, 99)
            goals.append(("cancel reaches the backend ≤ 100 ms at p99 (%s)" % t,
                          "%s ms, %d/%d recorded" % (fmt(p99, 1), len(lat), len(cs)),
                          p99 <= 100 and len(lat) == len(cs)))
    w("")

# ---- agents ------------------------------------------------------------------------
arows = rows("agents.tsv")
if arows:
    w("## Idle agents linked to one agentd (h2c, bench/idle_agents.py)")
    w("")
    w("| K | linked | failed | time to link all | agentd VmRSS before → after | RSS per agent | agentd CPU | dropped while idle (6 s, PINGs) |")
    w("|---|---|---|---|---|---|---|---|")
    for r in arows:
        k, linked, failed, ms, rss0, rss1, ticks, dropped = (int(x) for x in r)
        per = (rss1 - rss0) / float(k)
        w("| %d | %d | %d | %.2f s | %d → %d KiB | %.1f KiB | %.0f ms | %d |" % (
            k, linked, failed, ms / 1000.0, rss0, rss1, per, ticks * tick_us / 1000, dropped))
        goals.append(("≤ 32 KiB agentd RSS per idle agent (K=%d)" % k, "%.1f KiB" % per, per <= 32))
        goals.append(("K=%d idle agents linked, none dropped" % k, "%d/%d, %d dropped" % (linked, k, dropped),
                      linked == k and dropped == 0))
    w("")

# ---- goals, problems ----------------------------------------------------------------
if goals:
    w("## Issue 5 goals")
    w("")
    w("| goal | measured | |")
    w("|---|---|---|")
    for g, v, ok in goals:
        w("| %s | %s | %s |" % (g, v, "met" if ok else "**not met**"))
    w("")

probs = open(os.path.join(D, "problems")).read().strip() if os.path.exists(os.path.join(D, "problems")) else ""
warn = open(os.path.join(D, "warnings")).read().rstrip() if os.path.exists(os.path.join(D, "warnings")) else ""
if probs or warn:
    w("## Problems seen during the run")
    w("")
    for line in probs.splitlines():
        w("- " + line)
    if warn:
        w("")
        w("Warnings and errors in the tokilake/tokiame logs (count, message with numbers as N):")
        w("")
        w("```")
        w(warn)
        w("```")
    w("")
w("Reproduce: `bench/run` (full) or `BENCH_QUICK=1 bench/run`; see bench/README.md.")
print("\n".join(out))
