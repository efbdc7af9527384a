"""The Django part of routewall's dump script: reads a project's URLconf into a route table.

It runs after crates/python-host/python/host.py and pieces.py in one script (see there for
the two transports and the envelope), so `AppError`, `one_line`, `jsonable`,
`framework_version`, `SCHEMA_VERSION` and the route pieces' helpers (`text`, `merged`,
`slash_twins`, the regex quotient by `/`) come from the host part; this part defines
`read_table`.

Django is asked, never modelled: the patterns, their compiled regexes, the converters'
regexes, the languages, `APPEND_SLASH` and the middleware are read from the running
project. What routewall's model cannot say exactly is said in the route's own terms:
* a `re_path` regex is one parameter holding the regex (Python dialect), with its leading
  literal text and a final `/` split off as text, so the allowlist groups it by its first
  segment and answers `APPEND_SLASH`'s redirect for it;
* Django's `search` semantics (a `re_path` without `^` matches anywhere in what is left of
  the path; an endpoint without `$` matches any continuation) become parameters that take
  anything (`(?s:.*)`) before or after the regex;
* `i18n_patterns` and translated routes are read once per language the project serves:
  the allowlist is the union over the languages a client can ask for.
"""

# What a parameter routewall adds for Django's search semantics takes: anything.
_ANYTHING = "(?s:.*)"

# Characters that stand for themselves at the start of a Python regex (outside a class),
# when no quantifier follows them.
_SPECIAL = set(".^$*+?{}[]|()\\")
_QUANTIFIER_START = set("*+?{")


def import_django():
    try:
        import django
    except ImportError as exc:
        raise AppError(f"Django is not importable in this environment ({one_line(exc)})") from None
    return django


def load_project(settings_module, working_dir, urlconf):
    """Set the project up as `manage.py` does: the working directory first on sys.path,
    DJANGO_SETTINGS_MODULE, `django.setup()`; then import the URLconf."""
    import importlib.util

    django = import_django()
    working_dir = os.path.abspath(working_dir)
    if working_dir not in sys.path:
        sys.path.insert(0, working_dir)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", settings_module):
        raise AppError(
            f"`{settings_module}` is not a settings module name (give it dotted, as "
            "DJANGO_SETTINGS_MODULE takes it: `mysite.settings`)"
        )
    try:
        found = importlib.util.find_spec(settings_module)
    except ModuleNotFoundError:
        found = None
    if found is None:
        raise AppError(
            f"no settings module `{settings_module}` in {working_dir}, PYTHONPATH or site-packages"
        )
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    django.setup()
    from django.conf import settings
    from django.urls import get_resolver

    urlconf = urlconf or settings.ROOT_URLCONF
    resolver = get_resolver(urlconf)
    try:
        patterns = resolver.url_patterns
    except Exception as exc:
        raise AppError(f"cannot read the URLconf `{urlconf}`: {one_line(exc)}") from None
    return settings, urlconf, patterns


def middleware_classes(settings):
    """The classes of settings.MIDDLEWARE, imported as Django imports them."""
    from django.utils.module_loading import import_string

    classes = []
    for path in settings.MIDDLEWARE or ():
        try:
            classes.append(import_string(path))
        except ImportError as exc:
            raise AppError(f"cannot import middleware `{path}`: {one_line(exc)}") from None
    return classes


def uses(middleware, base):
    return any(isinstance(cls, type) and issubclass(cls, base) for cls in middleware)


def converter_model(name, conv, builtin):
    """routewall's converter for a Django path converter: its regex, read from the object."""
    regex = str(conv.regex)
    return {
        "name": name,
        "class": type(conv).__name__,
        "regex": regex,
        "dialect": "python",
        "part_isolating": not can_match_slash(regex),
        # Django's own converters never refuse what their regex matched (int() of digits,
        # UUID() of lower-case hex); a registered one's to_python may raise ValueError,
        # and Django then tries the next pattern.
        "validates": not builtin,
    }


