"""Keeps only the candidate paths whose class the app's own router confirms.

Run with the app's venv python, in the app's directory: reads {"static": [...], "dynamic":
[...], "denied": [...]} on stdin and prints the same shape with the paths that belong,
plus {"dropped": {class: count}}. The benchmark then never counts a request as "denied"
that the app would in fact answer, whatever the generators proposed.
"""

import json
import os
import sys

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect


def classify(adapter, path):
    """'static' or 'dynamic' (which kind of rule matched), 'denied' (404), or 'other'
    (a strict-slash redirect: allowed by nginx, but neither a plain hit nor a miss)."""
    try:
        rule, values = adapter.match(path, method="GET", return_rule=True)
    except RequestRedirect:
        return "other"
    except MethodNotAllowed:
        return "other"
    except NotFound:
        return "denied"
    return "dynamic" if rule.arguments else "static"


def main():
    proposed = json.load(sys.stdin)
    # A script's own directory heads sys.path, not the working directory with app.py.
    sys.path.insert(0, os.getcwd())
    import app as app_module

    adapter = app_module.app.url_map.bind("localhost")
    kept, dropped = {}, {}
    for cls, paths in proposed.items():
        kept[cls] = [p for p in paths if classify(adapter, p) == cls]
        dropped[cls] = len(paths) - len(kept[cls])
    json.dump({"paths": kept, "dropped": dropped}, sys.stdout)


if __name__ == "__main__":
    main()
