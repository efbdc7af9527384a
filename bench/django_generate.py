#!/usr/bin/env python3
"""What `routewall generate --source django` costs against Django's own start-up: best-of-N
wall time of `routewall generate` ÷ that of a bare `django.setup()` + reading the URLconf,
in the same venv and directory, measured in one session (run.py's "generate ÷ import" for
the Django source).

By default it times the largest real Django project of tests/realapps/django (allauth:
448 URL patterns, `.venv-realapps-django`, made by `scripts/setup.sh --with-realapps`):

    python3 bench/django_generate.py [--runs 5] [--binary target/release/routewall]

or any project, e.g. the fixture project with the test venv:

    python3 bench/django_generate.py --settings mysite.settings \\
        --app-dir tests/fixtures/django --venv .venv

How (as bench/timing.py times the Flask apps): one unrecorded run of each command first
(Python writes the .pyc files, the page cache fills), then N runs of each, interleaved (bare,
generate, bare, generate...) so that a job starting halfway hits both alike. The commands:

* generate: `routewall generate --source django --app SETTINGS --target nginx --output DIR
  --venv VENV --no-validate` (nginx -t left out: it is nginx's cost, not the reading's);
* bare: `VENV/bin/python -c "import django; django.setup(); from django.urls import
  get_resolver; get_resolver().url_patterns ..."` with DJANGO_SETTINGS_MODULE=SETTINGS, which
  also walks every included resolver's url_patterns (what routewall reads; include() has
  imported the modules already, so this costs little) and ends with os._exit(0): routewall
  never tears its embedded interpreter down, and a plain exit's atexit handlers and module
  teardown would flatter it (bench/timing.py, import_snippet).

Both run from APP_DIR with VIRTUAL_ENV unset. Prints each command's best and median wall
and CPU (user+sys) time and the ratios generate ÷ bare; exit status 1 if a command fails.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
import timing  # noqa: E402  (run_timed, Timed: the Flask generation timing's helpers)

# The largest real Django project (tests/realapps/django), its settings and venv.
PROJECT = "allauth"
DEFAULT_SETTINGS = f"{PROJECT}_site.settings"
DEFAULT_APP_DIR = os.path.join(REPO, "tests", "realapps", "django", PROJECT)
DEFAULT_VENV = os.path.join(REPO, ".venv-realapps-django")
ROUTEWALL = os.path.join(REPO, "target", "release", "routewall")

BARE = (
    "import os, django; django.setup(); from django.urls import get_resolver\n"
    "def walk(patterns):\n"
    "    for p in patterns:\n"
    "        if hasattr(p, 'url_patterns'): walk(p.url_patterns)\n"
    "walk(get_resolver().url_patterns)\n"
    "os._exit(0)\n"
)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--settings", default=DEFAULT_SETTINGS,
                    help=f"settings module (default {DEFAULT_SETTINGS})")
    ap.add_argument("--app-dir", default=DEFAULT_APP_DIR,
                    help="the project directory both commands run from "
                         "(default tests/realapps/django/allauth)")
    ap.add_argument("--venv", default=DEFAULT_VENV,
                    help="the project's venv (default .venv-realapps-django)")
    ap.add_argument("--binary", default=ROUTEWALL,
                    help="routewall binary to measure (default target/release/routewall; "
                         "run `cargo build --release --locked`)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs of each (default 5)")
    return ap.parse_args(argv)


def fmt(samples):
    return f"best {min(samples):.3f} s, median {statistics.median(samples):.3f} s"


def main(argv=None):
    args = parse_args(argv)
    venv, app_dir = os.path.abspath(args.venv), os.path.abspath(args.app_dir)
    python = os.path.join(venv, "bin", "python")
    for path, what in ((python, "the venv's python"), (args.binary, "routewall")):
        if not os.path.exists(path):
            print(f"django_generate.py: no {what} at {path} (scripts/setup.sh "
                  "--with-realapps; cargo build --release --locked)", file=sys.stderr)
            return 1
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    bare_env = dict(env, DJANGO_SETTINGS_MODULE=args.settings)
    with tempfile.TemporaryDirectory(prefix="routewall-djbench-") as work:
        # A private copy, as run.py makes: a `cargo build` elsewhere must not swap the
        # binary mid-run.
        routewall = shutil.copy2(args.binary, os.path.join(work, "routewall"))
        sources = subprocess.run([routewall, "plugins", "list"], capture_output=True,
                                 text=True).stdout
        if not any(line.split()[:2] == ["source", "django"] for line in sources.splitlines()):
            print(f"django_generate.py: {args.binary} has no django source (built before it "
                  "was added? cargo build --release --locked)", file=sys.stderr)
            return 1
        commands = {
            "bare": ([python, "-c", BARE], bare_env),
            "generate": ([routewall, "generate", "--source", "django", "--app",
                          args.settings, "--target", "nginx", "--output",
                          os.path.join(work, "allowlist"), "--venv", venv, "--no-validate"],
                         env),
        }
        try:
            for cmd, cmd_env in commands.values():  # unrecorded: .pyc files, page cache
                timing.run_timed(cmd, app_dir, timing.Timed(), env=cmd_env)
            times = {name: timing.Timed() for name in commands}
            for _ in range(args.runs):
                for name, (cmd, cmd_env) in commands.items():
                    timing.run_timed(cmd, app_dir, times[name], env=cmd_env)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            print(f"django_generate.py: {exc}", file=sys.stderr)
            return 1
    bare, gen = times["bare"], times["generate"]
    print(f"project: {args.settings} in {os.path.relpath(app_dir, REPO)}, venv "
          f"{os.path.relpath(venv, REPO)}, {os.path.abspath(args.binary)}, "
          f"{args.runs} runs each")
    print(f"bare django.setup() + URLconf: wall {fmt(bare.wall)}; cpu {fmt(bare.cpu)}")
    print(f"routewall generate:            wall {fmt(gen.wall)}; cpu {fmt(gen.cpu)}")
    print(f"generate / bare: {min(gen.wall) / min(bare.wall):.2f} (best wall), "
          f"{statistics.median(gen.wall) / statistics.median(bare.wall):.2f} (median wall), "
          f"{statistics.median(gen.cpu) / statistics.median(bare.cpu):.2f} (median cpu)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
