"""Dump a Flask application's url_map as a routewall route table (JSON).

One script, two transports: routewall runs it inside its embedded interpreter when the app's
virtualenv has the same Python version, and as `<venv>/bin/python dump_routes.py --app SPEC`
otherwise. Both print the same envelope, so the Rust side has one parser:

    {"table": {...}}                      on success
    {"error": {"cause": "...", ...}}      when the app cannot be loaded

Standard library only at module level (any Python 3.8+ can run it); Flask and Werkzeug are
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

# Werkzeug's rule grammar (werkzeug/routing/rules.py): static text, or
# `<converter(arguments):variable>` with converter and arguments optional. A `<` that does
# not start a parameter makes Werkzeug reject the rule, so every `<` in a bound rule is one.
_PARAM = re.compile(
    r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<arguments>.*?)\))?:)?"
    r"(?P<variable>[a-zA-Z_][a-zA-Z0-9_]*)>"
)

# A class escape in a converter regex (`\d`, `\S`, ...) that is not itself escaped (`\\d`).
_CLASS_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\([dDsSwW])")
_CLASS_NAMES = {"d": "digit", "s": "space", "w": "word"}

# `flask --app` splits "module:expr" on the first colon that is not part of a Windows drive
# or path ("C:\\x", "c:/x").
_APP_SPLIT = re.compile(r":(?![\\/])")


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


def load_app(spec, working_dir):
    """Find the app as `flask --app SPEC` does: Flask's own prepare_import puts the module's
    directory first on sys.path (ahead of PYTHONPATH and site-packages), and its
    find_best_app / find_app_by_string apply Flask's search order and call factories."""
    try:
        from flask.cli import find_app_by_string, find_best_app, prepare_import
    except ImportError as exc:
        raise AppError(f"Flask is not importable in this environment ({one_line(exc)})") from None

    path, name = (_APP_SPLIT.split(spec, maxsplit=1) + [None])[:2]
    module_name = prepare_import(os.path.join(working_dir, path))
    try:
        __import__(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name.split(".")[0] or exc.name == module_name:
            raise AppError(
                f"no module `{module_name}` in {working_dir}, PYTHONPATH or site-packages"
            ) from None
        raise
    module = sys.modules[module_name]
    return find_best_app(module) if name is None else find_app_by_string(module, name)


def rejects_in_code(conv):
    """Whether the converter's to_python may refuse a value its regex matched. Werkzeug's
    own string, path, any and uuid converters never do (uuid.UUID accepts every match of
    the uuid regex); custom code may do anything."""
    from werkzeug import routing

    if type(conv) in (routing.IntegerConverter, routing.FloatConverter):
        return rejects_number(conv)
    accepting = (routing.UnicodeConverter, routing.PathConverter, routing.AnyConverter, routing.UUIDConverter)
    if type(conv) in accepting:
        return False
    return type(conv).to_python is not routing.BaseConverter.to_python


def converter_of(rule, variable, converter, arguments):
    """The converter object Werkzeug uses for this parameter, built through the public
    Rule.get_converter, and what routewall needs to know about it."""
    from werkzeug.routing import parse_converter_args

    args, kwargs = parse_converter_args(arguments or "")
    conv = rule.get_converter(variable, converter or "default", args, kwargs)
    return {
        "name": converter or "default",
        "class": type(conv).__name__,
        "args": [jsonable(a) for a in args],
        "kwargs": {k: jsonable(v) for k, v in kwargs.items()},
        "regex": conv.regex,
        "dialect": "python",
        "part_isolating": bool(conv.part_isolating),
        "weight": conv.weight,
        "validates": rejects_in_code(conv),
    }
    return info


def rejects_number(conv):
    """Werkzeug's int and float converters match `\\d+` and check fixed_digits, min and max
    in to_python. Werkzeug checks a rule's methods before its converters, so such a value
    is still answered (405) for another method: at path level the regex alone is exact."""
    return bool(getattr(conv, "fixed_digits", 0)) or conv.min is not None or conv.max is not None


def segments_of(rule, text=None):
    """Split the rule (or `text`, its host or subdomain pattern) the way Werkzeug compiles
    it, after merging slashes in the path."""
    if text is None:
        text = re.sub("/{2,}", "/", rule.rule) if rule.merge_slashes else rule.rule
    segments, pos = [], 0
    for m in _PARAM.finditer(text):
        if m.start() > pos:
            segments.append({"kind": "static", "text": text[pos : m.start()]})
        conv = converter_of(rule, m["variable"], m["converter"], m["arguments"])
        segments.append({"kind": "param", "name": m["variable"], "converter": conv})
        pos = m.end()
    if pos < len(text):
        segments.append({"kind": "static", "text": text[pos:]})
    return segments


def domain_of(app, host):
    """The domain Werkzeug matches rules' host or subdomain patterns against, for a request
    to `host`, with the URL adapter Flask itself would bind for it."""
    import warnings

    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path="/", base_url=f"http://{host}/").get_environ()
    with warnings.catch_warnings():
        # Werkzeug warns when the host is outside SERVER_NAME: that is the point here.
        warnings.simplefilter("ignore")
        adapter = app.create_url_adapter(app.request_class(environ))
    return adapter.server_name if app.url_map.host_matching else adapter.subdomain


