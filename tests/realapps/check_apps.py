#!/usr/bin/env python3
"""Check that each real app in apps.json loads and has the route table recorded there.

Run it with the interpreter of the venv made from tests/realapps/requirements.txt, from
anywhere:

    VENV/bin/python tests/realapps/check_apps.py [--python PY] [NAME ...]

Each app is loaded in its own subprocess the way `flask --app SPEC` finds it (working
directory = the app's "dir", its "env" added to the environment), without starting it.
For each app this prints one JSON line (rules, custom converters with their regex,
strict_slashes, files the import left in the working directory) and a verdict, then the
line "N passed, N failed". Exit status 1 if any app failed.
"""

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Runs inside the app's venv with cwd = the app's dir. stdout carries only the JSON line:
# whatever the app prints while importing goes to stderr.
LOADER = r"""
import contextlib, json, os, sys
before = set(os.listdir("."))
with contextlib.redirect_stdout(sys.stderr):
    from flask.cli import ScriptInfo
    from werkzeug.routing import Map
    app = ScriptInfo(app_import_path=sys.argv[1], set_debug_flag=False).load_app()
rules = list(app.url_map.iter_rules())
converters = {
    name: getattr(cls, "regex", None)
    for name, cls in app.url_map.converters.items()
    if Map.default_converters.get(name) is not cls
}
print(json.dumps({
    "rules": len(rules),
    "converters": converters,
    "strict_slashes": app.url_map.strict_slashes,
    "new_files": sorted(set(os.listdir(".")) - before),
}), flush=True)
os._exit(0)  # don't wait for threads an app may have started
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default=sys.executable, help="interpreter of the apps' venv")
    ap.add_argument("names", nargs="*", help="only these apps (default: all)")
    args = ap.parse_args()

    with open(os.path.join(ROOT, "tests", "realapps", "apps.json")) as f:
        apps = json.load(f)
    if args.names:
        apps = [a for a in apps if a["name"] in args.names]

    passed = failed = 0
    for app in apps:
        env = dict(os.environ, **app["env"])
        proc = subprocess.run(
            [args.python, "-c", LOADER, app["app"]],
            cwd=os.path.join(ROOT, app["dir"]),
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
        )
        problems = []
        got = None
        if proc.returncode != 0:
            problems.append(f"exit {proc.returncode}: {proc.stderr.strip()[-2000:]}")
        else:
            got = json.loads(proc.stdout.strip().splitlines()[-1])
            if got["rules"] != app["rules"]:
                problems.append(f"rules {got['rules']} != expected {app['rules']}")
            if got["converters"] != app.get("converters", got["converters"]):
                problems.append(f"converters {got['converters']} != expected {app['converters']}")
            if got["new_files"]:
                problems.append(f"import wrote {got['new_files']} into {app['dir']}")
        print(json.dumps({"name": app["name"], "app": app["app"], **(got or {})}))
        if problems:
            failed += 1
            print(f"FAIL {app['name']}: " + "; ".join(problems))
        else:
            passed += 1
            print(f"ok   {app['name']}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
