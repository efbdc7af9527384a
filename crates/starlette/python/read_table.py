"""The Starlette part of routewall's dump script: reads an ASGI app's router into a route table.

It runs after crates/python-host/python/host.py and pieces.py in one script, so
`AppError`, `one_line`, `framework_version`, `SCHEMA_VERSION` and the route pieces'
helpers (`text`, `merged`, `slash_twins`, `not_ending_in_slash`, `can_match_slash`) come
from the host part; this part defines `read_table`.

Starlette is asked, never modelled: every route's pieces come from its own `path` split
with Starlette's `PARAM_REGEX` and the convertors the route holds, and are checked against
the regex Starlette compiled (`path_regex`). FastAPI routes are Starlette routes; its
included routers are read through their own effective routes. How the router answers,
and how that becomes routes (see `read_router`):
* a router tries its routes in order and runs the first that matches the path (any
  method: another method is a 405, still the app's answer);
* a `Mount` matches its prefix, a `/`, then anything without a newline; with a router
  (`routes=`, a mounted Starlette or FastAPI app) that router decides alone, so later
  routes under the prefix are never reached, and a path it refuses is a 404; with any
  other ASGI app (`StaticFiles`, a WSGI app) the whole prefix is the app's;
* when nothing matches and the router has `redirect_slashes`, a path ending in `/` is
  tried with every trailing `/` taken off, any other path with one `/` added, and a
  match answers 307: those paths are routes of their own (`exact`, any method).
"""

# The parameter that stands for what follows a mount's prefix (Starlette's own
# `{path:path}`, whose `.*` stops at a newline).
_MOUNT_REST = ".*"

# The run of trailing slashes redirect_slashes strips (`rstrip("/")`).
_SLASHES = "/+"


class Unreadable(AppError):  # noqa: F821 - AppError comes from host.py
    """A route the allowlist cannot say exactly: nothing is written."""


def load_app(spec, working_dir, factory):
    """The object `spec` names in uvicorn's notation (`module:attribute`, the attribute
    dotted), imported with the working directory first on sys.path; called when `factory`."""
    import importlib

    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise AppError(f"`{spec}` is not in uvicorn's notation MODULE:ATTRIBUTE (main:app)")  # noqa: F821
    working_dir = os.path.abspath(working_dir)
    if working_dir not in sys.path:
        sys.path.insert(0, working_dir)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.split(".")[0] == exc.name.split(".")[0]:
            raise AppError(f"no module `{module_name}` in {working_dir}, PYTHONPATH or site-packages") from None  # noqa: F821
        raise
    app = module
    for name in attribute.split("."):
        try:
            app = getattr(app, name)
        except AttributeError:
            raise AppError(f"module `{module_name}` has no attribute `{attribute}`") from None  # noqa: F821
    if factory:
        if not callable(app):
            raise AppError(f"`{spec}` is no factory: it cannot be called (drop --factory)")  # noqa: F821
        app = app()
    return app


def router_of(app, spec):
    """The app that owns the router an ASGI app routes with (a Starlette or FastAPI app,
    a Router itself, or either inside middleware that wraps it, `.app`) and the router."""
    from starlette.routing import Router

    seen = 0
    while True:
        if isinstance(app, Router):
            return app, app
        router = getattr(app, "router", None)
        if isinstance(router, Router):
            return app, router
        inner = getattr(app, "app", None)
        seen += 1
        if inner is None or seen > 20:
            raise AppError(  # noqa: F821
                f"`{spec}` is no Starlette or FastAPI app and wraps none ({type(app).__name__})"
            )
        app = inner


def convertor_name(convertor):
    """The name a path uses for `convertor` (`int`), read from Starlette's registry."""
    from starlette.convertors import CONVERTOR_TYPES

    for name, registered in CONVERTOR_TYPES.items():
        if registered is convertor:
            return name
    return type(convertor).__name__


