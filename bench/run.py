#!/usr/bin/env python3
"""routewall benchmark: what the generated NGINX allowlist costs, as ratios to the same nginx
without it. `python3 bench/run.py` (full, ~10 min), `--smoke` (CI, < 1 min), `--write` to
also save bench/results.md. See bench/README.md for what each number means.

Standard library only; Flask apps are imported with the repository's .venv python.
"""

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__ from the imports below

import checks
import gen_app
import load
import nginxctl
import reqlists
import report
import timing

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
VENV = os.path.join(REPO, ".venv")
REALAPPS_VENV = os.path.join(REPO, ".venv-realapps")
# The large real app whose generation time is measured too (issue 6).
REAL_APP = "mlflow-server"
ROUTEWALL = os.path.join(REPO, "target", "release", "routewall")
CLASSES = ["static", "dynamic", "denied"]


@dataclass
class Settings:
    smoke: bool
    sizes: list
    rounds: int  # X runs per block; A runs = rounds + 1
    seconds: int  # per wrk run
    t_runs: int  # nginx -t samples per variant
    gen_runs: int  # generate / import samples each
    validated_runs: int


def settings(args):
    if args.smoke:
        s = Settings(smoke=True, sizes=[100, 1000], rounds=1, seconds=1, t_runs=3,
                     gen_runs=1, validated_runs=1)
    else:
        s = Settings(smoke=False, sizes=[100, 1000, 10000], rounds=5, seconds=4, t_runs=10,
                     gen_runs=5, validated_runs=3)
    if args.sizes:
        s.sizes = args.sizes
    s.rounds = args.rounds or s.rounds
    s.seconds = args.seconds or s.seconds
    return s


# ---------------------------------------------------------------- prerequisites

def ensure_prerequisites():
    """Installs wrk if missing (the only thing this script installs); everything else has
    its own setup step, named in the error."""
    if shutil.which("wrk") is None:
        print("bench: installing wrk with apt-get", file=sys.stderr)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env,
                       timeout=600, stdout=subprocess.DEVNULL)
    missing = [what for what, ok in [
        (f"nginx at {nginxctl.NGINX} (run scripts/setup.sh)", os.access(nginxctl.NGINX, os.X_OK)),
        (f"{VENV}/bin/python with Flask (run scripts/setup.sh)", os.access(f"{VENV}/bin/python", os.X_OK)),
        (f"{ROUTEWALL} (run `cargo build --release --locked`)", os.access(ROUTEWALL, os.X_OK)),
        ("taskset (util-linux)", shutil.which("taskset") is not None),
    ] if not ok]
    if missing:
        sys.exit("bench: missing " + "; ".join(missing))
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("bench: needs 2 CPUs (nginx on CPU 0, wrk on CPU 1)")


def build_module():
    """routewall's nginx module, built by nginx-module/build.sh for the nginx installed here
    (into the work tree's target/, like the binary)."""
    out = os.path.join(REPO, "target", "nginx-module")
    log("building the nginx module (nginx-module/build.sh)")
    subprocess.run([os.path.join(REPO, "nginx-module", "build.sh"), out], check=True,
                   stdout=subprocess.DEVNULL)
    return os.path.join(out, "ngx_http_routewall_module.so")


def machine_info(s, argv):
    def output(cmd):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        return (r.stdout or r.stderr).strip()

    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                  if l.startswith("model name")), "unknown")
    flask = output([f"{VENV}/bin/python", "-c",
                    "import importlib.metadata as m, platform; "
                    "print(m.version('flask'), m.version('werkzeug'), platform.python_version())"])
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "pcre_jit": nginxctl.PCRE_JIT,
        "layout": nginxctl.LAYOUT,
        "nproc": output(["nproc"]),
        "cpu": model,
        "kernel": os.uname().release,
        "load": os.getloadavg(),
        "nginx": nginxctl.version(),
        "routewall": output([ROUTEWALL, "--version"]).splitlines()[0],
        "binary": binary_provenance(output),
        "flask": flask,
        "command": "python3 bench/run.py" + "".join(f" {a}" for a in argv),
        "settings": s,
    }


