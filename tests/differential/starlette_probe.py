#!/usr/bin/env python3
"""Differential probe: compare a Starlette or FastAPI app's own routing with an NGINX allowlist.

The ASGI twin of probe.py (the Flask oracle) and django_probe.py: for one app it generates
many request paths from the app's own routes (each route instantiated with several values
per convertor, under every mount, mutations of those, scanner paths), decides for each one
whether the app answers it ("truth"), and, unless --dry-run, sends it to an nginx that
fronts the emitted allowlist and answers 200 for anything the allowlist passes and 404
otherwise. It reuses probe.py's mutations, value pools, regex sampling, nginx client and
report format.

Truth model: the app itself, never a model of it. See /work/shared/semantics-starlette.md.

* Each probe becomes the ASGI scope uvicorn builds behind `proxy_pass` without a URI
  part: `path` is the raw path percent-decoded as uvicorn decodes it (`urllib.parse.unquote`:
  `%2F` included, invalid UTF-8 as U+FFFD; no slash merging, no dot resolution),
  `raw_path` the bytes as sent, `root_path` empty, Host `localhost`.
* It goes through the whole app: its middleware, every router, FastAPI's included
  routers, redirect_slashes. Only what runs once a route is chosen is swapped for a stub
  that answers 200: the `handle` of Starlette's and FastAPI's routes, and the app under a
  mount that is no router (StaticFiles, a WSGI app). A router under a mount still decides.
* A probe is allowed iff the app answers something other than 404 to GET (a route of
  another method answers 405; redirect_slashes answers 307 whatever the method), or a
  WebSocket handshake to it reaches a route (nginx cannot tell the two apart).

Probes that climb above the root once nginx resolves their dot segments (`/..`) are left
out: nginx answers 400 to them whatever its configuration.

Classes: dot_segments (nginx resolves them, Starlette does not: refused by design),
newline (a decoded `\\n`: Starlette's `$` also matches before a final newline and a mount's
`.*` stops at one; the allowlist refuses what it cannot prove, README "Starlette"),
invalid_utf8, double_slash (Starlette never merges slashes), canonical.

Usage (with the interpreter of a venv that has tests/requirements.txt):

    python tests/differential/starlette_probe.py --app main:app --app-dir DIR \\
        [--factory] (--port N | --dry-run) [--host 127.0.0.1] [--seed N]

stdout gets exactly one JSON object; anything the app prints goes to stderr.
Exit status: 0 on success, 2 if the app cannot be loaded, 3 if nginx cannot be reached.
"""

import argparse
import asyncio
import collections
import contextlib
import http.client
import os
import random
import re
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import probe  # noqa: E402  (the Flask oracle: mutations, pools, nginx client, report)

CLASSES = ("canonical", "double_slash", "dot_segments", "invalid_utf8", "newline")

# Raw request targets, sent as they are: scanner paths and the framework's usual ones.
FIXED_PROBES = (
    "/",
    "//",
    "/index.html",
    "/.env",
    "/.git/config",
    "/wp-login.php",
    "/server-status",
    "/docs",
    "/docs/",
    "/redoc",
    "/openapi.json",
    "/openapi.json/",
    "/docs/oauth2-redirect",
    "/static/../docs",
    "/admin",
    "/admin/",
    "/favicon.ico",
    "/robots.txt",
)

GENERIC_POOL = probe.STRING_POOL + probe.INT_VALID[:3] + probe.INT_EXTRA[:3]
EXTRAS_PER_SLOT = 4
MAX_BASE_INSTANCES = 6


class Param:
    """A path parameter: its name and the convertor the route holds."""

    def __init__(self, name, convertor):
        self.name, self.convertor = name, convertor


# --------------------------------------------------------------------------
# Loading the app the way uvicorn does
# --------------------------------------------------------------------------