def domain_binding(app):
    """How the app turns a request's host into the domain its rules match. Asked of Flask
    itself (the answer changed between Flask versions), with three hosts: SERVER_NAME, a
    subdomain of it, and a host outside it."""
    if app.url_map.host_matching:
        return {"kind": "host"}
    server_name = (app.config.get("SERVER_NAME") or "").lower()
    trusted = app.config.get("TRUSTED_HOSTS")
    app.config["TRUSTED_HOSTS"] = None  # the probe hosts are made up
    try:
        outside = domain_of(app, "routewall-probe.invalid")
        if not server_name:
            return {"kind": "fixed", "value": outside}
        plain = domain_of(app, server_name)
        sub = domain_of(app, "routewall-probe." + server_name)
    finally:
        app.config["TRUSTED_HOSTS"] = trusted
    if (plain, sub) == ("", "routewall-probe") and outside != sub:
        return {"kind": "subdomain", "server_name": server_name, "otherwise": outside}
    if plain == sub == outside:
        return {"kind": "fixed", "value": outside}
    raise AppError(
        f"cannot tell how the app matches subdomains: SERVER_NAME {server_name!r} binds "
        f"{plain!r}, a subdomain of it {sub!r}, another host {outside!r}"
    )


def jsonable(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return repr(value)


def route_of(rule, host_matching):
    redirect = rule.redirect_to
    domain = (rule.host if host_matching else rule.subdomain) or ""
    return {
        "endpoint": str(rule.endpoint),
        "rule": rule.rule,
        "segments": segments_of(rule),
        "methods": sorted(rule.methods) if rule.methods is not None else None,
        "strict_slashes": bool(rule.strict_slashes),
        "merge_slashes": bool(rule.merge_slashes),
        "host": rule.host,
        "subdomain": rule.subdomain or None,
        "domain": segments_of(rule, domain),
        "websocket": bool(rule.websocket),
        "redirect_to": None if redirect is None else (redirect if isinstance(redirect, str) else repr(redirect)),
        "defaults": jsonable(rule.defaults or {}),
        "automatic_options": getattr(rule, "provide_automatic_options", None),
    }


def every_code_point():
    """A str of every code point, in order (surrogates too), decoded from UTF-32 bytes laid
    out with slice assignments: `"".join(map(chr, range(0x110000)))` takes 40 times longer."""
    data = bytearray(0x110000 * 4)
    data[0::4] = bytes(range(256)) * 0x1100
    data[1::4] = b"".join(bytes([b]) * 256 for b in range(256)) * 0x11
    data[2::4] = b"".join(bytes([b]) * 0x10000 for b in range(0x11))
    return bytes(data).decode("utf-32-le", "surrogatepass")


def python_classes(regexes):
    """Python's own `\\d`, `\\s` and `\\w` for str patterns, as inclusive code point ranges,
    for the classes that `regexes` use (`None` when none does). routewall translates
    converter regexes into byte-level regexes, and Unicode's properties are not Python's
    classes (`\\s` holds \\x1c-\\x1f, `\\w` is `str.isalnum()`), nor is routewall's Unicode
    version this interpreter's. So `re` itself is asked, over every code point at once: on
    Python 3.11, building the string takes about 7 ms, scanning it 17 ms for `\\s`, 23 ms for
    `\\d` and 30 ms for `\\w`; most apps only need `\\d` (the int and float converters)."""
    wanted = {_CLASS_NAMES[m[1].lower()] for regex in regexes for m in _CLASS_ESCAPE.finditer(regex)}
    if not wanted:
        return None
    import unicodedata

    text = every_code_point()
    classes = {"unicode_version": unicodedata.unidata_version}
    for letter, name in _CLASS_NAMES.items():
        if name in wanted:
            classes[name] = [[m.start(), m.end() - 1] for m in re.finditer(f"\\{letter}+", text)]
    return classes


def table_of(app, spec):
    try:
        from importlib.metadata import version

        framework = f"Flask {version('flask')}"
    except Exception:  # the version is for reports only
        framework = "Flask"
    routes = [route_of(rule, app.url_map.host_matching) for rule in app.url_map.iter_rules()]
    table = {
        "schema_version": SCHEMA_VERSION,
        "source": "flask",
        "app": spec,
        "framework": framework,
        "host_matching": bool(app.url_map.host_matching),
        "subdomain_matching": bool(getattr(app, "subdomain_matching", False)),
        "domain": domain_binding(app),
        "routes": routes,
        # Werkzeug's debugger (DebuggedApplication, `flask run --debug`) answers
        # `?__debugger__=yes&cmd=…` on any path. It may be switched on after import, so the
        # key is blocked whether or not it is on now.
        "blocked_query_keys": ["__debugger__"],
    }
    regexes = [
        segment["converter"]["regex"]
        for route in routes
        for segment in route["segments"] + route["domain"]
        if segment["kind"] == "param"
    ]
    classes = python_classes(regexes)
    if classes is not None:
        table["python_classes"] = classes
    return table


@contextlib.contextmanager
def collector_paused():
    """Pause the cyclic garbage collector while the app is imported and its rules read.
    Importing a big app allocates hundreds of thousands of objects, none of them garbage,
    and the collector walks them again and again: at 10,000 rules that was a fifth of the
    import (README, "Cost, measured"). Reference counting still frees everything acyclic."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def dump(spec, working_dir):
    """Load the app and return the JSON envelope as a string. Never raises: anything the
    app does while loading, SystemExit included, becomes an error envelope."""
    try:
        with stdout_to_stderr(), collector_paused():
            app = load_app(spec, working_dir)
            table = table_of(app, spec)
            return json.dumps({"table": table})
    except AppError as exc:
        return json.dumps({"error": {"cause": str(exc), "traceback": ""}})
    except BaseException as exc:  # noqa: B902 - an app may sys.exit() or raise anything
        return json.dumps({"error": {"cause": one_line(exc), "traceback": traceback.format_exc()}})


def main(argv):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", required=True)
    parser.add_argument("--working-dir", default=os.getcwd())
    opts = parser.parse_args(argv)
    sys.stdout.write(dump(opts.app, opts.working_dir))
    sys.stdout.write("\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    # Run as a file, sys.path[0] is this script's temporary directory, so nothing in the
    # app's directory can shadow the standard library modules imported above.
    sys.exit(main(sys.argv[1:]))
