"""The Django part of routewall's dump script: reads a project's URLconf into a route table.

It runs after crates/python-host/python/host.py in one script (see there for the two
transports and the envelope), so `AppError`, `one_line`, `jsonable`, `framework_version` and
`SCHEMA_VERSION` come from the host part; this part defines `read_table`.

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


def regex_parser():
    """Python's own regex parser and its constants (moved in 3.11): Django's regexes are
    read as `re` reads them."""
    try:
        from re import _constants as c
        from re import _parser as sre_parse
    except ImportError:  # Python < 3.11
        import sre_constants as c
        import sre_parse
    return sre_parse, c


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


def can_match_slash(regex):
    """Whether some match of `regex` may contain `/` (conservative: True when unsure)."""
    sre_parse, c = regex_parser()

    def items(pattern):
        for op, av in pattern:
            if op == c.LITERAL:
                if av == 0x2F:
                    return True
            elif op == c.NOT_LITERAL:
                if av != 0x2F:
                    return True
            elif op == c.ANY:
                return True
            elif op == c.IN:
                if in_class(av):
                    return True
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
                if items(av[2]):
                    return True
            elif op == c.SUBPATTERN:
                if items(av[-1]):
                    return True
            elif op == c.BRANCH:
                if any(items(branch) for branch in av[1]):
                    return True
            elif op == getattr(c, "ATOMIC_GROUP", None):
                if items(av):
                    return True
            elif op in (c.AT, c.ASSERT, c.ASSERT_NOT, c.GROUPREF):
                # Zero-width, or a copy of an earlier group (already looked at).
                continue
            else:
                return True
        return False

    def in_class(members):
        negate = False
        hit = False
        for op, av in members:
            if op == c.NEGATE:
                negate = True
            elif op == c.LITERAL:
                hit = hit or av == 0x2F
            elif op == c.RANGE:
                hit = hit or av[0] <= 0x2F <= av[1]
            elif op == c.CATEGORY:
                # `/` is no digit, space or word character: only the negations hold it.
                hit = hit or str(av).startswith("CATEGORY_NOT_")
            else:
                return True
        return hit != negate

    try:
        return items(sre_parse.parse(regex))
    except Exception:
        return True


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


def text(value):
    return {"kind": "static", "text": value}


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


# ---------------------------------------------------------------------------------------
# APPEND_SLASH twins of a route that ends in a regex.
#
# CommonMiddleware redirects a path `x` that does not end in `/` when `x/` resolves. When
# the route ends in a literal `/`, the allowlist derives that twin itself; when it ends in
# a regex (wiki's `^(?P<path>.+/|)$`), the twin's last parameter is the regex's right
# quotient by `/` ({x : x/ matches}), less what ends in `/`. Both are computed on Python's
# own parse of the regex and printed back as a Python regex (the standard library has no
# printer, hence `_unparse`); whether an atom matches `/` or nothing is asked of `re`.


class Unsupported(Exception):
    """The regex holds something the quotient does not handle: no twin is derived."""


def slash_twin_regex(regex, empty_allowed):
    """The Python regex of {x : x + "/" fullmatches `regex`, x does not end in `/`, and x
    is not empty unless `empty_allowed`}, or None when that set is empty or cannot be
    computed."""
    return _redirected_regex(regex, empty_allowed, quotient=True)


def not_ending_in_slash_regex(regex, empty_allowed):
    """The Python regex of what `regex` fullmatches that does not end in `/` (and is not
    empty unless `empty_allowed`), or None when that set is empty or cannot be computed."""
    return _redirected_regex(regex, empty_allowed, quotient=False)


def _redirected_regex(regex, empty_allowed, quotient):
    sre_parse, c = regex_parser()
    try:
        parsed = sre_parse.parse(regex)
        flags = parsed.state.flags if hasattr(parsed, "state") else parsed.pattern.flags
        heads = _quotient(list(parsed), flags) if quotient else [list(parsed)]
        alternatives = []
        for head in heads:
            alternatives += _not_ending_in_slash(head, flags, empty_allowed)
        if not alternatives:
            return None
        body = "|".join(dict.fromkeys(_unparse(alt, c) for alt in alternatives))
        return _flag_prefix(flags, c) + body
    except (Unsupported, re.error, RecursionError):
        return None


_FLAG_LETTERS = (("IGNORECASE", "i"), ("MULTILINE", "m"), ("DOTALL", "s"), ("VERBOSE", "x"), ("ASCII", "a"))


def _flag_prefix(flags, c):
    letters = "".join(letter for name, letter in _FLAG_LETTERS if flags & getattr(c, f"SRE_FLAG_{name}"))
    return f"(?{letters})" if letters else ""


def _atom_matches(item, flags, text):
    """Whether the one-item sequence `item` fullmatches `text`, asked of `re`."""
    sre_parse, c = regex_parser()
    return re.fullmatch(_flag_prefix(flags, c) + _unparse([item], c), text) is not None


def _nullable(item, flags):
    return _atom_matches(item, flags, "")


def _quotient(sequence, flags):
    """Sequences whose union is {x : x + "/" matches `sequence`}."""
    sre_parse, c = regex_parser()
    if not sequence:
        return []
    *head, last = sequence
    op, av = last
    if op in (c.LITERAL, c.NOT_LITERAL, c.ANY, c.IN):
        return [head] if _atom_matches(last, flags, "/") else []
    if op == c.SUBPATTERN:
        group, add, remove, inner = av
        scoped = (flags | add) & ~remove
        out = [head + [(c.SUBPATTERN, (None, add, remove, alt))] for alt in _quotient(list(inner), scoped)]
        return out + (_quotient(head, flags) if _nullable(last, flags) else [])
    if op == c.BRANCH:
        out = [head + [_group([alt])] for branch in av[1] for alt in _quotient(list(branch), flags)]
        return out + (_quotient(head, flags) if _nullable(last, flags) else [])
    if op in (c.MAX_REPEAT, c.MIN_REPEAT):
        low, high, inner = av
        out = []
        if high != 0:
            rest = _repeat(op, max(low - 1, 0), high, inner, c)
            out += [head + rest + [_group([alt])] for alt in _quotient(list(inner), flags)]
        if low == 0 or _nullable((c.SUBPATTERN, (None, 0, 0, inner)), flags):
            out += _quotient(head, flags)
        return out
    raise Unsupported(op)


def _not_ending_in_slash(sequence, flags, empty_allowed):
    """Sequences whose union is what `sequence` matches that does not end in `/` (and is
    not empty unless `empty_allowed`)."""
    if not sequence:
        return [[]] if empty_allowed else []
    *head, last = sequence
    out = [head + [alt] for alt in _nonempty_not_slash(last, flags)]
    if _nullable(last, flags):
        out += _not_ending_in_slash(head, flags, empty_allowed)
    return out


def _nonempty_not_slash(item, flags):
    """Items whose union is what `item` matches that is not empty and ends in no `/`."""
    sre_parse, c = regex_parser()
    op, av = item
    if op in (c.LITERAL, c.NOT_LITERAL, c.ANY, c.IN):
        if not _atom_matches(item, flags, "/"):
            return [item]
        return _class_without_slash(item, flags, c)
    if op == c.SUBPATTERN:
        group, add, remove, inner = av
        scoped = (flags | add) & ~remove
        return [(c.SUBPATTERN, (None, add, remove, alt)) for alt in _not_ending_in_slash(list(inner), scoped, False)]
    if op == c.BRANCH:
        return [_group([alt]) for branch in av[1] for alt in _not_ending_in_slash(list(branch), flags, False)]
    if op in (c.MAX_REPEAT, c.MIN_REPEAT):
        low, high, inner = av
        if high == 0:
            return []
        # The last non-empty repetition ends the match; empty ones may pad the count.
        before = max(low - 1, 0) if not _nullable((c.SUBPATTERN, (None, 0, 0, inner)), flags) else 0
        rest = _repeat(op, before, high, inner, c)
        return [_group([rest + alt]) for alt in _not_ending_in_slash(list(inner), flags, False)]
    raise Unsupported(op)


def _class_without_slash(item, flags, c):
    """One-character `item` (which matches `/`) less `/`, as items."""
    op, av = item
    if op == c.LITERAL:
        return []
    if op == c.NOT_LITERAL:
        return [(c.IN, [(c.NEGATE, None), (c.LITERAL, av), (c.LITERAL, 0x2F)])]
    if op == c.ANY:
        if flags & c.SRE_FLAG_DOTALL:
            return [(c.NOT_LITERAL, 0x2F)]
        return [(c.IN, [(c.NEGATE, None), (c.LITERAL, 0x0A), (c.LITERAL, 0x2F)])]
    members = list(av)
    if members and members[0][0] == c.NEGATE:
        return [(c.IN, members + [(c.LITERAL, 0x2F)])]
    kept, alone = [], []
    for member_op, member in members:
        if member_op == c.LITERAL and member == 0x2F:
            continue
        if member_op == c.RANGE and member[0] <= 0x2F <= member[1]:
            low, high = member
            kept += [(c.RANGE, (low, 0x2E))] if low < 0x2F else []
            kept += [(c.RANGE, (0x30, high))] if high > 0x2F else []
        elif member_op == c.CATEGORY and str(member).startswith("CATEGORY_NOT_"):
            # `\W` less `/` is `[^\w/]`, which a class cannot say next to other members.
            positive = getattr(c, str(member).replace("CATEGORY_NOT_", "CATEGORY_"))
            alone.append((c.IN, [(c.NEGATE, None), (c.CATEGORY, positive), (c.LITERAL, 0x2F)]))
        else:
            kept.append((member_op, member))
    out = ([(c.IN, kept)] if kept else []) + alone
    for atom in out:
        if _atom_matches(atom, flags, "/"):
            raise Unsupported("a class that still matches /")
    return out


def _group(sequences):
    sre_parse, c = regex_parser()
    return (c.BRANCH, (None, sequences)) if len(sequences) > 1 else (c.SUBPATTERN, (None, 0, 0, sequences[0]))


def _repeat(op, low, high, inner, c):
    if high != c.MAXREPEAT:
        high -= 1
    if high == 0:
        return []
    return [(op, (low, high, inner))]


_CATEGORIES = {
    "CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D",
    "CATEGORY_SPACE": r"\s", "CATEGORY_NOT_SPACE": r"\S",
    "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W",
}


def _char(code, in_class):
    ch = chr(code)
    special = "\\]^-[" if in_class else ".^$*+?{}[]|()\\#"
    if ch in special or (in_class and ch in "&~"):
        return "\\" + ch
    if ch.isprintable() and not ch.isspace():
        return ch
    return f"\\x{code:02x}" if code < 0x100 else (f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")


def _unparse(sequence, c):
    """Python regex text for a parsed sequence (the inverse of `sre_parse.parse`, for the
    node kinds the quotient produces)."""
    out = []
    for op, av in sequence:
        if op == c.LITERAL:
            out.append(_char(av, False))
        elif op == c.NOT_LITERAL:
            out.append("[^" + _char(av, True) + "]")
        elif op == c.ANY:
            out.append(".")
        elif op == c.IN:
            parts = []
            for member_op, member in av:
                if member_op == c.NEGATE:
                    parts.append("^")
                elif member_op == c.LITERAL:
                    parts.append(_char(member, True))
                elif member_op == c.RANGE:
                    parts.append(_char(member[0], True) + "-" + _char(member[1], True))
                elif member_op == c.CATEGORY:
                    parts.append(_CATEGORIES[str(member)])
                else:
                    raise Unsupported(member_op)
            out.append("[" + "".join(parts) + "]")
        elif op == c.SUBPATTERN:
            group, add, remove, inner = av
            if add or remove:
                on = "".join(letter for name, letter in _FLAG_LETTERS if add & getattr(c, f"SRE_FLAG_{name}"))
                off = "".join(letter for name, letter in _FLAG_LETTERS if remove & getattr(c, f"SRE_FLAG_{name}"))
                if (add | remove) & ~sum(getattr(c, f"SRE_FLAG_{name}") for name, _ in _FLAG_LETTERS):
                    raise Unsupported("scoped flags")
                out.append(f"(?{on}{'-' + off if off else ''}:" + _unparse(inner, c) + ")")
            else:
                out.append(("(" if group else "(?:") + _unparse(inner, c) + ")")
        elif op == c.BRANCH:
            out.append("(?:" + "|".join(_unparse(branch, c) for branch in av[1]) + ")")
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
            low, high, inner = av
            inner_text = _unparse(inner, c)
            if not (len(inner) == 1 and inner[0][0] in (c.LITERAL, c.NOT_LITERAL, c.ANY, c.IN, c.SUBPATTERN, c.BRANCH)):
                inner_text = "(?:" + inner_text + ")"
            if high == c.MAXREPEAT:
                quantifier = {0: "*", 1: "+"}.get(low, f"{{{low},}}")
            elif low == 0 and high == 1:
                quantifier = "?"
            else:
                quantifier = f"{{{low}}}" if low == high else f"{{{low},{high}}}"
            out.append(inner_text + quantifier + ("?" if op == c.MIN_REPEAT else ""))
        else:
            raise Unsupported(op)
    return "".join(out)


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


def slash_twins(pieces, open_rest):
    """The pieces of the paths APPEND_SLASH redirects to a route of `pieces` ({x : x/
    is a path of `pieces`, x does not end in `/`}) that the allowlist does not derive
    itself (it does for a final literal `/` when nothing may follow and that twin is
    exact): a final literal `/` taken off, a final parameter's regex quotient by `/`, and,
    when the final parameter may be empty, the twins of what comes before it."""
    last = pieces[-1] if pieces else None
    if last is None:
        return []
    if last["kind"] == "static":
        if last["text"].endswith("/") and (open_rest or not allowlist_twin_is_exact(pieces)):
            return not_ending_in_slash(merged(pieces[:-1] + [text(last["text"][:-1])]))
        return []
    regex = last["converter"]["regex"]
    twins = []
    quotient = slash_twin_regex(regex, False)
    if quotient is not None:
        twins.append(pieces[:-1] + [with_regex(last, quotient)])
    if re.fullmatch(regex, "/"):
        twins += not_ending_in_slash(pieces[:-1])  # the parameter is the `/` alone
    if re.fullmatch(regex, ""):
        twins += slash_twins(pieces[:-1], True)
    return twins


def not_ending_in_slash(pieces):
    """`pieces` as lists of pieces whose paths are those of `pieces` that do not end in
    `/` (what APPEND_SLASH may redirect)."""
    last = pieces[-1] if pieces else None
    if last is None:
        return []
    if last["kind"] == "static":
        return [] if last["text"].endswith("/") else [pieces]
    regex = last["converter"]["regex"]
    out = []
    restricted = not_ending_in_slash_regex(regex, False)
    if restricted is not None:
        out.append(pieces[:-1] + [with_regex(last, restricted)])
    if re.fullmatch(regex, ""):
        out += not_ending_in_slash(pieces[:-1])
    return out


def with_regex(param, regex):
    """`param` matching `regex` instead of its own."""
    converter = dict(param["converter"], regex=regex, part_isolating=not can_match_slash(regex))
    return dict(param, converter=converter)


def allowlist_twin_is_exact(pieces):
    """Whether the path less a final literal `/` (the twin the allowlist derives for a
    route that is not `exact`) is what APPEND_SLASH redirects: the route ends in `/`, and
    what comes before that `/` can neither be empty nor end in `/` (`^a/x?/$` matches
    `/a//`, whose slash-less `/a/` Django never redirects)."""
    last = pieces[-1] if pieces else None
    if last is None or last["kind"] != "static" or not last["text"].endswith("/"):
        return True
    if len(last["text"]) > 1:
        return last["text"][-2] != "/"
    before = pieces[-2] if len(pieces) > 1 else None
    if before is None or before["kind"] != "param":
        return True
    regex = before["converter"]["regex"]
    return re.fullmatch(regex, "") is None and slash_twin_regex(regex, True) is None and not _unknown(regex)


def _unknown(regex):
    """Whether the quotient cannot read `regex` (then nothing about it is assumed)."""
    sre_parse, c = regex_parser()
    try:
        parsed = sre_parse.parse(regex)
        flags = parsed.state.flags if hasattr(parsed, "state") else parsed.pattern.flags
        _quotient(list(parsed), flags)
        return False
    except (Unsupported, re.error, RecursionError):
        return True


def merged(segments):
    """Adjacent text pieces as one."""
    out = []
    for piece in segments:
        if piece["kind"] == "static" and not piece["text"]:
            continue
        if out and piece["kind"] == "static" and out[-1]["kind"] == "static":
            out[-1] = text(out[-1]["text"] + piece["text"])
        else:
            out.append(piece)
    return out


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