def path_pieces(path, convertors, compiled, label, host=False):
    """A route path (or with `host` a Host pattern) as pieces, split the way Starlette's
    compile_path splits it, with the convertors the route holds; checked against the regex
    Starlette compiled."""
    from starlette.routing import PARAM_REGEX

    pieces, expected, pos = [], "^", 0
    for m in PARAM_REGEX.finditer(path):
        name = m.group(1)
        convertor = convertors.get(name)
        if convertor is None:
            raise Unreadable(f"route `{label}`: no convertor for the parameter `{name}`")
        if m.start() > pos:
            pieces.append(text(path[pos : m.start()]))  # noqa: F821
        regex = convertor.regex
        pieces.append({
            "kind": "param",
            "name": name,
            "converter": {
                "name": convertor_name(convertor),
                "class": type(convertor).__name__,
                "regex": regex,
                "dialect": "python",
                "part_isolating": not can_match_slash(regex),  # noqa: F821
            },
        })
        expected += re.escape(path[pos : m.start()]) + f"(?P<{name}>{regex})"
        pos = m.end()
    tail = path[pos:]
    if host and not tail.endswith("]"):
        tail = tail.rsplit(":", 1)[0]  # Starlette ignores a Host pattern's port
    if tail:
        pieces.append(text(tail))  # noqa: F821
    expected += re.escape(tail) + "$"
    if compiled is not None and compiled.pattern != expected:
        raise Unreadable(
            f"route `{label}`: its regex `{compiled.pattern}` is not the one Starlette compiles from its path"
        )
    if host:
        # Starlette matches the request's host, lower-cased, case-insensitively; nginx's
        # `$host` is lower case too.
        pieces = [dict(p, text=p["text"].lower()) if p["kind"] == "static" else p for p in pieces]
    return merged(pieces)  # noqa: F821


def without_newline(pieces):
    """`pieces` matching nothing with a newline: under a mount, whose `.*` stops at one."""
    out = []
    for piece in pieces:
        if piece["kind"] == "param":
            regex = piece["converter"]["regex"]
            if re.search(regex, "\n"):
                restricted = without_character_regex(regex, 0x0A)  # noqa: F821
                if restricted is None:
                    raise Unreadable(
                        f"the convertor regex `{regex}` under a mount: routewall cannot take the newline out of it"
                    )
                piece = with_regex(piece, restricted)  # noqa: F821
        out.append(piece)
    return out


def literal_start(pieces):
    """The text before the first parameter, and the pieces after it."""
    start = ""
    for i, piece in enumerate(pieces):
        if piece["kind"] != "static":
            return start, pieces[i:]
        start += piece["text"]
    return start, []


def under_mount(pieces, mount):
    """How much of `pieces` lies under the mount whose prefix pieces are `mount` (its
    `/{path:path}` matches what follows `prefix/`): "all", "none" or "some"."""
    prefix, prefix_rest = literal_start(mount)
    start, rest = literal_start(pieces)
    boundary = prefix if prefix_rest else prefix + "/"
    if not prefix_rest and start.startswith(boundary):
        return "all"
    if not (boundary.startswith(start) or start.startswith(boundary)):
        return "none"
    if prefix_rest:
        return "some"
    if not rest:
        return "none"  # a proper start of `prefix/`, with nothing after it
    need = boundary[len(start) :]
    if need == "/" and len(rest) == 1 and rest[0]["converter"]["regex"] == _SLASHES:
        return "all"  # `prefix` + slashes: the mount's
    if len(rest) == 1 and not can_match_slash(rest[0]["converter"]["regex"]):  # noqa: F821
        return "none"  # one parameter that never reaches the `/` after the prefix
    return "some"


def slashes():
    return {
        "kind": "param",
        "name": "slashes",
        "converter": {
            "name": "redirect_slashes",
            "class": "Router",
            "regex": _SLASHES,
            "dialect": "python",
            "part_isolating": False,
        },
    }


def mount_rest():
    return {
        "kind": "param",
        "name": "path",
        "converter": {
            "name": "path",
            "class": "Mount",
            "regex": _MOUNT_REST,
            "dialect": "python",
            "part_isolating": False,
        },
    }


def any_rest():
    """The parameter for any rest of a path, newlines included (what an opaque app under
    a Host route or a frontend route takes)."""
    return {"kind": "param", "name": "path", "converter": dict(mount_rest()["converter"], regex="(?s:.*)")}