def load_app(spec, app_dir, factory):
    import importlib

    os.chdir(app_dir)
    sys.path.insert(0, os.getcwd())
    sys.dont_write_bytecode = True  # leave no __pycache__ in the fixture dirs
    module_name, _, attribute = spec.partition(":")
    app = importlib.import_module(module_name)
    for name in attribute.split("."):
        app = getattr(app, name)
    return app() if factory else app


# --------------------------------------------------------------------------
# Templates: every route as literal text and parameters
# --------------------------------------------------------------------------

def path_template(path, convertors):
    from starlette.routing import PARAM_REGEX

    pieces, pos = [], 0
    for m in PARAM_REGEX.finditer(path):
        pieces.append(path[pos:m.start()])
        pieces.append(Param(m.group(1), convertors[m.group(1)]))
        pos = m.end()
    pieces.append(path[pos:])
    return tuple(p for p in pieces if p != "")


def entries(routes):
    """A router's routes, FastAPI's included routers opened (what they hold, prefixed)."""
    for entry in routes:
        if hasattr(entry, "effective_route_contexts"):
            for context in entry.effective_route_contexts():
                yield context.starlette_route if context.starlette_route is not None else context
        else:
            yield entry


def templates(router, prefix=(), hosts=None):
    """Every route under `router` as a tuple of pieces (literal strings, Param), mount
    prefixes first, in the router's order; the pieces of every Host pattern go to `hosts`."""
    from starlette.routing import Host, Mount, Router

    out = []
    for entry in entries(router.routes):
        if isinstance(entry, Host):
            if hosts is not None:
                hosts.append(path_template(entry.host, entry.param_convertors))
            inner = entry.app if isinstance(entry.app, Router) else getattr(entry.app, "router", None)
            if isinstance(inner, Router):
                out += templates(inner, prefix, hosts)
            else:
                out.append(prefix + ("/", Param("path", entry.param_convertors.get("path") or PathAny())))
            continue
        path = getattr(entry, "path", None)
        if path is None or not hasattr(entry, "param_convertors"):
            print(f"starlette_probe.py: no probes for {type(entry).__name__}", file=sys.stderr)
            continue
        if isinstance(entry, Mount):
            head = prefix + path_template(entry.path, entry.param_convertors)
            app = getattr(entry, "_base_app", entry.app)
            inner = app if isinstance(app, Router) else getattr(app, "router", None)
            if isinstance(inner, Router):
                out += templates(inner, head, hosts)
            else:
                out.append(head + ("/", Param("path", entry.param_convertors["path"])))
            out.append(head)  # the prefix alone, and (a mutation) with its `/`
            continue
        out.append(prefix + path_template(path, entry.param_convertors))
    iterate = getattr(router, "_iter_low_priority_routes", None)
    for candidate in iterate() if iterate is not None else ():
        # FastAPI's frontend routes: a path and what is under it.
        group = getattr(candidate, "original_route", candidate)
        front = getattr(candidate, "frontend_prefix", "")
        for route in getattr(group, "routes", []):
            path = (front + route.path if route.path != "/" else front) if front else route.path
            out.append(prefix + (path,))
            out.append(prefix + (path.rstrip("/") + "/", Param("path", PathAny())))
    return out


class PathAny:
    """What an app under a Host route takes: any path."""

    regex = "(?s:.*)"


def host_values(pattern):
    """Hosts for one Host pattern: the pattern filled with a few names its parameters
    take, as written (Starlette lower-cases the host), in upper case, and with a port."""
    names = ("acme", "api", "www", "a.b", "x-1", "static")
    filled = [""]
    for piece in pattern:
        if isinstance(piece, str):
            filled = [f + piece for f in filled]
        else:
            filled = [f + n for f in filled for n in names if re.fullmatch(piece.convertor.regex, n)]
    out = []
    for host in filled:
        if host.endswith("]") or ":" not in host:
            bare = host
        else:
            bare = host.rsplit(":", 1)[0]
        out += [bare.lower(), bare.upper(), bare.lower() + ":8080"]
    return out


def template_text(template):
    return "".join(p if isinstance(p, str) else "{" + p.name + "}" for p in template)


# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------

