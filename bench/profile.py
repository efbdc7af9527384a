#!/usr/bin/env python3
"""Where nginx's worker spends its CPU with routewall's output, per request class: `perf
record -e cpu-clock` samples of X's worker under wrk load, summed by library and by the
allowlist's own functions.

    cargo build --release && python3 bench/profile.py [--layout module|location|tree] [--rules 10000] [--pcre-jit]

Why: on a shared VM the CPU ratio of run.py moves by ±0.1 between runs (even for two
identical nginx, see pieces.py), while the share of samples in the allowlist's functions
and in PCRE is stable to a few tenths of a per cent. Shares are of X's worker CPU, so a
share s costs about s of the throughput. Needs `perf` (Debian: linux-perf) and software
events (no hardware counters needed).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)

import load  # noqa: E402
import nginxctl  # noqa: E402
import run  # noqa: E402

# Samples in these symbols are the allowlist's own work (PCRE: every regex X runs is the
# allowlist's, as A runs none).
OWN = ("routewall", "pcre2", "[JIT]")


def report(data, sort):
    out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", sort,
                          "--stdio", "-g", "none"], capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and parts[0].endswith("%"):
            rows.append((float(parts[0][:-1]), parts[1].strip()))
    return rows


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layout", choices=["location", "tree", "module"], default="module")
    p.add_argument("--rules", type=int, default=10000)
    p.add_argument("--seconds", type=int, default=8)
    p.add_argument("--pcre-jit", action="store_true")
    args = p.parse_args(argv)
    if shutil.which("perf") is None:
        sys.exit("profile: needs perf (apt-get install linux-perf)")
    run.ensure_prerequisites()
    nginxctl.PCRE_JIT = args.pcre_jit
    nginxctl.LAYOUT = args.layout
    work = tempfile.mkdtemp(prefix="routewall-profile-")
    try:
        app_dir, rules = run.make_app(args.rules, work)
        lists, _ = run.verified_lists(app_dir, rules)
        luas = run.write_lua_files(lists, app_dir)
        out_dir = os.path.join(app_dir, "out")
        layout_args = ["--layout", args.layout]
        if args.layout == "module":
            nginxctl.MODULE = run.build_module()
            layout_args += ["--nginx-module", nginxctl.MODULE]
        elif args.layout == "tree":
            layout_args += ["--pass", nginxctl.pass_file(out_dir)]
        subprocess.run([run.ROUTEWALL, "generate", "--source", "flask", "--app", "app",
                        "--target", "nginx", "--output", out_dir, "--venv", run.VENV,
                        *layout_args], cwd=app_dir, check=True, capture_output=True)
        x = nginxctl.Nginx("X", app_dir, out_dir)
        x.start()
        print(f"`python3 bench/profile.py {' '.join(argv)}`: {args.rules} rules, "
              f"--layout {args.layout}, master RSS {x.master_rss_mb():.1f} MB\n")
        print("| requests | allowlist's share of worker CPU | of which PCRE | top symbols of the allowlist |")
        print("|---|---|---|---|")
        for cls in ["static", "dynamic", "denied"]:
            load_thread = threading.Thread(target=load.run_wrk,
                                           args=(x.url(), luas[cls], args.seconds + 3))
            load_thread.start()
            time.sleep(1)
            data = os.path.join(work, f"{cls}.data")
            subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-p", str(x.worker_pid),
                            "-o", data, "--", "sleep", str(args.seconds)], check=True)
            load_thread.join()
            own = [(pct, name) for pct, name in report(data, "dso,sym")
                   if any(k in name for k in OWN)]
            total = sum(pct for pct, _ in own)
            pcre = sum(pct for pct, name in own if "pcre2" in name or "[JIT]" in name)
            top = ", ".join(f"{name.split()[-1]} {pct:.1f} %" for pct, name in own[:3])
            print(f"| {cls} | {total:.1f} % | {pcre:.1f} % | {top} |", flush=True)
        x.stop()
    finally:
        nginxctl.stop_all()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