class Walk:
    """The routes read so far, each once, and the paths seen (for `joins_allow`)."""

    def __init__(self):
        self.routes = []
        self.seen = set()
        self.paths = set()

    def add(self, route):
        key = json.dumps([route["segments"], route["methods"], route["websocket"], route["domain"]],
                         sort_keys=True)
        if key in self.seen:
            return
        self.seen.add(key)
        path = json.dumps([route["segments"], route["websocket"], route["domain"]], sort_keys=True)
        if path in self.paths and route["joins_allow"]:
            # An earlier route with the same path matches first: a method neither accepts
            # gets its 405, whose Allow lists its methods only.
            route["joins_allow"] = False
        self.paths.add(path)
        self.routes.append(route)


def route(endpoint, rule, segments, methods, websocket=False, domain=None):
    return {
        "domain": domain,
        "endpoint": endpoint,
        "rule": rule,
        "segments": merged(segments),  # noqa: F821
        "methods": methods,
        # Starlette neither merges slashes nor answers a path with or without its final
        # `/` but through redirect_slashes, whose paths are routes of their own.
        "strict_slashes": True,
        "merge_slashes": False,
        "exact": True,
        "websocket": websocket,
        # A plain request for a WebSocket route's path is Starlette's 404, whatever the
        # method: the route lets its handshake (GET) through and answers no 405.
        "joins_allow": not websocket,
    }


def frontend_paths(router):
    """The paths of FastAPI's frontend routes in `router` (its own and its included
    routers'), joined with their prefixes by FastAPI itself."""
    low = list(getattr(router, "_low_priority_routes", None) or [])
    iterate = getattr(router, "_iter_low_priority_routes", None)
    if iterate is not None:
        low = list(iterate())
    if not low:
        return []
    try:
        from fastapi.routing import _join_frontend_paths
    except ImportError:
        raise Unreadable("FastAPI frontend routes of this FastAPI version are not read yet") from None
    paths = []
    for candidate in low:
        group = getattr(candidate, "original_route", candidate)
        prefix = getattr(candidate, "frontend_prefix", "")
        routes = getattr(group, "routes", None)
        if routes is None:
            raise Unreadable(f"unknown low-priority route type {type(group).__name__} in the router")
        paths += [_join_frontend_paths(prefix, route.path) for route in routes]
    return paths


def flat_routes(routes):
    """A router's routes in the order it tries them, FastAPI's included routers (which
    match as their routes would, in place) opened."""
    for entry in routes:
        candidates = getattr(entry, "effective_candidates", None)
        if candidates is not None and getattr(entry, "original_router", None) is not None:
            # (Its frontend routes come with the including router's, frontend_paths.)
            yield from flat_routes(candidates())
        elif hasattr(entry, "original_route") and not hasattr(entry, "matches_with_prefix"):
            # FastAPI's effective route: a Starlette route with the prefix applied, or an
            # APIRoute's path, regex, convertors and methods as included.
            yield entry.starlette_route if entry.starlette_route is not None else entry
        else:
            yield entry


def leaf_methods(entry):
    methods = getattr(entry, "methods", None)
    return sorted(methods) if methods else None


