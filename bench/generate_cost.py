"""What reading an app costs, for the Python sources' generation benchmarks
(django_generate.py, starlette_generate.py): best-of-N wall time of `routewall generate`
÷ that of a bare start-up of the same app in the same venv and directory, measured in one
session.

How (as timing.py times the Flask apps): one unrecorded run of each command first (Python
writes the .pyc files, the page cache fills), then N runs of each, interleaved (bare,
generate, bare, generate...) so that a job starting halfway hits both alike. generate runs
with `--no-validate` (nginx -t is nginx's cost, not the reading's); both run from the app's
directory with VIRTUAL_ENV unset. The bare command ends with os._exit(0): routewall never
tears its embedded interpreter down, and a plain exit's atexit handlers and module teardown
would flatter it (timing.py, import_snippet).
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile

import timing  # run_timed, Timed: the Flask generation timing's helpers


ROUTEWALL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         "target", "release", "routewall")


def add_common_arguments(ap, app_dir, venv):
    """--app-dir, --venv, --binary and --runs, with the benchmark's defaults (repository
    relative paths, for the help)."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--app-dir", default=app_dir,
                    help=f"the directory both commands run from (default {os.path.relpath(app_dir, repo)})")
    ap.add_argument("--venv", default=venv, help=f"the app's venv (default {os.path.relpath(venv, repo)})")
    ap.add_argument("--binary", default=ROUTEWALL,
                    help="routewall binary to measure (default target/release/routewall; "
                         "run `cargo build --release --locked`)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs of each (default 5)")


def fmt(samples):
    return f"best {min(samples):.3f} s, median {statistics.median(samples):.3f} s"


def measure(*, name, source, app, app_dir, venv, binary, runs, bare_code, bare_env=None,
            bare_label="bare start-up"):
    """Times `python -c bare_code` against `routewall generate --source SOURCE --app APP`
    and prints both and their ratios; returns the exit status (1 when a command fails)."""
    venv, app_dir = os.path.abspath(venv), os.path.abspath(app_dir)
    python = os.path.join(venv, "bin", "python")
    for path, what in ((python, "the venv's python"), (binary, "routewall")):
        if not os.path.exists(path):
            print(f"{name}: no {what} at {path} (scripts/setup.sh --with-realapps; "
                  "cargo build --release --locked)", file=sys.stderr)
            return 1
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    with tempfile.TemporaryDirectory(prefix="routewall-genbench-") as work:
        # A private copy, as run.py makes: a `cargo build` elsewhere must not swap the
        # binary mid-run.
        routewall = shutil.copy2(binary, os.path.join(work, "routewall"))
        sources = subprocess.run([routewall, "plugins", "list"], capture_output=True,
                                 text=True).stdout
        if not any(line.split()[:2] == ["source", source] for line in sources.splitlines()):
            print(f"{name}: {binary} has no {source} source (built before it was added? "
                  "cargo build --release --locked)", file=sys.stderr)
            return 1
        commands = {
            "bare": ([python, "-c", bare_code], dict(env, **(bare_env or {}))),
            "generate": ([routewall, "generate", "--source", source, "--app", app,
                          "--target", "nginx", "--output", os.path.join(work, "allowlist"),
                          "--venv", venv, "--no-validate"], env),
        }
        try:
            for cmd, cmd_env in commands.values():  # unrecorded: .pyc files, page cache
                timing.run_timed(cmd, app_dir, timing.Timed(), env=cmd_env)
            times = {key: timing.Timed() for key in commands}
            for _ in range(runs):
                for key, (cmd, cmd_env) in commands.items():
                    timing.run_timed(cmd, app_dir, times[key], env=cmd_env)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return 1
    bare, gen = times["bare"], times["generate"]
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    print(f"app: {app} in {os.path.relpath(app_dir, repo)}, venv {os.path.relpath(venv, repo)}, "
          f"{os.path.abspath(binary)}, {runs} runs each")
    print(f"{bare_label + ':':<31}wall {fmt(bare.wall)}; cpu {fmt(bare.cpu)}")
    print(f"{'routewall generate:':<31}wall {fmt(gen.wall)}; cpu {fmt(gen.cpu)}")
    print(f"generate / bare: {min(gen.wall) / min(bare.wall):.2f} (best wall), "
          f"{statistics.median(gen.wall) / statistics.median(bare.wall):.2f} (median wall), "
          f"{statistics.median(gen.cpu) / statistics.median(bare.cpu):.2f} (median cpu)")
    return 0
