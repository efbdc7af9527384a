"""routewall's Python host: what every Python route source shares.

A source's dump script is this file followed by the source's own part, which defines

    read_table(spec, working_dir, options) -> dict   # a routewall RouteTable

One script, two transports: routewall runs it inside its embedded interpreter when the app's
virtualenv has the same Python version (calling `activate`, then `dump`), and as
`<venv>/bin/python script.py --app SPEC --working-dir DIR --options JSON` otherwise. Both
print the same envelope, so the Rust side has one parser:

    {"table": {...}}                      on success
    {"error": {"cause": "...", ...}}      when the app cannot be loaded

Standard library only at module level (any Python 3.8+ can run it); the framework is
imported from the app's own environment, after it is on sys.path.
"""

import contextlib
import gc
import json
import os
import re
import sys
import traceback

SCHEMA_VERSION = 3

# A class escape in a regex (`\d`, `\S`, ...) that is not itself escaped (`\\d`).
_CLASS_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\([dDsSwW])")
_CLASS_NAMES = {"d": "digit", "s": "space", "w": "word"}


class AppError(Exception):
    """The application could not be loaded; the message is one line."""


def one_line(exc):
    text = " ".join(str(exc).split())
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


@contextlib.contextmanager
def stdout_to_stderr():
    """Send everything the app prints while loading to stderr, at the file-descriptor level
    too, so that stdout carries nothing but routewall's own output."""
    sys.stdout.flush()
    saved_fd = os.dup(1)
    saved_stdout = sys.stdout
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved_fd, 1)
        os.close(saved_fd)
        sys.stdout = saved_stdout


def activate(site_dirs, include_system_site_packages):
    """Make an embedded interpreter see a virtualenv as its own Python would: the venv's
    site-packages (with .pth files) and, unless pyvenv.cfg allows it, not the base ones."""
    import site

    if not include_system_site_packages:
        base = {os.path.realpath(p) for p in site.getsitepackages()}
        base.add(os.path.realpath(site.getusersitepackages()))
        sys.path[:] = [p for p in sys.path if os.path.realpath(p) not in base]
    for path in site_dirs:
        site.addsitedir(path)


def jsonable(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return repr(value)


def code_point_planes():
    """Each of the 17 planes of code points (surrogates too) as `(first code point, str of
    its 65,536 code points in order)`, decoded from UTF-32 bytes laid out with slice
    assignments: `"".join(map(chr, range(0x110000)))` takes 40 times longer. A plane at a
    time, because the whole range at once takes some 20 MB of fresh pages (bytes, copies and
    the str), and faulting them in cost as much as the scan; a plane's 256 KB are reused."""
    data = bytearray(0x10000 * 4)
    data[0::4] = bytes(range(256)) * 256
    data[1::4] = b"".join(bytes([b]) * 256 for b in range(256))
    for plane in range(0x11):
        data[2::4] = bytes([plane]) * 0x10000
        yield plane << 16, data.decode("utf-32-le", "surrogatepass")


def _add_range(ranges, first, last):
    """Appends `[first, last]` to `ranges`, joined to the last range when they touch (a run
    that crosses a plane's end)."""
    if ranges and ranges[-1][1] == first - 1:
        ranges[-1][1] = last
    else:
        ranges.append([first, last])


def python_classes(regexes):
    """Python's own `\\d`, `\\s` and `\\w` for str patterns, as inclusive code point ranges,
    for the classes that `regexes` use (`None` when none does). routewall translates
    regexes into byte-level regexes, and Unicode's properties are not Python's classes
    (`\\s` holds \\x1c-\\x1f, `\\w` is `str.isalnum()`), nor is routewall's Unicode version
    this interpreter's. So `re` itself is asked, over every code point. It is asked for the
    negated class (`\\W+`), whose matches are the gaps between the class's ranges: searching
    for `\\w+` tries each of the million code points outside it as a start, which takes
    twice as long as `\\W+` counting them off inside a match. On Python 3.11 this takes
    about 25 ms for `\\w`, 10 ms for `\\d`; most apps only need `\\d`."""
    wanted = {_CLASS_NAMES[m[1].lower()] for regex in regexes for m in _CLASS_ESCAPE.finditer(regex)}
    if not wanted:
        return None
    import unicodedata

    classes = {"unicode_version": unicodedata.unidata_version}
    gaps = {}
    for letter, name in _CLASS_NAMES.items():
        if name in wanted:
            classes[name] = []
            gaps[name] = re.compile(f"\\{letter.upper()}+")
    for first, text in code_point_planes():
        for name, gap in gaps.items():
            ranges, start = classes[name], 0
            for m in gap.finditer(text):
                if m.start() > start:
                    _add_range(ranges, first + start, first + m.start() - 1)
                start = m.end()
            if start < len(text):
                _add_range(ranges, first + start, first + len(text) - 1)
    return classes


def with_python_classes(table):
    """Adds `python_classes` to `table` for the regexes of its parameters."""
    regexes = [
        segment["converter"]["regex"]
        for route in table["routes"]
        for segment in route["segments"] + (route.get("domain") or [])
        if segment["kind"] == "param"
    ]
    classes = python_classes(regexes)
    if classes is not None:
        table["python_classes"] = classes
    return table


def framework_version(distribution, label):
    """`Label X.Y.Z` for reports, or the bare label when the version cannot be read."""
    try:
        from importlib.metadata import version

        return f"{label} {version(distribution)}"
    except Exception:  # the version is for reports only
        return label


@contextlib.contextmanager
def collector_paused():
    """Pause the cyclic garbage collector while the app is imported and its routes read.
    Importing a big app allocates hundreds of thousands of objects, none of them garbage,
    and the collector walks them again and again: at 10,000 Flask rules that was a fifth of
    the import (README, "Cost, measured"). Reference counting still frees everything
    acyclic.

    Afterwards everything allocated so far is frozen (`gc.freeze()`, out of the collector's
    sight for good) before the collector is enabled again: the allocations of the pause all
    count against its youngest generation, so the first allocation after it would walk the
    whole app (36 ms of a 0.5 s run for django-allauth). What that leaves uncollected is
    the cyclic garbage of one import, in a process that reads one app and exits."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.enable()


def dump(spec, working_dir, options=None):
    """Load the app and return the JSON envelope as a string. Never raises: anything the
    app does while loading, SystemExit included, becomes an error envelope."""
    try:
        with stdout_to_stderr(), collector_paused():
            table = read_table(spec, working_dir, dict(options or {}))  # noqa: F821 - the source's part
            return json.dumps({"table": with_python_classes(table)})
    except AppError as exc:
        return json.dumps({"error": {"cause": str(exc), "traceback": ""}})
    except BaseException as exc:  # noqa: B902 - an app may sys.exit() or raise anything
        return json.dumps({"error": {"cause": one_line(exc), "traceback": traceback.format_exc()}})


def main(argv):
    import argparse

    parser = argparse.ArgumentParser(description="Print an app's routes as a routewall route table.")
    parser.add_argument("--app", required=True)
    parser.add_argument("--working-dir", default=os.getcwd())
    parser.add_argument("--options", default="{}", help="source options, a JSON object of strings")
    opts = parser.parse_args(argv)
    sys.stdout.write(dump(opts.app, opts.working_dir, json.loads(opts.options)))
    sys.stdout.write("\n")
    sys.stdout.flush()
    return 0