def read_router(router, prefix, rule_prefix, mounted, walk, domain=None, outer=()):
    """Every route of `router`, whose paths follow `prefix` (pieces) in the request, on
    hosts matching `domain` (pieces; None: any host). `outer`: the mounts whose routers
    decide alone before this router is reached (absolute prefix pieces and a label)."""
    from starlette.routing import Host, Mount, WebSocketRoute

    mounts = []  # (absolute prefix pieces, whether a router decides under it, label)
    hosts = []  # (Host, its domain pieces) in order
    answered = []  # relative pieces of what an http request matches, for redirect_slashes
    answered_methods = []  # their methods (None: any), aligned with `answered`
    matchers = []  # the compiled path regexes of the router's http entries (Starlette's own)

    def place(pieces):
        return without_newline(pieces) if mounted else pieces

    def deciding():
        return list(outer) + [(m, label) for m, decides, label in mounts if decides]

    def settle(pieces, label, every_mount=False):
        """The absolute pieces of relative `pieces` less what a mount before takes (any
        mount of this router with `every_mount`: redirect_slashes never sees a path a
        mount matches), as a list of piece lists (empty when one takes them all)."""
        pieces = merged(prefix + place(pieces))  # noqa: F821
        candidates = [(m, True, label) for m, label in outer] + mounts
        seen = [(under_mount(pieces, m), decides, m, m_label) for m, decides, m_label in candidates]
        if any(s == "all" and (decides or every_mount) for s, decides, _, _ in seen):
            return []
        overlapping = [(m, m_label) for s, decides, m, m_label in seen if s == "some" and decides]
        if not overlapping:
            return [pieces]
        return without_mounts(pieces, overlapping, label)

    def add(endpoint, rule, pieces, methods, websocket=False, every_mount=False, joins_allow=True):
        """Adds the route of relative `pieces` unless mounts before take all its paths;
        returns whether it did."""
        parts = settle(pieces, rule, every_mount)
        for part in parts:
            added = route(endpoint, rule, part, methods, websocket, domain)
            added["joins_allow"] = added["joins_allow"] and joins_allow
            walk.add(added)
        return bool(parts)

    def add_carved(endpoint, rule, shape, others, methods, every_mount=False):
        """Adds `shape` less what the routes `others` match (carve) where that, and what
        mounts before take, can be said; else `shape` whole (exact for paths, not for
        the methods of the paths the others match: README)."""
        outside = outer_shapes()
        parts = None if outside is None else carve(shape, others + outside)
        if parts is not None and parts != [shape]:
            # Carved of every route and mount of this router and of the mounts before
            # it: no mount takes any of these paths.
            for part in parts:
                walk.add(route(endpoint, rule, merged(prefix + place(part)), methods, False, domain))  # noqa: F821
            return
        add(endpoint, rule, shape, methods, every_mount=every_mount)

    def outer_shapes():
        """The mounts before this router as its own prefix shapes (`api/` + `.*`), or None
        when one is no literal prefix."""
        start = literal_text(prefix)
        if start is None:
            return None
        shapes = []
        for mount, _ in outer:
            text_ = literal_text(mount)
            if text_ is None:
                return None
            if (text_ + "/").startswith(start + "/"):
                shapes.append([text((text_ + "/")[len(start) :]), mount_rest()])  # noqa: F821
        return shapes

    for entry in flat_routes(router.routes):
        if isinstance(entry, Host):
            read_host(entry, hosts, domain, prefix, rule_prefix, mounted, walk, deciding())
            continue
        label = rule_prefix + (getattr(entry, "path", None) or "")
        if hosts:
            raise Unreadable(
                f"`{label}` comes after the Host route `{hosts[0][0].host}`: Starlette matches it "
                "only on the hosts no Host route before it matches, which routewall cannot say yet"
            )
        if isinstance(entry, Mount):
            label = rule_prefix + entry.path + "/"
            compiled = path_pieces(entry.path + "/{path:path}", entry.param_convertors, entry.path_regex, label)
            # The prefix: what comes before the final `/` and `{path:path}`.
            *mount, before_rest, _ = compiled
            mount = merged(mount + [text(before_rest["text"][:-1])])  # noqa: F821
            inner = mount_router(entry)
            decides = inner is not None
            absolute = merged(prefix + place(mount))  # noqa: F821
            if not settle(mount + [text("/")], label):  # noqa: F821
                mounts.append((absolute, decides, label))
                continue
            if decides:
                read_router(inner, absolute, label.rstrip("/"), True, walk, domain, deciding())
            else:
                name = entry.name or type(entry.app).__name__
                add(f"{name} (mount)", label + "{path:path}", mount + [text("/"), mount_rest()], None)  # noqa: F821
            mounts.append((absolute, decides, label))
            answered.append(mount + [text("/"), mount_rest()])  # noqa: F821
            answered_methods.append(None)
            matchers.append(entry.path_regex)
            continue
        path = getattr(entry, "path", None)
        if path is None or getattr(entry, "path_regex", None) is None:
            raise Unreadable(f"unknown route type {type(entry).__name__} in the router")
        pieces = path_pieces(path, entry.param_convertors, entry.path_regex, label)
        websocket = isinstance(entry, WebSocketRoute) or type(entry).__name__ == "APIWebSocketRoute"
        endpoint = getattr(entry, "name", None) or label
        methods = ["GET"] if websocket else leaf_methods(entry)
        # A 405 lists the first matching route's methods: where earlier routes match
        # (for some method), this route's methods join no Allow list (carve).
        # (An earlier route with the same methods sends the same Allow: left aside.)
        differing = [a for a, m in zip(answered, answered_methods) if m != methods]
        parts = carve(pieces, differing) if methods and not websocket else None
        settled = None
        if parts is not None and parts != [pieces]:
            try:
                settled = [p for part in parts for p in settle(part, label)]
            except Unreadable:
                settled = None  # the Allow stays the union (README)
        if settled is not None:
            if not add(endpoint, label, pieces, methods, websocket, joins_allow=False):
                continue
            for part in settled:
                walk.add(route(endpoint, label, part, methods, websocket, domain))
        elif not add(endpoint, label, pieces, methods, websocket):
            continue
        if not websocket:
            answered.append(pieces)
            answered_methods.append(methods)
            matchers.append(entry.path_regex)
    for path in frontend_paths(router):
        # FastAPI's frontend routes (`app.frontend(path, directory=…)`), tried after
        # everything else, redirect_slashes included: `path` and what is under `path/`
        # (everything for `/`), answered like StaticFiles (an opaque app: every method
        # reaches it, files and the index.html fallback decide).
        # What a route of the router matches (for some method) never reaches it: taken
        # out where that can be said (carve).
        rest = any_rest()
        shapes = [[text("/"), rest]] if path == "/" else [[text(path)], [text(path + "/"), rest]]  # noqa: F821
        for shape in shapes:
            rule = rule_prefix + "".join(p["text"] if p["kind"] == "static" else "{path:path}" for p in shape)
            add_carved(f"frontend {path}", rule, shape, answered, None)
    if not getattr(router, "redirect_slashes", False) or hosts:
        # With Host routes, the redirect applies only on the hosts none of them matches,
        # which the model cannot say: those 307s are refused (never widened).
        return
    bases = [merged(pieces) for pieces in answered]  # noqa: F821
    for pieces in answered:
        base = merged(pieces)  # noqa: F821
        twins = slash_twins(base, True)  # noqa: F821 - a path that matches with one `/` more
        twins += [t + [slashes()] for t in not_ending_in_slash(base)]  # noqa: F821 - trailing `/`s less
        for twin in twins:
            twin = merged(twin)  # noqa: F821
            if not twin or matched_first(twin, answered, matchers):
                continue
            twin = without_literal_paths(twin, answered)
            if twin is None or twin in bases:
                continue  # a route of its own: it decides
            if twin[-1] == slashes() and merged(twin[:-1] + [text("/")]) in bases:  # noqa: F821
                # `x/` is a route of its own (`/{name}` GET and `/{name}/` POST): the
                # redirect takes `x//`, `x///`… only.
                twin = twin[:-1] + [with_regex(slashes(), "//+")]  # noqa: F821
            label = rule_prefix + "".join(p["text"] if p["kind"] == "static" else "{" + p["name"] + "}" for p in twin)
            add_carved(f"{label} (redirect_slashes)", label, twin, answered, None, every_mount=True)