def regex_param(name, regex):
    return {
        "kind": "param",
        "name": name,
        "converter": {
            "name": "re_path",
            "class": "RegexPattern",
            "regex": regex,
            "dialect": "python",
            "part_isolating": not can_match_slash(regex),
        },
    }


def anything(name):
    return {
        "kind": "param",
        "name": name,
        "converter": {
            "name": "search",
            "class": "RegexPattern",
            "regex": _ANYTHING,
            "dialect": "python",
            "part_isolating": False,
        },
    }


def route_pieces(pattern, builtin_converters):
    """A path() pattern as text and parameters, tokenized with Django's own grammar and
    checked against the regex Django compiled from it (None when they differ: the
    pattern is then read as the regex it is)."""
    from django.urls import resolvers

    route = str(pattern._route)
    pieces, expected, pos = [], ["^"], 0
    for m in resolvers._PATH_PARAMETER_COMPONENT_RE.finditer(route):
        raw_converter, parameter = m.groups(default="str")
        if m.start() > pos:
            pieces.append(text(route[pos : m.start()]))
        conv = pattern.converters[parameter]
        pieces.append({
            "kind": "param",
            "name": parameter,
            "converter": converter_model(raw_converter, conv, type(conv) in builtin_converters),
        })
        expected += [re.escape(route[pos : m.start()]), f"(?P<{parameter}>{conv.regex})"]
        pos = m.end()
    if pos < len(route):
        pieces.append(text(route[pos:]))
    expected.append(re.escape(route[pos:]))
    if pattern._is_endpoint:
        expected.append(r"\Z")
    if "".join(expected) != pattern.regex.pattern:
        return None
    return pieces, bool(pattern._is_endpoint)


def regex_pieces(regex, endpoint, fullmatch, name):
    """A Python regex matched the way Django's RegexPattern matches it: `fullmatch` for an
    endpoint whose text ends in `$`, `search` otherwise (then a regex without `^` matches
    anywhere, and an endpoint without an end anchor matches any continuation).

    Returns the pieces and whether anything may follow them (the rest of an include, or
    a continuation an endpoint ignores)."""
    sre_parse, c = regex_parser()

    parsed = list(sre_parse.parse(regex))
    body = regex
    starts = bool(parsed) and parsed[0] == (c.AT, c.AT_BEGINNING)
    starts_string = bool(parsed) and parsed[0] == (c.AT, c.AT_BEGINNING_STRING)
    # A leading inline flag (`(?i)^x`) puts the anchor after text: it then stays in the
    # regex, which the translator refuses with its own reason.
    if starts and body.startswith("^"):
        body = body[1:]
    elif starts_string and body.startswith("\\A"):
        body = body[2:]
    end_text = ""
    if endpoint and len(parsed) > (1 if (starts or starts_string) else 0):
        # An end anchor is redundant where the whole path must match (`fullmatch`) and
        # means the end for `\\Z`; `search` with a final `$` cannot happen (Django then
        # uses fullmatch). A prefix's end anchor stays in the regex, which refuses it.
        if parsed[-1] == (c.AT, c.AT_END_STRING) and body.endswith("\\Z"):
            end_text = "\\Z"
        elif fullmatch and parsed[-1] == (c.AT, c.AT_END) and body.endswith("$"):
            end_text = "$"
        body = body[: len(body) - len(end_text)]
        if fullmatch:
            body = without_tail_anchors(body)
    # A regex that matches the empty string (`""`, wiki's includes) finds its leftmost
    # match at the start of what is left: `search` skips nothing then.
    empty_first = re.compile(regex).match("") is not None
    pieces = []
    if not (fullmatch or starts or starts_string or empty_first):
        pieces.append(anything(f"{name}_before"))
    pieces += literal_split(body, name)
    return pieces, not (fullmatch or end_text)


# An unescaped `$` or `\Z` that only group closings follow: the last thing the regex
# checks, at the position where the match ends.
_TAIL_ANCHOR = re.compile(r"(?<!\\)((?:\\\\)*)(\$|\\Z)(\)+)$")


