#!/usr/bin/env python3
"""routewall hostile-cost benchmark (issue 16): what one crafted request costs nginx.

For each hostile app (bench/hostile_apps.py) and each layout (location, server, tree,
module), runs `routewall generate` and a real nginx (one worker on CPU 0, 127.0.0.1,
allowed requests answered `return 200 "ok"` as bench/run.py's X does), sends crafted
requests of 0.5, 1, 2, 4 and 8 KB built to hit late, to miss late and to reach a
backtracking matcher's limits, and prints per app × layout × class the worst per-request
cost, its ratio to a plain 404 of the same bytes, and how it grows from 1 to 8 KB. Every
verdict (passed or 404) is checked against the app's own Werkzeug router, and nginx's
error.log is scanned for PCRE match-limit failures and for lines that do not start with a
timestamp (a path's `%0A` written into the log). Timings never fail the run.

    cargo build --release && python3 bench/hostile.py      # ~5-10 minutes on 2 vCPUs
    python3 bench/hostile.py --smoke --binary target/debug/routewall   # CI, < 1 minute

Standard library only; the apps are imported with the repository's .venv python.
See bench/README.md, "Hostile requests".
"""

import argparse
import concurrent.futures
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__

import hostile_apps  # noqa: E402
import nginxctl  # noqa: E402

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
VENV = os.path.join(REPO, ".venv")
ROUTEWALL = os.path.join(REPO, "target", "release", "routewall")
MODULE = os.path.join(REPO, "target", "nginx-module", "ngx_http_routewall_module.so")
LAYOUTS = ["location", "server", "tree", "module"]
CLASSES = ["hit", "miss", "limits"]
LENGTHS = [512, 1024, 2048, 4096, 8192]
OVER_MS = 20.0  # a request costing more than this is flagged (issue 16's target)
SUPERLINEAR = 12.0  # growth 1 -> 8 KB above this is flagged (8 = linear)
GROWTH_FLOOR_MS = 0.2  # below this a kind's growth is fixed per-request cost, not matching
REPEAT_UNDER_S = 0.1  # best-of-N only below this: a slower request's noise is < 1 %
# Bounds on the slow shapes, so the full run stays under ~10 minutes. Lengths go up one at
# a time for every kind together: a kind costing more than LONGER_UNDER_S at one length is
# not sent longer, and once an app x layout has spent LAYOUT_BUDGET_S its longer lengths
# are left out (both are listed under the table). A kind is not stopped earlier than that:
# the cost need not grow with the length (PCRE gives up at its match limit, after which a
# longer request can be far cheaper, and answered differently).
LONGER_UNDER_S = 4.0
LAYOUT_BUDGET_S = 75.0

# Why worker CPU time from /proc/PID/schedstat: its first field is the task's
# sum_exec_runtime in nanoseconds, updated each time the task leaves the CPU. nginx's worker
# sleeps in epoll_wait before and after each request, so the difference across one request
# is exactly the CPU it spent on it (reading, matching, answering, logging), to the
# microsecond, and none of the client's or the loopback's scheduling noise. The other two
# candidates are coarser: `$request_time` has millisecond resolution (a plain 404 reads
# 0.000, so no ratio), and the wall time of a keep-alive request carries 30-100 µs of client
# and wake-up jitter, as much as a plain 404 costs (40-100 µs here). The client's wall time
# is recorded alongside (in --json) as a cross-check.
CONF = """\
{load}worker_processes 1;
worker_cpu_affinity 01;
daemon off;
master_process on;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 600s;
    # The 8 KB requests: nginx's default (4 8k) would answer 414 to a request line over 8 KB.
    large_client_header_buffers 4 16k;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
{http_include}
    server {{
        listen 127.0.0.1:{port};
{server}
    }}
}}
"""


def server_block(layout, out):
    """The server's body: routewall's files placed as README says, answering `ok`."""
    ok = '            return 200 "ok";\n'
    if layout is None:  # the baseline: a plain 404 for every path
        return "        location / { return 404; }"
    if layout == "tree":
        with open(os.path.join(out, "pass.conf"), "w") as f:
            f.write('return 200 "ok";\n')
        return f"        include {out}/tree.conf;"
    if layout == "server":
        # The server layout lets the paths of nginx's own locations through (it reads this
        # file with --nginx-conf): `proxy_pass` marks `/` as the app's location, and
        # `return` (rewrite phase) answers before it would run, as in the other layouts.
        return (f"        include {out}/server.conf;\n        location / {{\n{ok}"
                "            proxy_pass http://127.0.0.1:9;\n        }")
    return f"        location / {{\n            include {out}/location.conf;\n{ok}        }}"


