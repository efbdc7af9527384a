#!/usr/bin/env python3
"""What each piece of the allowlist costs on its own: nginx with routewall's http.conf
loaded, but with `location.conf` replaced by one `if` on one of its variables (so only
that variable's maps run), and nginx with the exact paths as bare `location =` blocks.
With `--layout module`: X identical to A (the noise floor), nginx's 404 page alone (what
any allowlist's denied class pays), the module loaded but off, and the module layout per
request class. Each is measured against A like bench/run.py does (interleaved, CPU per
request).

    cargo build --release && python3 bench/pieces.py [--layout location|module] [--rules 10000] [--rounds 5] [--seconds 3]

This is how README's "what limits it" figures were taken; run.py remains the benchmark.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)

import load  # noqa: E402
import nginxctl  # noqa: E402
import run  # noqa: E402

# (label, request class, http.conf, location.conf): http.conf "GEN" is the generated one and
# "" an empty file; location.conf "GEN" is the generated one, None the bare exact locations
# below instead of the app location, or the text to use.
PIECES = {
    "location": [
        ("location.conf as generated", "dynamic", "GEN", "GEN"),
        ("segment-cutting regex map only", "dynamic", "GEN",
         'if ($routewall_segment = "x") { return 404; }\n'),
        ("exact-path hash lookup only", "dynamic", "GEN",
         'if ($routewall_path_static_key = "x") { return 404; }\n'),
        ("dot-segment check only", "dynamic", "GEN",
         'if ($routewall_canonical = "x") { return 404; }\n'),
        ("exact paths as bare `location =` blocks", "static", "", None),
    ],
    "module": [
        ("nothing: X is A with two empty includes (the noise floor)", "static", "", ""),
        ("nginx's 404 page instead of A's 200, no allowlist", "denied", "", "return 404;\n"),
        ("module and table loaded, check not switched on", "static", "GEN", ""),
        ("module layout as generated", "static", "GEN", "GEN"),
        ("module layout as generated", "dynamic", "GEN", "GEN"),
        ("module layout as generated", "denied", "GEN", "GEN"),
    ],
}


def bare_locations(out_dir, piece_dir):
    """A server whose exact paths are `location = PATH { return 200 "ok"; }` each."""
    keys = []
    with open(os.path.join(out_dir, "http.conf")) as f:
        inside = False
        for line in f:
            if line.startswith("map $uri $routewall_path_static_key"):
                inside = True
            elif inside and line.startswith("}"):
                break
            elif inside and line.startswith('    "'):
                keys.append(line.split('" "', 1)[0].strip() + '"')
    with open(os.path.join(piece_dir, "server.conf"), "w") as f:
        for key in keys:
            f.write(f'location = {key} {{ return 200 "ok"; }}\n')
        f.write("location / { return 404; }\n")
    return len(keys)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rules", type=int, default=10000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=int, default=3)
    p.add_argument("--layout", choices=sorted(PIECES), default="location",
                   help="whose pieces: the default layout's maps, or the nginx module's")
    args = p.parse_args(argv)
    run.ensure_prerequisites()
    layout_args = []
    if args.layout == "module":
        nginxctl.MODULE = run.build_module()
        layout_args = ["--layout", "module", "--nginx-module", nginxctl.MODULE]
    work = tempfile.mkdtemp(prefix="routewall-pieces-")
    try:
        app_dir, rules = run.make_app(args.rules, work)
        lists, _ = run.verified_lists(app_dir, rules)
        luas = run.write_lua_files(lists, app_dir)
        out_dir = os.path.join(app_dir, "out")
        subprocess.run([run.ROUTEWALL, "generate", "--source", "flask", "--app", "app",
                        "--target", "nginx", "--output", out_dir, "--venv", run.VENV,
                        *layout_args],
                       cwd=app_dir, check=True, capture_output=True)
        a = nginxctl.Nginx("A", app_dir)
        a.start()
        print(f"| piece ({args.rules} rules) | requests | CPU ratio X/A, median (min–max) "
              "| nginx µs/req X vs A |")
        print("|---|---|---|---|")
        for i, (label, cls, http, location) in enumerate(PIECES[args.layout]):
            piece_dir = os.path.join(work, f"piece{i}")
            os.makedirs(piece_dir)
            if http == "GEN":
                shutil.copy(os.path.join(out_dir, "http.conf"), piece_dir)
            else:
                open(os.path.join(piece_dir, "http.conf"), "w").close()
            if location is None:
                bare_locations(out_dir, piece_dir)
            else:
                with open(os.path.join(piece_dir, "location.conf"), "w") as f:
                    f.write(open(os.path.join(out_dir, "location.conf")).read()
                            if location == "GEN" else location)
            # X loads the module only when its http.conf holds the module's table.
            nginxctl.LAYOUT = "module" if args.layout == "module" and http == "GEN" else "location"
            x = nginxctl.Nginx(f"X{i}", app_dir, piece_dir)
            if location is None:
                conf = open(x.conf).read()
                start = conf.index("        location / {")
                end = conf.index("        }", start) + len("        }")
                conf = conf[:start] + f"        include {piece_dir}/server.conf;" + conf[end:]
                with open(x.conf, "w") as f:
                    f.write(conf)
            x.start()
            try:
                load.warm_up([a, x], luas[cls])
                block = load.interleave(a, x, luas[cls], args.rounds, args.seconds)
            finally:
                x.stop()
            ratios = block.cpu_ratios()
            print(f"| {label} | {cls} | {statistics.median(ratios):.2f} "
                  f"({min(ratios):.2f}–{max(ratios):.2f}) | "
                  f"{block.us_per_req('X'):.2f} vs {block.us_per_req('A'):.2f} |", flush=True)
        a.stop()
    finally:
        nginxctl.stop_all()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
