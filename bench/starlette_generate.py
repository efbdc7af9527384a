#!/usr/bin/env python3
"""What `routewall generate --source starlette` costs against the app's own start-up:
best-of-N wall time of `routewall generate` ÷ that of a bare import of the app (which, for
the real apps of tests/realapps/starlette, builds it), in the same venv and directory,
measured in one session (django_generate.py's ratio, for the Starlette source).

By default it times the largest real ASGI app of tests/realapps/starlette (Prefect 3.9.1's
server: 214 routes, `.venv-realapps-asgi`, made by `scripts/setup.sh --with-realapps`):

    python3 bench/starlette_generate.py [--runs 5] [--binary target/release/routewall]

or any app, e.g. the FastAPI fixture with the test venv:

    python3 bench/starlette_generate.py --app api:app --app-dir tests/fixtures/starlette \\
        --venv .venv

How: bench/generate_cost.py. The bare command is `VENV/bin/python -c "import MODULE;
MODULE.ATTRIBUTE; os._exit(0)"` from APP_DIR.
"""

import argparse
import os
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
import generate_cost  # noqa: E402  (the measurement both Python sources' benchmarks share)

DEFAULT_APP = "prefect_site:app"
DEFAULT_APP_DIR = os.path.join(REPO, "tests", "realapps", "starlette")
DEFAULT_VENV = os.path.join(REPO, ".venv-realapps-asgi")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--app", default=DEFAULT_APP, help=f"MODULE:ATTRIBUTE (default {DEFAULT_APP})")
    generate_cost.add_common_arguments(ap, DEFAULT_APP_DIR, DEFAULT_VENV)
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    module, _, attribute = args.app.partition(":")
    bare = f"import os, {module}\n{module}.{attribute}\nos._exit(0)\n"
    return generate_cost.measure(
        name="starlette_generate.py", source="starlette", app=args.app, app_dir=args.app_dir,
        venv=args.venv, binary=args.binary, runs=args.runs, bare_code=bare,
        bare_label="bare import of the app",
    )


if __name__ == "__main__":
    sys.exit(main())