def without_mounts(pieces, mounts, label):
    """`pieces` less the paths under `mounts` (absolute prefix pieces, label) that may
    take some of them, as piece lists. Exact in two shapes, refused otherwise:
    * literal text and one final parameter that is one class repeated (a catch-all
      `/{p:path}` after `Mount("/api", …)`): its values then start with none of the
      mounts' `prefix/` (`prefix_free_parts`: one route per start of a prefix);
    * literal text, a parameter that takes no `/`, then what starts with `/`
      (`/{page}/+`, redirect_slashes' path of `/{page}`, under a mount `/svc`): the
      parameter then takes none of the mounts' segments (`svc`)."""
    start, rest = literal_start(pieces)

    def refuse():
        return Unreadable(
            f"`{label}` overlaps the mounts {', '.join(f'`{m}`' for _, m in mounts)} that decide before it: "
            "routewall cannot say which of its paths they leave to it"
        )

    words = []
    for mount, _ in mounts:
        prefix = literal_text(mount)
        boundary = None if prefix is None else prefix + "/"
        if boundary is None or not boundary.startswith(start):
            raise refuse()
        words.append(boundary[len(start) :])
    if len(rest) == 1:
        parts = prefix_free_parts(rest[0]["converter"]["regex"], words)  # noqa: F821
        if parts is None:
            raise refuse()
        head = pieces[:-1]
        return [merged(head + [text(more)] + ([with_regex(rest[0], tail)] if tail else []))  # noqa: F821
                for more, tail in parts]
    first, after = rest[0], rest[1:]
    starts_with_slash = (after[0]["kind"] == "static" and after[0]["text"].startswith("/")) or (
        after[0]["kind"] == "param" and after[0]["converter"]["regex"] in ("/+", "//+"))
    segments = [w[:-1] for w in words]
    if (first["kind"] != "param" or can_match_slash(first["converter"]["regex"])  # noqa: F821
            or not starts_with_slash or any("/" in segment for segment in segments)):
        raise refuse()
    regex = without_words_regex(first["converter"]["regex"], segments)  # noqa: F821
    if regex is None:
        raise refuse()
    return [pieces[: len(pieces) - len(rest)] + [with_regex(first, regex)] + after]  # noqa: F821


