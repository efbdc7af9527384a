"""Werkzeug's verdict for raw request targets, for bench/hostile.py.

Run with the venv's python in the app's directory, `python hostile_oracle.py BUDGET_S`:
reads a JSON list of [family, target] (a target is a string of code points < 256, the bytes
on the wire as latin-1; a family is one request shape at growing lengths, shortest first)
on stdin, prints a JSON list of [verdict, seconds] in the same order. The path is decoded as
tests/differential/probe.py decodes it (the WSGI server percent-decodes, Werkzeug decodes
UTF-8 with errors="replace"), then matched by the app's own `url_map.bind("localhost")`:
"app" when the app answers (a match, a 308 strict-slash redirect, a 405), "404" when
Werkzeug raises NotFound. `seconds` is Werkzeug's own matching time, for comparison.

Werkzeug itself can be slow on these shapes (1,000 rules `/<path:a>/<path:b>/t{i}`: each
request runs 1,000 lazy regexes over the whole path, about 2.5 s at 1 KB and growing with
the square of the length), so each match gets BUDGET_S seconds: past it the verdict is
"timeout" and the family's longer targets are "skipped" (hostile.py then carries the
verdict of the family's shorter targets over, and says so).
"""

import json
import os
import signal
import sys
import time
import urllib.parse

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect


def decode(raw):
    data = urllib.parse.unquote_to_bytes(raw.encode("latin-1").split(b"?", 1)[0])
    return data.decode("utf-8", "replace")


def verdict(adapter, path):
    """Path level, as routewall allows without --methods: the app answers the path when
    GET gets anything but NotFound, or another method gets a 405. Werkzeug checks a rule's
    methods before its converters' code, so a value that code refuses (an int of more than
    Python's 4,300 digits) is a 404 for GET but a 405 for a method the rule lacks."""
    for method in ("GET", "ROUTEWALL-PROBE"):
        try:
            adapter.match(path, method=method)
        except (RequestRedirect, MethodNotAllowed):
            return "app"
        except NotFound:
            continue
        return "app"
    return "404"


class OverBudget(Exception):
    pass


def on_alarm(signum, frame):
    # Werkzeug's matcher is Python code between its regex calls, so this lands within one
    # regex's run of the budget.
    raise OverBudget()


def main():
    budget = float(sys.argv[1])
    targets = json.load(sys.stdin)
    sys.path.insert(0, os.getcwd())
    import app as app_module

    adapter = app_module.app.url_map.bind("localhost")
    signal.signal(signal.SIGALRM, on_alarm)
    out, given_up = [], set()
    for family, raw in targets:
        if family in given_up:
            out.append(["skipped", 0.0])
            continue
        t0 = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, budget)
        try:
            v = verdict(adapter, decode(raw))
        except OverBudget:
            v = "timeout"
            given_up.add(family)
        except Exception as exc:  # anything else Werkzeug raises is reported as it is
            v = f"error: {type(exc).__name__}: {exc}"[:200]
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        out.append([v, time.perf_counter() - t0])
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