def without_tail_anchors(body):
    """`body` without end anchors in tail position (`…(?:a|b$)`): under `fullmatch` the
    match ends at the end of the path, where they hold (helpdesk ends a group with `$`
    before its own final `$`)."""
    while True:
        m = _TAIL_ANCHOR.search(body)
        if not m:
            return body
        candidate = body[: m.start()] + m[1] + m[3]
        try:
            re.compile(candidate)
        except re.error:
            return body
        body = candidate


def literal_split(body, name):
    """`body` as leading literal text, the regex, and a final literal `/`."""
    if not body:
        return []
    lead, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1 : i + 2]
            if nxt and not nxt.isalnum() and nxt.isascii():
                lead.append((i, i + 2, nxt))
                i += 2
                continue
            break
        if ch in _SPECIAL or ch == "#" or ch.isspace():
            break
        lead.append((i, i + 1, ch))
        i += 1
    if i < len(body) and body[i] in _QUANTIFIER_START and lead:
        lead.pop()  # the quantifier applies to the last literal
    cut = lead[-1][1] if lead else 0
    prefix = "".join(ch for _, _, ch in lead)
    rest = body[cut:]
    pieces = [text(prefix)] if prefix else []
    if not rest:
        return pieces
    tail = ""
    if rest.endswith("/") and ends_in_literal_slash(rest):
        # `\/` is an escaped slash, `\\/` an escaped backslash and then a slash.
        backslashes = len(rest[:-1]) - len(rest[:-1].rstrip("\\"))
        cut = 2 if backslashes % 2 else 1
        if len(rest) > cut:
            rest, tail = rest[:-cut], "/"
    pieces.append(regex_param(name, rest))
    if tail:
        pieces.append(text(tail))
    return pieces


def ends_in_literal_slash(regex):
    """Whether the last top-level item of `regex` is a literal `/` (not inside a group,
    not quantified, not an escape's tail)."""
    sre_parse, c = regex_parser()
    try:
        parsed = list(sre_parse.parse(regex))
    except Exception:
        return False
    return bool(parsed) and parsed[-1] == (c.LITERAL, 0x2F)


def pattern_pieces(pattern, endpoint, builtin_converters, index):
    """One level of the URLconf as pieces, and whether its match leaves a rest."""
    from django.urls import resolvers

    if isinstance(pattern, resolvers.LocalePrefixPattern):
        prefix = pattern.language_prefix
        return ([text(prefix)] if prefix else []), True
    if isinstance(pattern, resolvers.RoutePattern):
        read = route_pieces(pattern, builtin_converters)
        if read is not None:
            pieces, anchored = read
            return pieces, not anchored
    regex = pattern.regex.pattern
    fullmatch = endpoint and regex.endswith("$")
    return regex_pieces(regex, endpoint, fullmatch, f"re{index}")


def walk(patterns, chain, state, out):
    """Every endpoint under `patterns`, with the levels above it (`chain`)."""
    from django.urls import URLPattern, URLResolver

    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            walk(pattern.url_patterns, chain + [pattern], state, out)
        elif isinstance(pattern, URLPattern):
            out.append(chain + [pattern])
        else:
            raise AppError(f"unknown URL pattern type {type(pattern).__name__} in the URLconf")


def route_of(levels, language, state):
    """routewall's routes for one endpoint, as Django matches it under `language`."""
    from django.urls import resolvers

    pieces = [text("/")]  # the root resolver's `^/`
    rule = ["/"]
    open_rest = False
    locale_at = None
    for depth, level in enumerate(levels):
        endpoint = depth == len(levels) - 1
        pattern = level.pattern
        level_pieces, open_rest = pattern_pieces(pattern, endpoint, state["builtin"], depth)
        if isinstance(pattern, resolvers.LocalePrefixPattern):
            locale_at = (len(pieces), len(level_pieces))
        pieces += level_pieces
        rule.append(str(pattern))
    view = levels[-1].callback
    names = [lvl.namespace for lvl in levels[:-1] if getattr(lvl, "namespace", None)]
    name = levels[-1].name
    endpoint_name = ":".join(names + [name]) if name else levels[-1].lookup_str
    appends_slash = state["append_slash"] and getattr(view, "should_append_slash", True)
    routes = routes_for(pieces, open_rest, appends_slash, endpoint_name, "".join(rule), view_methods(view))
    if locale_at is not None and state["locale_redirects"]:
        # LocaleMiddleware answers the unprefixed path with a redirect to the client's
        # language when that path resolves, or (APPEND_SLASH, whatever the view says)
        # when it does with a slash added.
        at, count = locale_at
        if count:
            routes += routes_for(
                pieces[:at] + pieces[at + count :],
                open_rest,
                state["append_slash"],
                f"{endpoint_name} (LocaleMiddleware redirect)",
                "".join(rule).replace(f"/{language}/", "/", 1),
            )
    return routes