class Nginx(nginxctl.Nginx):
    """bench/nginxctl's instance (start, stop, stop_all on exit) with this benchmark's
    config: a larger request-line buffer and the error log at `info`, so that whatever
    the module or PCRE logs about a request is seen."""

    def __init__(self, name, workdir, layout=None, out=None):
        super().__init__(name, workdir)
        with open(self.conf, "w") as f:
            f.write(CONF.format(
                load=f"load_module {MODULE};\n" if layout == "module" else "",
                prefix=self.prefix, port=self.port,
                http_include=f"    include {out}/http.conf;" if out else "",
                server=server_block(layout, out)))
        self.sock = None

    def restart(self):
        self.close()
        self.stop()
        self.worker_pid = None
        self.start()

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None


# ---------------------------------------------------------------- one request, measured

def _stat_state(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    return text[text.rfind(")") + 2]


def _cpu_ns(pid):
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def _idle_cpu_ns(pid):
    """The worker's CPU time once it is back asleep (a running task's counter is stale)."""
    deadline = time.monotonic() + 5
    while _stat_state(pid) == "R" and time.monotonic() < deadline:
        pass
    return _cpu_ns(pid)


def _read_response(sock):
    """(status, keep_alive) of one HTTP/1.1 response, body read."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed before the response")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers.get("connection", "").lower() != "close"


@dataclass
class Sample:
    status: int  # 0: timed out
    cpu_ms: float
    wall_ms: float


def send(inst, target, timeout):
    """One GET over inst's keep-alive connection: (status, worker CPU ms, wall ms). On a
    timeout the instance is restarted (its worker may be stuck for minutes)."""
    request = b"GET " + target.encode("latin-1") + b" HTTP/1.1\r\nHost: localhost\r\n\r\n"
    for attempt in range(2):
        if inst.sock is None:
            inst.sock = socket.create_connection(("127.0.0.1", inst.port), timeout=10)
            inst.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        inst.sock.settimeout(timeout)
        before = _idle_cpu_ns(inst.worker_pid)
        t0 = time.perf_counter()
        try:
            inst.sock.sendall(request)
            status, keep = _read_response(inst.sock)
        except socket.timeout:
            log(f"  nginx {inst.name}: no answer within {timeout:.0f} s; restarting it")
            inst.restart()
            return Sample(0, timeout * 1000, timeout * 1000)
        except (ConnectionError, OSError):
            inst.close()  # a keep-alive connection nginx closed: once more on a new one
            if attempt:
                raise
            continue
        wall = time.perf_counter() - t0
        cpu = _idle_cpu_ns(inst.worker_pid) - before
        if not keep:
            inst.close()
        return Sample(status, cpu / 1e6, wall * 1000)


# ---------------------------------------------------------------- apps, oracle, generation

@dataclass
class Request:
    kind: str
    cls: str
    length: int
    target: str
    truth: str = "?"  # "app", "404", or "?" (Werkzeug gave no answer)
    truth_note: str = ""  # how the truth was obtained when not asked directly
    werkzeug_ms: float = 0.0
    werkzeug_gave_up: bool = False


def requests_for(app, lengths):
    return [Request(kind, cls, n, hostile_apps.build(head, unit, tail, n))
            for kind, (cls, head, unit, tail) in app.kinds.items() for n in lengths]


def ask_werkzeug(app_dir, reqs, budget):
    """Each request's truth from the app's own router (bench/hostile_oracle.py). Where
    Werkzeug ran out of its budget, the longest answered length of the same kind lends its
    verdict (the kinds repeat one unit, so their verdict does not depend on the length),
    marked as such."""
    r = subprocess.run([f"{VENV}/bin/python", os.path.join(BENCH, "hostile_oracle.py"),
                        str(budget)], input=json.dumps([[q.kind, q.target] for q in reqs]),
                       cwd=app_dir, capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        raise RuntimeError(f"hostile_oracle.py failed:\n{r.stderr[-3000:]}")
    log(f"{os.path.basename(app_dir)}: Werkzeug's verdicts are in ({len(reqs)} requests)")
    answered = {}
    for q, (verdict, seconds) in zip(reqs, json.loads(r.stdout)):
        q.werkzeug_ms = seconds * 1000
        q.werkzeug_gave_up = verdict == "timeout"
        if verdict in ("app", "404"):
            q.truth = verdict
            answered.setdefault(q.kind, []).append((q.length, verdict))
        else:
            q.truth_note = verdict
    for q in reqs:
        if q.truth == "?" and answered.get(q.kind):
            verdicts = {v for _, v in answered[q.kind]}
            if len(verdicts) == 1:
                length, q.truth = max(answered[q.kind])
                q.truth_note = f"Werkzeug {q.truth_note} past {length} B; its verdict carried over"


def generate(routewall, app_dir, out, layout, pass_file, nginx_conf):
    """routewall generate for one layout (with its own nginx -t): (True, "") or (False,
    routewall's reason). The server layout reads the nginx config it goes into, for the
    server's own locations (here none besides the app's)."""
    args = {"location": [], "server": ["--layout", "server", "--nginx-conf", nginx_conf],
            "tree": ["--layout", "tree", "--pass", pass_file],
            "module": ["--layout", "module", "--nginx-module", MODULE]}[layout]
    cmd = [routewall, "generate", "--source", "flask", "--app", "app", "--target", "nginx",
           "--output", out, "--venv", VENV, "--server-binary", nginxctl.NGINX, *args]
    r = subprocess.run(cmd, cwd=app_dir, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        lines = [l for l in r.stderr.strip().splitlines() if l.strip()]
        return False, (lines[-1] if lines else f"exit {r.returncode}")[:300]
    return True, ""


# ---------------------------------------------------------------- error.log

TIMESTAMP = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[")
PCRE_FAIL = re.compile(r"pcre2?_(?:match|exec)\(\) failed|match limit|recursion limit|depth limit",
                       re.I)
LEVEL = re.compile(r"\[(warn|error|crit|alert|emerg)\]")


def scan_log(path):
    """(PCRE failure lines, lines without a timestamp, other warn-or-worse lines)."""
    pcre, forged, other = [], [], []
    try:
        with open(path, "rb") as f:
            text = f.read().decode("latin-1")
    except FileNotFoundError:
        return pcre, forged, other
    for line in text.split("\n"):
        if not line:
            continue
        if not TIMESTAMP.match(line):
            forged.append(line)
        elif PCRE_FAIL.search(line):
            pcre.append(line)
        elif LEVEL.search(line):
            other.append(line)
    return pcre, forged, other


def short(line, n=110):
    s = repr(line)[1:-1]
    return s if len(s) <= n else s[:n - 25] + " … " + s[-22:]


# ---------------------------------------------------------------- one app × layout

@dataclass
class Result:
    app: str
    layout: str
    skipped: str = ""  # the reason, when the layout did not run
    samples: dict = field(default_factory=dict)  # (kind, length) -> dict
    stopped: dict = field(default_factory=dict)  # kind -> reason longer lengths were not sent
    mismatches: list = field(default_factory=list)
    unverified: list = field(default_factory=list)
    log_pcre: list = field(default_factory=list)
    log_forged: list = field(default_factory=list)
    log_other: list = field(default_factory=list)
    broken: str = ""


def measure_layout(res, reqs, x, base, s):
    started = time.monotonic()
    stopped = set()
    for length in sorted({q.length for q in reqs}):
        for q in (q for q in reqs if q.length == length and q.kind not in stopped):
            if time.monotonic() - started > LAYOUT_BUDGET_S:
                stopped.add(q.kind)
                res.stopped[q.kind] = (f"this app x layout's {LAYOUT_BUDGET_S:.0f} s were "
                                       f"spent: {length} B and longer not sent")
                continue
            xs, bs = [], []
            for i in range(s.repeats):
                xs.append(send(x, q.target, s.timeout))
                bs.append(send(base, q.target, s.timeout))
                if xs[-1].cpu_ms >= REPEAT_UNDER_S * 1000:
                    break
            best = min(xs, key=lambda v: v.cpu_ms)
            plain = min(bs, key=lambda v: v.cpu_ms)
            res.samples[(q.kind, length)] = {
                "kind": q.kind, "class": q.cls, "length": length, "bytes": len(q.target),
                "target": q.target, "status": xs[0].status, "cpu_ms": best.cpu_ms,
                "wall_ms": best.wall_ms, "plain404_ms": plain.cpu_ms,
                "samples_ms": [v.cpu_ms for v in xs]}
            if any(b.status != 404 for b in bs):
                res.broken = (f"the plain-404 nginx answered {bs[0].status} for {q.kind} "
                              f"at {length} B")
            if best.cpu_ms >= LONGER_UNDER_S * 1000 and length != max(s.lengths):
                stopped.add(q.kind)
                res.stopped[q.kind] = (f"{best.cpu_ms / 1000:.1f} s at {length} B: longer "
                                       "ones not sent")


def check_verdicts(res, reqs):
    """Each answer nginx gave against Werkzeug's verdict (asked while nginx was measured)."""
    for q in reqs:
        v = res.samples.get((q.kind, q.length))
        if v is not None:
            v.update(truth=q.truth, truth_note=q.truth_note, werkzeug_ms=q.werkzeug_ms)
            check_verdict(res, q, v["status"])


def check_verdict(res, q, status):
    """Records a wrong answer as (kind, length, what nginx did, what Werkzeug says, how
    Werkzeug's verdict was had, target)."""
    got = {200: "passed", 404: "404"}.get(status, f"status {status}" if status else "timeout")
    if q.truth == "?":
        res.unverified.append((q.kind, q.length, got, "no verdict", q.truth_note, q.target))
    elif got != {"app": "passed", "404": "404"}[q.truth]:
        want = "the app answers" if q.truth == "app" else "404"
        res.mismatches.append((q.kind, q.length, got, want, q.truth_note, q.target))


def grouped(res, entries):
    """One line per app x layout x kind x answer pair, listing the lengths."""
    groups = {}
    for kind, length, got, want, note, target in entries:
        g = groups.setdefault((kind, got, want), {"lengths": [], "carried": 0, "target": target})
        g["lengths"].append(length)
        g["carried"] += bool(note)
    lines = []
    for (kind, got, want), g in groups.items():
        carried = (f"; {g['carried']} verdict(s) carried over from shorter ones"
                   if g["carried"] else "")
        lengths = ", ".join(map(str, g["lengths"]))
        lines.append(f"- {res.app} / {res.layout}: {kind} at {lengths} B: "
                     f"nginx {got}, Werkzeug: {want}{carried} (e.g. `{short(g['target'], 60)}`)")
    return lines


def run_layout(app, app_dir, layout, reqs, base, routewall, s, workdir):
    res = Result(app.name, layout)
    if layout == "module" and not os.path.exists(MODULE):
        res.skipped = f"{MODULE} not built (nginx-module/build.sh)"
        return res
    out = os.path.join(workdir, f"{app.name}-{layout}")
    os.makedirs(out)
    x = Nginx(f"{app.name}-{layout}", workdir, layout, out)  # writes its nginx.conf
    t0 = time.monotonic()
    ok, why = generate(routewall, app_dir, out, layout, os.path.join(out, "pass.conf"), x.conf)
    if not ok:
        res.skipped = f"routewall generate refused it: {why}"
        return res
    log(f"{app.name} / {layout}: generated in {time.monotonic() - t0:.1f} s; measuring")
    try:
        try:
            x.start()
        except RuntimeError as exc:
            res.broken = f"nginx did not start with the generated files: {str(exc)[-300:]}"
            return res
        measure_layout(res, reqs, x, base, s)
    except (OSError, ConnectionError, ValueError, IndexError) as exc:
        res.broken = f"{type(exc).__name__}: {exc}"
    finally:
        x.close()
        x.stop()
    res.log_pcre, res.log_forged, res.log_other = scan_log(x.error_log)
    return res


# ---------------------------------------------------------------- report

def growth(points):
    """(factor from 1 KB to 8 KB, estimated?) from {length: ms}: measured when both are
    there, else extrapolated from the exponent between 1 KB (or the shortest) and the
    longest measured length."""
    if 1024 in points and 8192 in points:
        return points[8192] / points[1024], False
    ls = sorted(points)
    hi = ls[-1]
    lo = 1024 if 1024 in points and hi > 1024 else ls[0]
    if hi <= lo or points[lo] <= 0:
        return None, False
    k = math.log(points[hi] / points[lo]) / math.log(hi / lo)
    return 8 ** k, True


def class_row(res, cls, lengths):
    rows = [v for v in res.samples.values() if v["class"] == cls]
    if not rows:
        return None
    worst = max(rows, key=lambda v: v["cpu_ms"])
    per_len = {n: max((v["cpu_ms"] for v in rows if v["length"] == n), default=None)
               for n in lengths}
    g_best = (None, False, "")
    for kind in sorted({v["kind"] for v in rows}):
        pts = {v["length"]: v["cpu_ms"] for v in rows if v["kind"] == kind}
        if max(pts.values()) < GROWTH_FLOOR_MS:
            continue
        g, est = growth(pts)
        if g is not None and (g_best[0] is None or g > g_best[0]):
            g_best = (g, est, kind)
    over = sum(v["cpu_ms"] > OVER_MS for v in rows)
    return {"worst": worst, "per_len": per_len, "growth": g_best, "over": over,
            "ratio": worst["cpu_ms"] / worst["plain404_ms"] if worst["plain404_ms"] else None,
            "stopped": [f"{k}: {why}" for k, why in res.stopped.items()
                        if any(v["kind"] == k for v in rows)]}


def fmt_ms(ms):
    """ms with about two significant digits; seconds as `3.1 s`."""
    if ms is None:
        return "–"
    if ms >= 1000:
        return f"{ms / 1000:.1f} s"
    if ms >= 10:
        return f"{ms:.0f}"
    if ms >= 1:
        return f"{ms:.1f}"
    return f"{ms:.2f}"


def ratio(x):
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}"