def convertor_values(convertor):
    """(valid, extra) decoded texts: valid ones fullmatch the convertor's regex (what
    Starlette matches; `convert` is not asked, its errors are 500s, not 404s)."""
    from starlette import convertors as c

    if isinstance(convertor, PathAny):
        pool, keep = probe.PATH_VALID + ("",), None
    elif isinstance(convertor, c.PathConvertor):
        pool, keep = probe.PATH_VALID + probe.PATH_EXTRA + ("",), None
    elif isinstance(convertor, c.UUIDConvertor):
        pool, keep = probe.UUID_VALID + probe.UUID_EXTRA, None
    elif isinstance(convertor, c.IntegerConvertor):
        pool, keep = probe.INT_VALID + probe.INT_EXTRA, None
    elif isinstance(convertor, c.FloatConvertor):
        pool, keep = probe.FLOAT_VALID + probe.FLOAT_EXTRA, None
    else:
        pool, keep = GENERIC_POOL, EXTRAS_PER_SLOT
    candidates = probe.unique(list(pool) + probe.sample_regex(convertor.regex))
    valid = [v for v in candidates if re.fullmatch(convertor.regex, v)]
    extra = [v for v in candidates if v not in valid]
    return valid, extra[:keep]


def instances(template, rng):
    """(base, extra) decoded paths, as probe.rule_instances makes them."""
    slots = [i for i, p in enumerate(template) if isinstance(p, Param)]
    values = {i: convertor_values(template[i].convertor) for i in slots}
    first = {i: (values[i][0] or values[i][1] or [""])[0] for i in slots}

    def fill(choice):
        return "".join(choice.get(i, p) for i, p in enumerate(template))

    all_valid = all(values[i][0] for i in slots)
    groups = [[fill(first)]] if all_valid else []
    extra = []
    for i in slots:
        valid, odd = values[i]
        groups.append([fill({**first, i: v}) for v in valid])
        extra += [fill({**first, i: v}) for v in odd]
    if len(slots) > 1 and all_valid:
        groups.append([fill({i: rng.choice(values[i][0]) for i in slots}) for _ in range(3)])
    base = probe.unique(probe.round_robin(groups, sum(map(len, groups))))
    return base[:MAX_BASE_INSTANCES], probe.unique(extra)


# --------------------------------------------------------------------------
# Mutations: probe.py's, and the runs of slashes redirect_slashes strips
# --------------------------------------------------------------------------

def trailing_slashes(d):
    return probe.encode(d.rstrip("/") + "///")


def one_more_slash(d):
    return probe.encode(d + "//")


def newline_then_slash(d):
    stripped = d.rstrip("/")
    return probe.encode(stripped + "\n/") if stripped else None


def inner_newline(d):
    return probe.encode(d + "a\nb")


def append_letter(d):
    """A mount's prefix boundary (`/apix` beside `/api`), a literal's longer twin."""
    return probe.encode(d + "x")


MUTATIONS = probe.MUTATIONS + (trailing_slashes, one_more_slash, newline_then_slash, inner_newline,
                               append_letter)