def carve(pieces, others):
    """`pieces` less the paths of `others` (a router's routes, relative pieces), where
    that can be said: `pieces` is literal (asked of each route's pattern), or ends in one
    parameter that is one class repeated after a head of its own; another route that shares that head (the same
    pieces, parameters included) and goes on with literal text (`/input/filter` beside
    `/input/{key}`) or literal text and a final `.*` (`/files/{p:path}`, a mount's
    `prefix/…`) is taken out of that parameter (`prefix_free_parts`); another whose
    literal start parts from `pieces`' is left aside. None when some other route may
    overlap in another way (then nothing is taken out: README, "Starlette": --methods)."""
    pieces = merged(pieces)  # noqa: F821
    others = [merged(other) for other in others]  # noqa: F821
    literal = literal_text(pieces)
    if literal is not None:
        # A literal path: asked of each route's own pattern.
        return [] if any(re.fullmatch(pieces_regex(other), literal) for other in others) else [pieces]
    last = pieces[-1]
    if last["kind"] != "param":
        return None
    head = pieces[:-1]
    fixed, tail_text = (head[:-1], head[-1]["text"]) if head and head[-1]["kind"] == "static" else (head, "")
    words, prefixes = [], []
    whole = pieces_regex(pieces)
    for other in others:
        if parts_from(other, pieces):
            continue
        other_literal = literal_text(other)
        if other_literal is not None:
            # A literal path: asked of `pieces`' own pattern.
            if not re.fullmatch(whole, other_literal):
                continue
            head_text = literal_text(head)
            if head_text is None or not other_literal.startswith(head_text):
                return None
            words.append(other_literal[len(head_text) :])
            continue
        if other[: len(fixed)] != fixed:
            return None
        rest = other[len(fixed) :]
        if not rest:
            if tail_text or not re.fullmatch(last["converter"]["regex"], ""):
                continue  # it ends where `pieces` goes on
            return None
        if rest[0]["kind"] != "static" or not rest[0]["text"].startswith(tail_text):
            if rest[0]["kind"] == "static" and not tail_text.startswith(rest[0]["text"]):
                continue  # parts at this text
            if rest[0]["kind"] == "static" and len(rest) == 1:
                continue  # it ends inside the text `pieces` goes on with
            return None
        remainder = rest[0]["text"][len(tail_text) :]
        after = rest[1:]
        if not after:
            words.append(remainder)
        elif len(after) == 1 and after[0]["kind"] == "param" and after[0]["converter"]["regex"] == _MOUNT_REST:
            prefixes.append(remainder)
        else:
            return None
    if not words and not prefixes:
        return [pieces]
    parts = prefix_free_parts(last["converter"]["regex"], prefixes, words)  # noqa: F821
    if parts is None:
        return None
    return [merged(head + [text(more)] + ([with_regex(last, tail)] if tail else []))  # noqa: F821
            for more, tail in parts]


def pieces_regex(pieces):
    """The Python regex of a route's pieces (literal text escaped, parameters' regexes)."""
    return "".join(re.escape(p["text"]) if p["kind"] == "static" else f"(?:{p['converter']['regex']})"
                   for p in pieces)


def parts_from(one, other):
    """Whether the literal starts of two routes part (neither is a start of the other):
    they share no path."""
    a, b = literal_start(one)[0], literal_start(other)[0]
    return not (a.startswith(b) or b.startswith(a))