def render(results, apps, lengths, info):
    out = ["# routewall hostile-cost benchmark", "",
           f"{info['date']}; {info['binary']}; module: {info['module']}; nginx {info['nginx']}; "
           f"{info['cpus']} CPUs, load {info['load']}; "
           f"lengths {', '.join(str(n) for n in lengths)} B; "
           f"best of {info['repeats']}; {info['duration']:.0f} s.", "",
           "Cost = nginx worker CPU per request (ms, /proc/PID/schedstat), best of the repeats; "
           "×404 = that ÷ a plain `return 404` nginx given the same bytes; growth = cost at "
           "8 KB ÷ at 1 KB for the kind that grows most (8 = linear; ~ = extrapolated from "
           "the lengths sent). Flags: `>20ms` requests over 20 ms, `superlinear` growth "
           f"> {SUPERLINEAR:.0f}.", ""]
    head = ("| app | layout | class | worst ms (kind, length) | ×404 | "
            + " | ".join(f"{n / 1024:g} KB" for n in lengths) + " | growth 1→8 KB | flags |")
    out += [head, "|" + "---|" * (head.count("|") - 1)]
    notes = []
    for res in results:
        if res.skipped or (res.broken and not res.samples):
            why = f"skipped: {res.skipped}" if res.skipped else f"BROKEN: {res.broken}"
            notes.append(f"- {res.app} / {res.layout}: {why}")
            continue
        for cls in CLASSES:
            row = class_row(res, cls, lengths)
            if row is None:
                continue
            w = row["worst"]
            g, est, gkind = row["growth"]
            flags = []
            if row["over"]:
                flags.append(f"**>20ms ×{row['over']}**")
            if g is not None and g > SUPERLINEAR:
                flags.append("**superlinear**")
            if row["stopped"]:
                flags.append("stopped early")
            gtxt = "–" if g is None else f"{'~' if est else ''}{g:.2g} ({gkind})"
            out.append(f"| {res.app} | {res.layout} | {cls} | {fmt_ms(w['cpu_ms'])} ({w['kind']}, "
                       f"{w['length']}) | {ratio(w['cpu_ms'] / w['plain404_ms'])} | "
                       + " | ".join(fmt_ms(row["per_len"][n]) for n in lengths)
                       + f" | {gtxt} | {' '.join(flags)} |")
            for st in row["stopped"]:
                notes.append(f"- {res.app} / {res.layout}: {st}")
        if res.broken:
            notes.append(f"- {res.app} / {res.layout}: BROKEN: {res.broken}")
    out.append("")
    if notes:
        out += ["Skipped and stopped:", ""] + notes + [""]
    out += ["Werkzeug itself (the app's own router, for the same requests; the cost the app "
            "pays for what nginx passes):", ""]
    for app, reqs in apps:
        worst = max(reqs, key=lambda q: q.werkzeug_ms)
        unit = "" if worst.werkzeug_ms >= 1000 else " ms"
        unknown = sum(q.truth_note.startswith("Werkzeug") for q in reqs)
        none = sum(q.truth == "?" for q in reqs)
        over = " (its budget: given up)" if worst.werkzeug_gave_up else ""
        out.append(f"- {app.name} ({app.about}): worst {fmt_ms(worst.werkzeug_ms)}{unit}{over} "
                   f"({worst.kind}, {worst.length} B)"
                   + (f"; {unknown} verdict(s) carried over from shorter lengths (over the "
                      f"oracle's budget)" if unknown else "")
                   + (f"; {none} without a verdict" if none else ""))
    out.append("")
    mism = sum(len(r.mismatches) for r in results)
    out += [f"Verdict mismatches (nginx vs Werkzeug): {mism} requests", ""]
    out += [line for r in results for line in grouped(r, r.mismatches)]
    unverified = sum(len(r.unverified) for r in results)
    if unverified:
        out += ["", f"Verdicts not checked (Werkzeug ran out of its budget at every length of "
                f"the kind): {unverified} requests", ""]
        out += [line for r in results for line in grouped(r, r.unverified)]
    out.append("")
    logs = [(r, "PCRE failure", l) for r in results for l in r.log_pcre] + \
           [(r, "no timestamp (injected?)", l) for r in results for l in r.log_forged]
    out += [f"error.log problems: {len(logs)} lines", ""]
    shown = {}
    for r, what, line in logs:
        key = (r.app, r.layout, what)
        shown[key] = shown.get(key, 0) + 1
        if shown[key] <= 2:
            out.append(f"- {r.app} / {r.layout}, {what}: `{short(line)}`")
    for key, n in shown.items():
        if n > 2:
            out.append(f"- {key[0]} / {key[1]}, {key[2]}: … {n - 2} more such line(s)")
    other = {}
    for r in results:
        for line in r.log_other:
            # the message without time, pid and connection number, cut before the path
            msg = re.sub(r"^\S+ \S+ (\[\w+\]) \d+#\d+: (?:\*\d+ )?", r"\1 ", line)[:90]
            other.setdefault((r.app, r.layout, msg), []).append(line)
    if other:
        out += ["", f"Other warn-or-worse error.log lines (not counted): "
                f"{sum(len(v) for v in other.values())}", ""]
        out += [f"- {app} / {layout}, {len(lines)} x: `{short(lines[0])}`"
                for (app, layout, _), lines in list(other.items())[:12]]
    out.append("")
    return "\n".join(out), mism, len(logs)