def generate_probes(all_templates, rng):
    per_template = [instances(t, rng) for t in all_templates]
    total_base = sum(len(base) for base, _ in per_template) or 1
    sampled = max(probe.MIN_SAMPLED_MUTATIONS, min(len(MUTATIONS), probe.PROBE_BUDGET // total_base))
    probes = list(FIXED_PROBES)
    for base, extra in per_template:
        for n, decoded in enumerate(base):
            probes.append(probe.encode(decoded))
            mutations = MUTATIONS if n == 0 else rng.sample(MUTATIONS, sampled)
            probes += [m(decoded) for m in mutations]
        probes += [probe.encode(decoded) for decoded in extra]
    return probe.unique(p for p in probes if p is not None and not probe.climbs_above_root(p))


def classify(raw):
    data = urllib.parse.unquote_to_bytes(raw.split("?", 1)[0])
    path = urllib.parse.unquote(raw.split("?", 1)[0])
    if any(segment in (".", "..") for segment in path.split("/")):
        return "dot_segments"
    if "\n" in path:
        return "newline"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid_utf8"
    return "double_slash" if "//" in path else "canonical"


# --------------------------------------------------------------------------
# Truth: what the app answers
# --------------------------------------------------------------------------

ROUTED = "routewall-stub"

# What ran the stub for the request in flight: "route", or "mount" for an opaque app under
# a mount (whose real answer may be its own 404: StaticFiles and a missing file).
ANSWERED = []


async def stub(scope, receive, send, by="route"):
    """What a chosen route runs instead of the app's code: 200 (or the handshake)."""
    ANSWERED.append(by)
    if scope["type"] == "websocket":
        scope.setdefault("state", {})
        scope["routewall.routed"] = True
        await send({"type": "websocket.close", "code": 1000})
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"x-routewall", b"stub")]})
    await send({"type": "http.response.body", "body": ROUTED.encode()})


@contextlib.contextmanager
def stubbed_routes():
    """Routes run the stub once chosen; a mount runs it unless a router decides under it."""
    from starlette import routing

    patched = []

    def patch(cls, name, value):
        patched.append((cls, name, cls.__dict__.get(name)))
        setattr(cls, name, value)

    def leaf(original):
        async def leaf_handle(self, scope, receive, send):
            methods = getattr(self, "methods", None)
            if scope["type"] == "http" and methods and scope["method"] not in methods:
                await original(self, scope, receive, send)  # the route's own 405
            else:
                await stub(scope, receive, send)

        return leaf_handle

    original_mount_handle = routing.Mount.handle

    async def mount_handle(self, scope, receive, send):
        app = getattr(self, "_base_app", self.app)
        decides = isinstance(app, routing.Router) or isinstance(getattr(app, "router", None), routing.Router)
        if decides:
            await original_mount_handle(self, scope, receive, send)
        else:
            await stub(scope, receive, send, by="mount")

    classes = [routing.Route, routing.WebSocketRoute]
    try:
        from fastapi import routing as fastapi_routing

        classes += [cls for cls in vars(fastapi_routing).values()
                    if isinstance(cls, type) and issubclass(cls, routing.BaseRoute)
                    and "handle" in cls.__dict__ and cls.__name__ in (
                        "APIRoute", "APIWebSocketRoute", "_FrontendRouteGroup", "_FrontendRoute")]
    except ImportError:
        pass
    for cls in classes:
        patch(cls, "handle", leaf(cls.__dict__["handle"]))
    patch(routing.Mount, "handle", mount_handle)
    try:
        yield
    finally:
        for cls, name, original in reversed(patched):
            if original is None:
                delattr(cls, name)
            else:
                setattr(cls, name, original)