def without_literal_paths(twin, answered):
    """`twin` (literal text and a final parameter) less the literal paths among
    `answered`: a route matches those (for some method) before redirect_slashes could
    (`/login/` of a POST route is its 405 for GET, not the redirect of `/login`'s
    `/login/`); None when nothing is left."""
    start, rest = literal_start(twin)
    if len(rest) != 1:
        return twin
    words = [path[len(start) :] for path in map(literal_text, answered)
             if path is not None and path.startswith(start)]
    words = [w for w in words if re.fullmatch(rest[0]["converter"]["regex"], w)]
    if not words:
        return twin
    regex = without_words_regex(rest[0]["converter"]["regex"], words)  # noqa: F821
    if regex is None:
        return twin  # README, "Starlette": --methods
    return twin[:-1] + [with_regex(rest[0], regex)]  # noqa: F821


def matched_first(twin, answered, matchers):
    """Whether every path of `twin` is one a route of the router matches (its path, for
    some method), so that the router never redirects it: the route decides, with its own
    methods. Exact for a twin without parameters (asked of the routes' own regexes) and
    for a twin inside a route's final `.*` (`/files/a/` of `/files/{p:path}`, anything
    of a catch-all `/{p:path}`); any other twin is kept (README, "Starlette":
    --methods)."""
    literal = literal_text(twin)
    if literal is not None:
        return any(regex.match(literal) for regex in matchers)
    return any(inside_final_rest(twin, pieces) for pieces in answered)


def inside_final_rest(twin, pieces):
    """Whether `pieces` ends in a `.*` whose start every path of `twin` reaches with
    `pieces`' own head (and so matches every path of it without a newline)."""
    last = pieces[-1] if pieces else None
    if last is None or last["kind"] != "param" or last["converter"]["regex"] != _MOUNT_REST:
        return False
    head = pieces[:-1]
    if twin[: len(head)] != head:
        head_text = literal_text(head)
        if head_text is None or not literal_start(twin)[0].startswith(head_text):
            return False
    # Paths with a newline (which `.` stops at) are left to the route too: Starlette may
    # redirect those, the allowlist refuses them (the newline class, README).
    return True


def read_host(entry, hosts, domain, prefix, rule_prefix, mounted, walk, outer=()):
    """A Host route: what its app answers, on the hosts its pattern matches. A host an
    earlier Host route matches never reaches it: an earlier literal host is taken out of
    this one's parameter (`api.example.org` before `{tenant}.example.org`)."""
    if domain is not None:
        raise Unreadable(f"the Host route `{entry.host}` is inside another Host route")
    pieces = path_pieces(entry.host, entry.param_convertors, entry.host_regex, entry.host, host=True)
    hosts.append((entry, pieces))
    taken = []
    for earlier, earlier_pieces in hosts[:-1]:
        earlier_literal = literal_text(earlier_pieces)
        if literal_text(pieces) is not None and earlier.host_regex.match(literal_text(pieces)):
            return  # every host of it goes to the earlier one
        if literal_text(pieces) is not None:
            continue  # a name the earlier pattern does not match
        if earlier_literal is not None and not entry.host_regex.match(earlier_literal):
            continue
        if earlier_literal is not None:
            taken.append(earlier_literal)
            continue
        raise Unreadable(
            f"the Host routes `{earlier.host}` and `{entry.host}` may match the same host: "
            "Starlette gives it to the first, which routewall cannot say yet"
        )
    if taken:
        pieces = without_hosts(pieces, taken, entry.host)
    inner = mount_router(entry)
    if inner is not None:
        read_router(inner, prefix, rule_prefix, mounted, walk, pieces, outer)
    else:
        name = entry.name or type(entry.app).__name__
        pieces_any = [text("/"), any_rest()]  # noqa: F821
        walk.add(route(f"{name} (host {entry.host})", rule_prefix + "/{path:path}",
                       prefix + (without_newline(pieces_any) if mounted else pieces_any), None, False, pieces))


def literal_text(pieces):
    """The text of pieces without parameters, else None."""
    return "".join(p["text"] for p in pieces) if all(p["kind"] == "static" for p in pieces) else None