def binary_provenance(output):
    """Which build was measured: the binary's mtime and hash next to the commit and whether
    the sources (outside bench/) had uncommitted changes, as someone may be editing them."""
    built = time.strftime("%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(ROUTEWALL)))
    with open(ROUTEWALL, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    head = output(["git", "-C", REPO, "log", "-1", "--format=%h %cd", "--date=format:%Y-%m-%d %H:%M"])
    dirty = [l for l in output(["git", "-C", REPO, "status", "--porcelain"]).splitlines()
             if not l[3:].startswith("bench/")]
    state = f", {len(dirty)} uncommitted change(s) outside bench/" if dirty else ", clean tree"
    return f"target/release/routewall built {built} (sha256 {digest}…); HEAD {head}{state}"


# ---------------------------------------------------------------- one app size

def make_app(n, workdir):
    """Writes app{n}/app.py; returns (dir, rules)."""
    app_dir = os.path.join(workdir, f"app{n}")
    os.makedirs(app_dir)
    rules = gen_app.build_rules(n)
    with open(os.path.join(app_dir, "app.py"), "w") as f:
        f.write(gen_app.render_app(rules))
    return app_dir, rules


def verified_lists(app_dir, rules):
    """Request lists whose classes the app's own router confirmed."""
    proposed = reqlists.candidates(rules)
    r = subprocess.run([f"{VENV}/bin/python", os.path.join(BENCH, "check_paths.py")],
                       input=json.dumps(proposed), cwd=app_dir, capture_output=True,
                       text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"check_paths.py failed:\n{r.stderr[-3000:]}")
    result = json.loads(r.stdout)
    return reqlists.build_lists(result["paths"]), result["dropped"]


def routewall_summary(out_dir):
    """The counts line routewall writes at the top of http.conf (tree.conf in the tree layout)."""
    name = "tree.conf" if nginxctl.LAYOUT == "tree" else "http.conf"
    with open(os.path.join(out_dir, name)) as f:
        for line in f:
            if "rules ->" in line:
                return line.split("->", 1)[1].strip().rstrip(".")
    return "?"


def write_lua_files(lists, app_dir):
    files = {}
    for cls in ["mix"] + CLASSES:
        files[cls] = os.path.join(app_dir, f"{cls}.lua")
        load.write_lua(files[cls], lists[cls])
    return files


def measure_servers(a, x, lists, app_dir, s, per_class):
    """With A and X running: memory, answers, then the interleaved throughput blocks."""
    res = {"rss": {i.name: (i.master_rss_mb(), i.worker_rss_mb()) for i in (a, x)}}
    res["problems"], res["n_allowed"], res["n_denied"] = checks.http_answers(a, x, lists)
    lua_files = write_lua_files(lists, app_dir)
    classes = ["mix"] + (CLASSES if per_class else [])
    log(f"throughput, {', '.join(classes)}: {s.rounds} round(s) x {s.seconds} s per variant")
    load.warm_up([a, x], lua_files["mix"])
    res["blocks"] = {cls: load.interleave(a, x, lua_files[cls], s.rounds, s.seconds)
                     for cls in classes}
    for cls, block in res["blocks"].items():
        res["problems"] += checks.wrk_counts(cls, block, denied_share(cls, lists))
    res["core0_other"] = {cls: b.core0_other_share() for cls, b in res["blocks"].items()}
    return res


def layout_args(out_dir):
    if nginxctl.LAYOUT == "tree":
        return ["--layout", "tree", "--pass", nginxctl.pass_file(out_dir)]
    if nginxctl.LAYOUT == "module":
        return ["--layout", "module", "--nginx-module", nginxctl.MODULE]
    return []


def bench_real_app(s, workdir, routewall):
    """Generation time for REAL_APP (tests/realapps), installed by `scripts/setup.sh
    --with-realapps`; None, with a line saying so, when it is not installed."""
    with open(os.path.join(REPO, "tests", "realapps", "apps.json")) as f:
        spec = next(a for a in json.load(f) if a["name"] == REAL_APP)
    if not os.path.exists(os.path.join(REALAPPS_VENV, "bin", "python")):
        log(f"{REAL_APP}: not installed (scripts/setup.sh --with-realapps); its generation time is left out")
        return None
    log(f"{REAL_APP}: timing routewall generate vs import")
    out_dir = os.path.join(workdir, REAL_APP)
    os.makedirs(out_dir)
    times, _ = timing.generation(routewall, REALAPPS_VENV, nginxctl.NGINX,
                                 os.path.join(REPO, spec["dir"]), out_dir, s.gen_runs,
                                 s.validated_runs, layout_args(out_dir), app=spec["app"],
                                 env=dict(os.environ, **spec["env"]))
    return {"name": f"{REAL_APP} ({spec['rules']} rules, real)", "gen": times}


def bench_size(n, s, workdir, routewall, per_class):
    log(f"N={n}: generating the app and its request lists")
    app_dir, rules = make_app(n, workdir)
    lists, dropped = verified_lists(app_dir, rules)
    res = {"n": n, "rules": rules, "dropped": dropped, "lists": lists}

    log(f"N={n}: timing routewall generate vs import")
    out_dir = os.path.join(app_dir, "out")
    res["gen"], gen_stderr = timing.generation(routewall, VENV, nginxctl.NGINX, app_dir,
                                               out_dir, s.gen_runs, s.validated_runs,
                                               layout_args(out_dir))
    res["summary"] = routewall_summary(out_dir)

    a, x = nginxctl.Nginx("A", app_dir), nginxctl.Nginx("X", app_dir, out_dir)
    log(f"N={n}: nginx -t")
    res["nginx_t"], t_out = timing.nginx_t([x, a], s.t_runs)
    try:
        a.start()
        x.start()
        res.update(measure_servers(a, x, lists, app_dir, s, per_class))
        res["warnings"] = checks.nginx_warnings({
            "routewall generate's nginx -t": gen_stderr, "nginx -t of A": t_out["A"],
            "nginx -t of X": t_out["X"], "error.log of A": a.log_text(),
            "error.log of X": x.log_text()})
    finally:
        x.stop()
        a.stop()
    return res


def denied_share(cls, lists):
    if cls == "mix":
        denied = set(lists["denied"])
        return sum(p in denied for p in lists["mix"]) / len(lists["mix"])
    return 1.0 if cls == "denied" else 0.0


# ---------------------------------------------------------------- driver

def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def on_sigterm(signum, frame):
    # Turn SIGTERM into an exception so the `finally` blocks stop every nginx.
    raise SystemExit(f"bench: stopped by signal {signum}")


def parse_args(argv):
    p = argparse.ArgumentParser(description="routewall NGINX allowlist benchmark")
    p.add_argument("--smoke", action="store_true",
                   help="CI mode: 100 and 1,000 rules, 1 round of 1 s; fails on wrong answers")
    p.add_argument("--write", action="store_true", help="also write bench/results.md")
    p.add_argument("--sizes", type=int, nargs="+", help="rule counts (development)")
    p.add_argument("--rounds", type=int, help="X runs per block (development)")
    p.add_argument("--seconds", type=int, help="seconds per wrk run (development)")
    p.add_argument("--keep", action="store_true", help="keep the work directory (apps, configs)")
    p.add_argument("--layout", choices=["location", "tree", "module"], default="location",
                   help="routewall's nginx layout to measure (default: location, routewall's default)")
    p.add_argument("--pcre-jit", action="store_true",
                   help="run both nginx instances with `pcre_jit on;` (main context)")
    p.add_argument("--binary", help="routewall binary to measure (default: target/release/routewall;"
                   " CI's smoke run uses the debug build the tests made)")
    return p.parse_args(argv)


def main(argv):
    global ROUTEWALL
    args = parse_args(argv)
    if args.binary:
        ROUTEWALL = os.path.abspath(args.binary)
    nginxctl.PCRE_JIT = args.pcre_jit
    nginxctl.LAYOUT = args.layout
    if args.layout == "module":
        nginxctl.MODULE = build_module()
    s = settings(args)
    ensure_prerequisites()
    signal.signal(signal.SIGTERM, on_sigterm)
    # Ctrl-C must reach the `finally` even when started from a shell that ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    info = machine_info(s, argv)
    workdir = tempfile.mkdtemp(prefix="routewall-bench-")
    started = time.monotonic()
    try:
        # A private copy: a `cargo build` elsewhere must not swap the binary mid-run.
        routewall = shutil.copy2(ROUTEWALL, os.path.join(workdir, "routewall"))
        results = [bench_size(n, s, workdir, routewall, per_class=(n == max(s.sizes)))
                   for n in s.sizes]
        real = None if s.smoke else bench_real_app(s, workdir, routewall)
    finally:
        nginxctl.stop_all()
        if args.keep:
            log(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    info["duration_s"] = time.monotonic() - started
    info["load_end"] = os.getloadavg()
    text = report.render(info, results, real)
    print(text)
    if args.write:
        with open(os.path.join(BENCH, "results.md"), "w") as f:
            f.write(text)
        log("wrote bench/results.md")
    problems = [p for r in results for p in r["problems"]]
    # Timing never fails the run; wrong answers do (in every mode), since then the numbers
    # would not describe an allowlist at all.
    return 1 if problems else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:  # nginx is already stopped by main's `finally`
        sys.exit("bench: interrupted")