class Oracle:
    """Sends ASGI requests to the app and remembers every status."""

    def __init__(self, app):
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.statuses = collections.Counter()
        self.errors = []
        self.by_mount = {}
        self.by_websocket = {}

    def scope(self, raw, kind, host="localhost"):
        path, _, query = raw.partition("?")
        scope = {
            "type": kind,
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "scheme": "http" if kind == "http" else "ws",
            # uvicorn: unquote(raw_path.decode("ascii")), `%2F` included.
            "path": urllib.parse.unquote(path),
            "raw_path": path.encode("ascii"),
            "query_string": query.encode("ascii"),
            "root_path": "",
            "headers": [(b"host", host.encode("ascii"))],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        if kind == "http":
            scope["method"] = "GET"
        else:
            scope["subprotocols"] = []
            scope["headers"] += [(b"upgrade", b"websocket"), (b"connection", b"upgrade"),
                                 (b"sec-websocket-version", b"13"),
                                 (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ==")]
        return scope

    async def _http(self, raw, host, method="GET"):
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                sent.append((message["status"], message.get("headers", [])))

        scope = self.scope(raw, "http", host)
        scope["method"] = method
        await self.app(scope, receive, send)
        return sent[0] if sent else (None, [])

    async def _websocket(self, raw, host):
        scope = self.scope(raw, "websocket", host)
        messages = [{"type": "websocket.connect"}]

        async def receive():
            return messages.pop(0) if messages else {"type": "websocket.disconnect", "code": 1000}

        async def send(message):
            pass

        try:
            await self.app(scope, receive, send)
        except Exception:  # a refused handshake may raise in the app's middleware
            return False
        return bool(scope.get("routewall.routed"))

    def allowed(self, raw, host="localhost"):
        ANSWERED.clear()
        status, _ = self.loop.run_until_complete(self._http(raw, host))
        if host == "localhost":
            self.by_mount[raw] = ANSWERED == ["mount"]
        self.statuses[status] += 1
        if (status is None or status >= 500) and len(self.errors) < 20:
            self.errors.append(f"GET {raw}: {status}")
        if status != 404:
            return True
        routed = self.loop.run_until_complete(self._websocket(raw, host))
        if host == "localhost":
            self.by_websocket[raw] = routed
        return routed


    def outcome(self, raw, method, host="localhost"):
        """The app's answer to `method raw` (--methods): "pass" for anything but 404 and
        405 (a WebSocket route passes GET, its handshake), the 405 as probe.Nginx reports
        one ("405 GET,HEAD"), else 404."""
        status, headers = self.loop.run_until_complete(self._http(raw, host, method))
        self.statuses[status] += 1
        if status not in (404, 405):
            return "pass"
        if method == "GET" and self.loop.run_until_complete(self._websocket(raw, host)):
            return "pass"  # a WebSocket route's handshake (nginx cannot tell it apart)
        if status == 405:
            allow = ",".join(v.decode() for k, v in headers if k.lower() == b"allow")
            return f"405 {','.join(sorted(m.strip() for m in allow.split(',') if m.strip()))}"
        return 404


def method_rows(probes, oracle, hosts):
    """One row per probe (and host) and method of probe.PROBE_METHODS."""
    names = host_names(hosts) if hosts else ["localhost"]
    rows = []
    for raw in probes:
        cls = classify(raw)
        for host in names:
            for method in probe.PROBE_METHODS:
                answer = oracle.outcome(raw, method, host)
                row = {"path": raw, "method": method, "class": cls, "truth": answer == "pass",
                       "answer": answer, "nginx": None}
                if hosts:
                    row["host"] = host
                rows.append(row)
    return rows


def host_names(hosts):
    return probe.unique(["localhost"] + [h for pattern in hosts for h in host_values(pattern)]
                        + ["example.org", "other.test"])


def truth_rows(probes, oracle, hosts):
    """One row per probe, or with Host routes per probe and host (`localhost`, every Host
    pattern's hosts, and two that none matches)."""
    if not hosts:
        return [{"path": raw, "class": classify(raw), "truth": oracle.allowed(raw), "nginx": None}
                for raw in probes]
    names = host_names(hosts)
    return [{"path": raw, "host": host, "class": classify(raw), "truth": oracle.allowed(raw, host),
             "nginx": None} for raw in probes for host in names]


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", required=True, help="the app in uvicorn's notation (main:app)")
    parser.add_argument("--app-dir", default=".", help="directory to import the app from")
    parser.add_argument("--factory", action="store_true", help="--app names a factory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="nginx port (not needed with --dry-run)")
    parser.add_argument("--dry-run", action="store_true", help="compute truth only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--methods", action="store_true",
        help="send every probe with several methods and compare 404/405/Allow too "
             "(for an allowlist generated with --methods)",
    )
    parser.add_argument(
        "--server-port", type=int,
        help="also send every probe to the app served on this port (uvicorn) and report "
             "where its answer and the truth disagree",
    )
    args = parser.parse_args(argv)
    if args.port is None and not args.dry_run:
        parser.error("--port is required unless --dry-run")
    return args


def server_comparison(rows, oracle, host, port):
    """Every probe sent to the app's real server: the truth says allowed iff the server
    answers anything but 404 to GET, except where an opaque app under a mount answered the
    truth (its real answer may be its own 404: a file StaticFiles does not have) or only a
    WebSocket handshake reaches a route (the server gets a plain GET)."""
    server = probe.Nginx(host, port)
    compared, skipped, disagree = 0, collections.Counter(), []
    try:
        for row in rows:
            status = server.status(row["path"], "GET", row.get("host", "localhost").encode())
            if row.get("host", "localhost") != "localhost":
                skipped["other_host"] += 1
                continue
            if oracle.by_mount.get(row["path"]) and status == 404:
                skipped["mount_404"] += 1
                continue
            if oracle.by_websocket.get(row["path"]):
                skipped["websocket"] += 1
                continue
            compared += 1
            if (status != 404) != row["truth"]:
                disagree.append({"path": row["path"], "truth": row["truth"], "server": status})
    except (http.client.HTTPException, OSError) as exc:
        print(f"starlette_probe.py: the server at {host}:{port} failed: {exc!r}", file=sys.stderr)
        return None
    finally:
        server.close()
    return {"compared": compared, "skipped": dict(skipped), "disagree": len(disagree),
            "examples": disagree[:probe.MAX_EXAMPLES]}


def router_of(app):
    from starlette.routing import Router

    for _ in range(20):
        if isinstance(app, Router):
            return app
        if isinstance(getattr(app, "router", None), Router):
            return app.router
        app = getattr(app, "app", None)
    raise ValueError("no Starlette router in the app")


def run(args):
    """Everything after argument parsing; returns (exit status, report or None)."""
    try:
        app = load_app(args.app, args.app_dir, args.factory)
        router = router_of(app)
    except (Exception, SystemExit) as exc:
        print(f"starlette_probe.py: cannot load {args.app!r} from {args.app_dir!r}: "
              f"{probe.one_line(exc)}", file=sys.stderr)
        return 2, None

    started = time.monotonic()
    hosts = []
    all_templates = templates(router, hosts=hosts)
    root = getattr(app, "root_path", "") or ""
    if root:
        # FastAPI's root_path: every route under it too, and the root alone.
        all_templates += [(root,) + t for t in all_templates] + [(root,)]
    probes = generate_probes(all_templates, random.Random(args.seed))
    oracle = Oracle(app)
    with stubbed_routes():
        rows = method_rows(probes, oracle, hosts) if args.methods else truth_rows(probes, oracle, hosts)
    print(f"starlette_probe.py: {len(rows)} probes from {len(all_templates)} routes, truth in "
          f"{time.monotonic() - started:.1f} s", file=sys.stderr)
    for line in oracle.errors:
        print(f"starlette_probe.py: the app answered {line}", file=sys.stderr)

    if not args.dry_run:
        nginx = probe.Nginx(args.host, args.port)
        try:
            for row in rows:
                row["nginx"] = nginx.status(row["path"], row.get("method", "GET"),
                                            row.get("host", "localhost").encode())
        except (http.client.HTTPException, OSError) as exc:
            print(f"starlette_probe.py: nginx at {args.host}:{args.port} failed: {exc!r}",
                  file=sys.stderr)
            return 3, None
        finally:
            nginx.close()
        for row in rows:
            # An app whose exception handler drops the 405's Allow header (sqladmin's):
            # any 405 of nginx's is its answer.
            if row.get("answer") == "405 " and str(row["nginx"]).startswith("405"):
                row["answer"] = row["nginx"]
    if args.server_port is not None and not args.methods:
        server = server_comparison(rows, oracle, args.host, args.server_port)
        if server is None:
            return 3, None
    report = probe.build_report(args.app, rows, args.dry_run, CLASSES)
    if args.server_port is not None and not args.methods:
        report["server"] = server
    report["starlette"] = {
        "routes": len(all_templates),
        "statuses": {str(k): v for k, v in sorted(oracle.statuses.items(), key=str)},
    }
    return 0, report


def main(argv=None):
    return probe.run_and_print(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
