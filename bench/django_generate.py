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

How: bench/generate_cost.py (interleaved runs after an unrecorded one of each). The
commands:

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
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
import generate_cost  # noqa: E402  (the measurement both Python sources' benchmarks share)

# The largest real Django project (tests/realapps/django), its settings and venv.
PROJECT = "allauth"
DEFAULT_SETTINGS = f"{PROJECT}_site.settings"
DEFAULT_APP_DIR = os.path.join(REPO, "tests", "realapps", "django", PROJECT)
DEFAULT_VENV = os.path.join(REPO, ".venv-realapps-django")

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
    generate_cost.add_common_arguments(ap, DEFAULT_APP_DIR, DEFAULT_VENV)
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    return generate_cost.measure(
        name="django_generate.py", source="django", app=args.settings, app_dir=args.app_dir,
        venv=args.venv, binary=args.binary, runs=args.runs, bare_code=BARE,
        bare_env={"DJANGO_SETTINGS_MODULE": args.settings},
        bare_label="bare django.setup() + URLconf",
    )


if __name__ == "__main__":
    sys.exit(main())
