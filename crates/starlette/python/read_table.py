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
    """The router an ASGI app routes with: a Starlette or FastAPI app's, a Router itself,
    or the one inside middleware that wraps an app (`.app`)."""
    from starlette.routing import Router

    seen = 0
    while True:
        if isinstance(app, Router):
            return app
        router = getattr(app, "router", None)
        if isinstance(router, Router):
            return router
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


def path_pieces(path, convertors, compiled, label):
    """A route path as pieces, split the way Starlette's compile_path splits it, with
    the convertors the route holds; checked against the regex Starlette compiled."""
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
    if pos < len(path):
        pieces.append(text(path[pos:]))  # noqa: F821
    expected += re.escape(path[pos:]) + "$"
    if compiled is not None and compiled.pattern != expected:
        raise Unreadable(
            f"route `{label}`: its regex `{compiled.pattern}` is not the one Starlette compiles from its path"
        )
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


class Walk:
    """The routes read so far, and what was left out (for the report)."""

    def __init__(self):
        self.routes = []
        self.seen = set()

    def add(self, route):
        key = json.dumps([route["segments"], route["methods"], route["websocket"]], sort_keys=True)
        if key not in self.seen:
            self.seen.add(key)
            self.routes.append(route)


def route(endpoint, rule, segments, methods, websocket=False):
    return {
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
    }


def flat_routes(routes):
    """A router's routes in the order it tries them, FastAPI's included routers (which
    match as their routes would, in place) opened."""
    for entry in routes:
        candidates = getattr(entry, "effective_candidates", None)
        if candidates is not None and getattr(entry, "original_router", None) is not None:
            low = entry.effective_low_priority_routes() if hasattr(entry, "effective_low_priority_routes") else []
            if low:
                raise Unreadable("FastAPI frontend routes (router.frontend) are not read yet")
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


def read_router(router, prefix, rule_prefix, mounted, walk):
    """Every route of `router`, whose paths follow `prefix` (pieces) in the request."""
    from starlette.routing import Host, Mount, Router, WebSocketRoute

    low = getattr(router, "_low_priority_routes", None)
    if low:
        raise Unreadable("FastAPI frontend routes (app.frontend) are not read yet")
    mounts = []  # (relative prefix pieces, whether a router decides under it)
    answered = []  # relative pieces of what an http request matches, for redirect_slashes

    def place(pieces):
        return without_newline(pieces) if mounted else pieces

    def shadowed(pieces, label, candidates):
        for mount, decides, mount_label in candidates:
            if not decides:
                continue
            seen = under_mount(pieces, mount)
            if seen == "all":
                return True
            if seen == "some":
                raise Unreadable(
                    f"`{label}` overlaps the mount `{mount_label}` that decides before it: "
                    "routewall cannot say which of its paths the mount leaves to it"
                )
        return False

    for entry in flat_routes(router.routes):
        if isinstance(entry, Host):
            raise Unreadable(f"Host routes ({entry.host}) are not read yet")
        path = getattr(entry, "path", None)
        if isinstance(entry, Mount):
            label = rule_prefix + entry.path + "/"
            compiled = path_pieces(entry.path + "/{path:path}", entry.param_convertors, entry.path_regex, label)
            # The prefix: what comes before the final `/` and `{path:path}`.
            *mount, before_rest, _ = compiled
            mount = merged(mount + [text(before_rest["text"][:-1])])  # noqa: F821
            inner = mount_router(entry)
            decides = inner is not None
            if shadowed(mount + [text("/")], label, mounts):  # noqa: F821
                mounts.append((mount, decides, label))
                continue
            if decides:
                read_router(inner, prefix + place(mount), label.rstrip("/"), True, walk)
            else:
                name = entry.name or type(entry.app).__name__
                walk.add(route(f"{name} (mount)", label + "{path:path}",
                               prefix + place(mount + [text("/"), mount_rest()]), None))  # noqa: F821
            mounts.append((mount, decides, label))
            answered.append(mount + [text("/"), mount_rest()])  # noqa: F821
            continue
        if path is None or getattr(entry, "path_regex", None) is None:
            raise Unreadable(f"unknown route type {type(entry).__name__} in the router")
        label = rule_prefix + path
        pieces = path_pieces(path, entry.param_convertors, entry.path_regex, label)
        if shadowed(pieces, label, mounts):
            continue
        websocket = isinstance(entry, WebSocketRoute) or type(entry).__name__ == "APIWebSocketRoute"
        endpoint = getattr(entry, "name", None) or label
        methods = ["GET"] if websocket else leaf_methods(entry)
        walk.add(route(endpoint, label, prefix + place(pieces), methods, websocket))
        if not websocket:
            answered.append(pieces)
    if not getattr(router, "redirect_slashes", False):
        return
    every_mount = mounts
    for pieces in answered:
        base = merged(pieces)  # noqa: F821
        twins = slash_twins(base, True)  # noqa: F821 - a path that matches with one `/` more
        twins += [t + [slashes()] for t in not_ending_in_slash(base)]  # noqa: F821 - trailing `/`s less
        for twin in twins:
            twin = merged(twin)  # noqa: F821
            if not twin:
                continue
            label = rule_prefix + "".join(p["text"] if p["kind"] == "static" else "{" + p["name"] + "}" for p in twin)
            if shadowed(twin, label + " (redirect_slashes)", every_mount):
                continue
            walk.add(route(f"{label} (redirect_slashes)", label, prefix + place(twin), None))


def mount_router(mount):
    """The router that decides under `mount`, or None for an opaque ASGI app."""
    from starlette.routing import Router

    app = getattr(mount, "_base_app", mount.app)
    if isinstance(app, Router):
        return app
    router = getattr(app, "router", None)
    if isinstance(router, Router):
        return router
    return None


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
    router = router_of(app, spec)
    walk = Walk()
    read_router(router, [text("")], "", False, walk)  # noqa: F821
    framework = framework_version("starlette", "Starlette")  # noqa: F821
    if type(app).__module__.startswith("fastapi"):
        framework = f"{framework_version('fastapi', 'FastAPI')} ({framework})"  # noqa: F821
    return {
        "schema_version": SCHEMA_VERSION,  # noqa: F821
        "source": "starlette",
        "app": spec,
        "framework": framework,
        "routes": walk.routes,
        "blocked_query_keys": [],
    }