def without_hosts(pieces, hosts, label):
    """Host pattern `pieces` (one parameter between literal text) less the literal
    `hosts`: each taken out of the parameter's values."""
    params = [i for i, p in enumerate(pieces) if p["kind"] == "param"]
    if len(params) != 1:
        raise Unreadable(f"the Host route `{label}` has several parameters and hosts before it that it matches")
    i = params[0]
    before = literal_text(pieces[:i]) or ""
    after = literal_text(pieces[i + 1 :]) or ""
    values = [h[len(before) : len(h) - len(after)] for h in hosts]
    regex = without_words_regex(pieces[i]["converter"]["regex"], values)  # noqa: F821
    if regex is None:
        raise Unreadable(
            f"the Host route `{label}`: routewall cannot take the hosts before it out of its parameter's regex"
        )
    return pieces[:i] + [with_regex(pieces[i], regex)] + pieces[i + 1 :]  # noqa: F821


def mount_router(mount):
    """The router that decides under `mount` (or a Host route), or None for an opaque
    ASGI app."""
    from starlette.routing import Router

    app = getattr(mount, "_base_app", mount.app)
    if isinstance(app, Router):
        return app
    router = getattr(app, "router", None)
    if isinstance(router, Router):
        return router
    return None


def root_redirects(router, root):
    """Whether the request for the root_path alone (route path "") gets redirect_slashes'
    307 to `root/`: asked of the routes themselves, as the router asks them."""
    from starlette.routing import Match

    if not getattr(router, "redirect_slashes", False):
        return False
    for method in ("GET", "POST"):
        scope = {"type": "http", "method": method, "path": root, "root_path": root, "headers": []}
        if any(entry.matches(dict(scope))[0] != Match.NONE for entry in router.routes):
            return False  # a route matches "" itself (it decides)
        redirect = dict(scope, path=root + "/")
        if any(entry.matches(dict(redirect))[0] != Match.NONE for entry in router.routes):
            return True
    return False


def read_table(spec, working_dir, options):
    """The host's entry point: the route table of the ASGI app `spec` names."""
    factory = options.pop("factory", "") == "true"
    if options:
        raise AppError(f"the starlette source takes no option {sorted(options)[0]!r}")  # noqa: F821
    try:
        import starlette  # noqa: F401
    except ImportError:
        raise AppError("Starlette is not installed in the app's environment") from None  # noqa: F821
    app = load_app(spec, working_dir, factory)
    owner, router = router_of(app, spec)
    walk = Walk()
    root = getattr(owner, "root_path", "") if type(owner).__module__.startswith("fastapi") else ""
    if root:
        # FastAPI(root_path=R) puts R in every request's scope: Starlette then routes
        # `R/rest` as `/rest` and R itself as "" (redirect_slashes' `R/`), and any other
        # path as it is: the app twice, the second time as if R were a mount before it.
        if not root.startswith("/") or root.endswith("/") or "{" in root:
            raise Unreadable(f"root_path `{root}` is not a plain prefix (`/api`)")
        read_router(router, [text(root)], root, False, walk)  # noqa: F821
        if root_redirects(router, root):
            walk.add(route(f"{root} (redirect_slashes)", root, [text(root)], None))  # noqa: F821
        read_router(router, [], "", False, walk, outer=[([text(root)], f"root_path {root}")])  # noqa: F821
        if not root_redirects(router, root) and any(
            getattr(entry, "path_regex", None) is not None and entry.path_regex.match(root) for entry in router.routes
        ):
            # R alone is the route path "", which no route takes: the route that matches
            # R's text must not let it through, which routewall cannot say yet.
            raise Unreadable(f"a route matches the root_path `{root}` itself, which the app routes as \"\"")
    else:
        read_router(router, [], "", False, walk)
    hosted = any(r["domain"] is not None for r in walk.routes)
    framework = framework_version("starlette", "Starlette")  # noqa: F821
    if type(app).__module__.startswith("fastapi"):
        framework = f"{framework_version('fastapi', 'FastAPI')} ({framework})"  # noqa: F821
    return {
        "schema_version": SCHEMA_VERSION,  # noqa: F821
        "source": "starlette",
        "app": spec,
        "framework": framework,
        # Host routes match the request's host without its port, lower-cased: nginx's $host.
        "domain": {"kind": "host" if hosted else "any"},
        "routes": walk.routes,
        "blocked_query_keys": [],
    }