# ---------------------------------------------------------------- driver

@dataclass
class Settings:
    lengths: list
    repeats: int
    timeout: float  # per request
    oracle_budget: float  # seconds of Werkzeug matching per request


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def on_sigterm(signum, frame):
    raise SystemExit(f"hostile: stopped by signal {signum}")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true",
                   help="CI: one small app, 1 KB, one sample; fails on a broken run or a "
                        "verdict mismatch, never on timings")
    p.add_argument("--binary", help="routewall binary (default target/release/routewall)")
    p.add_argument("--module", help=f"the nginx module .so (default {MODULE}; the module "
                                    "layout is skipped when it is not there)")
    p.add_argument("--apps", nargs="+", help="only these apps (development)")
    p.add_argument("--layouts", nargs="+", choices=LAYOUTS, help="only these layouts")
    p.add_argument("--lengths", nargs="+", type=int, help="request lengths in bytes")
    p.add_argument("--repeats", type=int, help="samples per request (best of; default 3)")
    p.add_argument("--json", help="also write every measurement to this file")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    return p.parse_args(argv)


def check_prerequisites(routewall):
    missing = [what for what, ok in [
        (f"nginx at {nginxctl.NGINX} (scripts/setup.sh)", os.access(nginxctl.NGINX, os.X_OK)),
        (f"{VENV}/bin/python with Flask (scripts/setup.sh)",
         os.access(f"{VENV}/bin/python", os.X_OK)),
        (f"{routewall} (cargo build --release)", os.access(routewall, os.X_OK)),
        ("/proc/self/schedstat", os.path.exists("/proc/self/schedstat")),
    ] if not ok]
    if missing:
        sys.exit("hostile: missing " + "; ".join(missing))