def routes_for(pieces, open_rest, appends_slash, endpoint, rule, methods=None):
    """The route of `pieces`, and the slash-less twin APPEND_SLASH answers that the
    allowlist cannot derive: when anything may follow a final `/` (an endpoint regex
    without an end anchor), the path without that `/` is answered too."""
    route = {
        "endpoint": endpoint,
        "rule": rule,
        "segments": merged(pieces + ([anything("continuation")] if open_rest else [])),
        "methods": methods,
        # Django's APPEND_SLASH answers `X` with a redirect when `X/` resolves, as
        # Werkzeug's strict slashes do; without it the path matches as it is.
        "strict_slashes": True,
        "merge_slashes": False,
        "exact": not appends_slash,
    }
    routes = [route]
    if not appends_slash:
        return routes
    pieces = merged(pieces)
    # With methods the allowlist's own twin would take the route's methods, but
    # CommonMiddleware redirects whatever the method: the twin is written below.
    if methods is not None or (not open_rest and not allowlist_twin_is_exact(pieces)):
        # The allowlist's own twin (the path less its final `/`) would let through what
        # Django does not redirect: the route says exactly which twin there is, below.
        route["exact"] = True
    for segments in slash_twins(pieces, open_rest or methods is not None):
        if not merged(segments):
            continue  # the root less its slash: no request path
        twin = dict(route, segments=merged(segments), exact=True, methods=None)
        twin["endpoint"] = f"{endpoint} (APPEND_SLASH redirect)"
        routes.append(twin)
    return routes


def read_table(spec, working_dir, options):
    """The host's entry point: the route table of the project whose settings `spec` names."""
    urlconf = options.pop("urlconf", None)
    if options:
        raise AppError(f"the django source takes no option {sorted(options)[0]!r}")
    settings, urlconf, patterns = load_project(spec, working_dir, urlconf)
    from django.middleware.common import CommonMiddleware
    from django.middleware.locale import LocaleMiddleware
    from django.urls import converters
    from django.utils import translation

    middleware = middleware_classes(settings)
    locale = uses(middleware, LocaleMiddleware)
    languages = [code for code, _ in settings.LANGUAGES] if settings.USE_I18N and locale else []
    if settings.LANGUAGE_CODE not in languages:
        languages.append(settings.LANGUAGE_CODE)
    from django.urls.resolvers import LocalePrefixPattern

    prefixed_default = any(
        isinstance(getattr(p, "pattern", None), LocalePrefixPattern) and p.pattern.prefix_default_language
        for p in patterns
    )
    state = {
        "builtin": {type(c) for c in converters.DEFAULT_CONVERTERS.values()},
        "append_slash": bool(settings.APPEND_SLASH) and uses(middleware, CommonMiddleware),
        "locale_redirects": locale and prefixed_default,
    }
    endpoints = []
    walk(patterns, [], state, endpoints)
    routes, seen = [], set()
    for language in languages:
        with translation.override(language):
            for levels in endpoints:
                for route in route_of(levels, language, state):
                    key = json.dumps([route["segments"], route["exact"]], sort_keys=True)
                    if key not in seen:
                        seen.add(key)
                        routes.append(route)
    return {
        "schema_version": SCHEMA_VERSION,
        "source": "django",
        "app": spec,
        "framework": framework_version("django", "Django"),
        "routes": routes,
        "blocked_query_keys": [],
    }
