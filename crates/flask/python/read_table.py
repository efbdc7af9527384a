"""The Flask part of routewall's dump script: reads `app.url_map` into a route table.

It runs after crates/python-host/python/host.py in one script (see there for the two
transports and the envelope), so `AppError`, `one_line`, `jsonable`, `framework_version` and
`SCHEMA_VERSION` come from the host part; this part defines `read_table`.
"""

# Werkzeug's rule grammar (werkzeug/routing/rules.py): static text, or
# `<converter(arguments):variable>` with converter and arguments optional. A `<` that does
# not start a parameter makes Werkzeug reject the rule, so every `<` in a bound rule is one.
_PARAM = re.compile(
    r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<arguments>.*?)\))?:)?"
    r"(?P<variable>[a-zA-Z_][a-zA-Z0-9_]*)>"
)

# `flask --app` splits "module:expr" on the first colon that is not part of a Windows drive
# or path ("C:\\x", "c:/x").
_APP_SPLIT = re.compile(r":(?![\\/])")


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


def read_table(spec, working_dir, options):
    """The host's entry point: the route table of the app `spec` names."""
    if options:
        raise AppError(f"the flask source takes no option {sorted(options)[0]!r}")
    app = load_app(spec, working_dir)
    routes = [route_of(rule, app.url_map.host_matching) for rule in app.url_map.iter_rules()]
    return {
        "schema_version": SCHEMA_VERSION,
        "source": "flask",
        "app": spec,
        "framework": framework_version("flask", "Flask"),
        "host_matching": bool(app.url_map.host_matching),
        "subdomain_matching": bool(getattr(app, "subdomain_matching", False)),
        "domain": domain_binding(app),
        "routes": routes,
        # Werkzeug's debugger (DebuggedApplication, `flask run --debug`) answers
        # `?__debugger__=yes&cmd=…` on any path. It may be switched on after import, so the
        # key is blocked whether or not it is on now.
        "blocked_query_keys": ["__debugger__"],
    }