def main(argv):
    global ROUTEWALL, MODULE
    args = parse_args(argv)
    ROUTEWALL = os.path.abspath(args.binary) if args.binary else ROUTEWALL
    MODULE = os.path.abspath(args.module) if args.module else MODULE
    check_prerequisites(ROUTEWALL)
    if args.smoke:
        s = Settings(lengths=[1024], repeats=1, timeout=20, oracle_budget=5)
    else:
        s = Settings(lengths=LENGTHS, repeats=3, timeout=30, oracle_budget=4)
    s.lengths = args.lengths or s.lengths
    s.repeats = args.repeats or s.repeats
    apps = hostile_apps.apps(smoke=args.smoke)
    if args.apps:
        apps = [a for a in apps if a.name in args.apps]
    layouts = args.layouts or LAYOUTS
    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if len(os.sched_getaffinity(0)) >= 2:
        os.sched_setaffinity(0, {1})  # nginx's worker has CPU 0 (worker_cpu_affinity 01)
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="routewall-hostile-")
    results, app_reqs = [], []
    oracle = None
    try:
        # A private copy: a `cargo build` elsewhere must not swap the binary mid-run.
        routewall = shutil.copy2(ROUTEWALL, os.path.join(workdir, "routewall"))
        oracle = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        base = Nginx("plain404", workdir)
        base.start()
        for app in apps:
            app_dir = os.path.join(workdir, app.name)
            os.makedirs(app_dir)
            with open(os.path.join(app_dir, "app.py"), "w") as f:
                f.write(app.render())
            reqs = requests_for(app, s.lengths)
            app_reqs.append((app, reqs))
            # Werkzeug judges on CPU 1 while nginx is measured on CPU 0 (its verdicts are
            # needed only afterwards, and its time is not what is measured).
            verdicts = oracle.submit(ask_werkzeug, app_dir, reqs, s.oracle_budget)
            app_results = []
            for layout in layouts:
                res = run_layout(app, app_dir, layout, reqs, base, routewall, s, workdir)
                if res.skipped:
                    log(f"{app.name} / {layout}: skipped: {res.skipped}")
                    if args.smoke and res.skipped.startswith("routewall generate"):
                        # the smoke app suits every layout: a refusal is a regression
                        res.broken = res.skipped
                if res.broken:
                    log(f"{app.name} / {layout}: BROKEN: {res.broken}")
                app_results.append(res)
            verdicts.result()
            for res in app_results:
                check_verdicts(res, reqs)
            results += app_results
        base.close()
    finally:
        nginxctl.stop_all()
        if oracle:
            oracle.shutdown(cancel_futures=True)
        if args.keep:
            log(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    info = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "nginx": nginxctl.version(),
            "binary": binary_note(ROUTEWALL), "module": module_note(),
            "cpus": os.cpu_count(),
            "load": ", ".join(f"{v:.2f}" for v in os.getloadavg()),
            "repeats": s.repeats, "duration": time.monotonic() - started}
    text, n_mism, n_log = render(results, app_reqs, s.lengths, info)
    print(text)
    over = sum(v["cpu_ms"] > OVER_MS for r in results for v in r.samples.values())
    broken = [r for r in results if r.broken]
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"info": info, "results": [
                {"app": r.app, "layout": r.layout, "skipped": r.skipped, "broken": r.broken,
                 "samples": list(r.samples.values()), "stopped": r.stopped,
                 "mismatches": r.mismatches, "unverified": r.unverified, "log_pcre": r.log_pcre,
                 "log_forged": r.log_forged, "log_other": r.log_other} for r in results]},
                f, indent=1)
    print(f"hostile: {over} requests over {OVER_MS:.0f} ms, {n_mism} verdict mismatches, "
          f"{n_log} error.log problems" + (f", {len(broken)} broken run(s)" if broken else ""))
    if broken:
        return 1
    if args.smoke and n_mism:
        return 1
    return 0


def binary_note(path):
    built = time.strftime("%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(path)))
    head = subprocess.run(["git", "-C", REPO, "log", "-1", "--format=%h"], capture_output=True,
                          text=True).stdout.strip()
    return f"{os.path.relpath(path, REPO)} built {built} (HEAD {head})"


def module_note():
    if not os.path.exists(MODULE):
        return "not built"
    built = time.strftime("%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(MODULE)))
    return f"built {built}"


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit("hostile: interrupted")
