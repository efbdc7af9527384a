#!/usr/bin/env python3
"""Differential probe: compare a Flask app's own routing with an NGINX allowlist.

For one app this script generates many request paths (every rule instantiated
with several values per converter, mutations of those, scanner paths), decides
for each one whether the app's url_map answers it ("truth"), and, unless
--dry-run, sends it to an nginx that fronts the emitted allowlist and answers
200 for anything the allowlist passes and 404 otherwise.

Truth is path-level: a probe is allowed iff Werkzeug does not raise NotFound
for at least one method. Redirects (strict slashes, merged slashes, defaults),
405 and WebSocket mismatches are answers from the app, so they count as allowed.
See /work/shared/semantics.md for why each mutation is here.

Run it with the interpreter of a venv that has flask and werkzeug:

    python tests/differential/probe.py --app app --app-dir tests/fixtures/apps/basic \
        --port 8080 [--host 127.0.0.1] [--dry-run] [--seed N]

stdout gets exactly one JSON object; anything the app prints goes to stderr.
Exit status: 0 on success, 2 if the app cannot be loaded, 3 if nginx cannot be
reached.
"""

import argparse
import contextlib
import http.client
import itertools
import json
import os
import random
import re
import sys
import urllib.parse

try:  # Python >= 3.11
    from re import _parser as sre_parse
except ImportError:  # Python 3.10
    import sre_parse

# Methods sent with --methods: the common ones, and one no rule names.
PROBE_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "FOO")

CLASSES = (
    "canonical", "double_slash", "unmerged_rule", "dot_segments", "invalid_utf8", "debugger_query",
    "converter_check", "non_ascii_host",
)

# Query strings that reach Werkzeug's debugger (DebuggedApplication answers them on any
# path), in plain and percent-encoded spellings, and one that merely looks alike.
DEBUGGER_QUERIES = (
    "__debugger__=yes&cmd=resource&f=debugger.js",
    "__debugger__=yes&cmd=printpin&s=x",
    "x=1&%5F%5Fdebugger%5f%5F=yes&cmd=resource&f=style.css",
    "%5f_d%65bugger__=yes",
)
LOOKALIKE_QUERIES = ("not__debugger__=yes", "__debugger__x=1", "q=__debugger__")
MAX_EXAMPLES = 20

# Methods tried for the truth, on top of every method some rule declares.
# nginx does not enforce methods in this milestone, so a path is allowed if
# any method gets an answer (e.g. GET /only-post -> 404 but POST -> 308).
BASE_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

# Characters left unescaped when a decoded path is turned into a request
# target: RFC 3986 sub-delims plus ":" and "@". Everything else that is not
# unreserved (space, "#", "?", '"', "[", "{", "|", "\\", non-ASCII...) gets
# percent-encoded, so the target is printable ASCII that http.client accepts.
PATH_SAFE = "/!$&'()*+,;=:@"

# Raw request targets, sent as they are. The debugger query is aimed at "/"
# (which the app answers) to show that the query string is invisible to
# location matching.
FIXED_PROBES = (
    "/",
    "/index.html",
    "/console",
    "/console/",
    "/.git/config",
    "/.env",
    "/wp-admin/",
    "/admin.php",
    "/server-status",
    "/static/../console",
    "/?__debugger__=yes&cmd=resource&f=style.css",
)

# Converter values. "valid" values are meant to match (and are the base for
# mutations); "extra" values are wrong types and edge cases, used only in
# single-substitution instances. Truth is always decided by Werkzeug, never by
# this classification.
INT_VALID = ("0", "7", "0042", "1234567890" * 4, "\uff11", "\u0663\u0664")  # １, ٣٤
INT_EXTRA = ("abc", "-5", "1e3", ".5")
FLOAT_VALID = ("1.5", "0.0", "\uff11.\uff15", "\u0661.\u0665", "12345678901234567890.5")
FLOAT_EXTRA = ("1", ".5", "1.", "1e3", "abc", "-1.5")
PATH_VALID = ("a", "a/b/c", "a/b/", "x.txt", "\u65e5\u672c/\u00e9")
PATH_EXTRA = ("/a", "..", "a//b")
UUID_VALID = ("0f8fad5b-d9cb-469f-a165-70867728950e", "0F8FAD5B-D9CB-469F-A165-70867728950E")
UUID_EXTRA = (
    "0f8fad5bd9cb469fa16570867728950e",
    "0f8fad5b-d9cb-469f-a165-70867728950g",
    "0f8fad5b-d9cb-469f-a165",
)
# Candidates for string and custom converters, filtered by the converter's own
# regex; the regex samples (see sample_regex) are added to these.
STRING_POOL = (
    "abc", "a.b", "\u00e9", "\u65e5\u672c", "a b", "x;y", "A", "ab", "abcde", "abcdef",
    "\u65e5\u672c\u8a9e", "Z9", "a-1", "a,b,c", "a,b,c,d,e,f", "x" * 40,
)
STRING_EXTRAS_PER_CONVERTER = 2

# The first instance of each rule gets every mutation; the others get a random
# sample of them, sized so that an app lands near PROBE_BUDGET probes.
PROBE_BUDGET = 2000
MIN_SAMPLED_MUTATIONS = 3


# --------------------------------------------------------------------------
# Loading the app the way `flask --app SPEC` does
# --------------------------------------------------------------------------

def load_app(spec, app_dir):
    """Import the app named by SPEC from APP_DIR, exactly like flask's ScriptInfo."""
    from flask.cli import locate_app, prepare_import

    os.chdir(app_dir)
    sys.path.insert(0, os.getcwd())
    sys.dont_write_bytecode = True  # leave no __pycache__ in the fixture dirs
    # flask splits on the first ":" not followed by a path separator, so
    # "C:\\x\\app.py:create_app()" keeps its drive letter.
    path, name = (re.split(r":(?![\\/])", spec, maxsplit=1) + [None])[:2]
    return locate_app(prepare_import(path), name)


def one_line(exc):
    """Summarise an import failure on one line (flask embeds whole tracebacks)."""
    if isinstance(exc, SystemExit):
        return f"the app called sys.exit({exc.code!r}) while importing"
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = " ".join(lines[:1] + lines[-1:]) if len(lines) > 1 else "".join(lines)
    return f"{type(exc).__name__}: {text}"


# --------------------------------------------------------------------------
# Rule templates and converter values
# --------------------------------------------------------------------------

# Same grammar as werkzeug.routing.rules._part_re for the variable part.
VARIABLE_RE = re.compile(
    r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<arguments>.*?)\))?:)?"
    r"(?P<variable>[a-zA-Z_][a-zA-Z0-9_]*)>"
)


def rule_template(rule):
    """Split a rule into static strings and converter objects, in order."""
    from werkzeug.routing import parse_converter_args

    text = rule.rule
    if rule.merge_slashes:
        # Werkzeug merges the rule text at compile time (Rule.compile), so
        # "/x//y" is served at "/x/y"; a merge_slashes=False rule keeps "//".
        text = re.sub("/{2,}", "/", text)
    parts, pos = [], 0
    for m in VARIABLE_RE.finditer(text):
        parts.append(text[pos:m.start()])
        args, kwargs = parse_converter_args(m.group("arguments") or "")
        parts.append(rule.get_converter(
            m.group("variable"), m.group("converter") or "default", args, kwargs
        ))
        pos = m.end()
    parts.append(text[pos:])
    return parts


def converter_values(conv):
    """Return (valid, extra) decoded values for one converter instance."""
    from werkzeug.routing import (
        AnyConverter, FloatConverter, IntegerConverter, PathConverter, UUIDConverter,
    )

    if isinstance(conv, PathConverter):
        return list(PATH_VALID), list(PATH_EXTRA)
    if isinstance(conv, UUIDConverter):
        return list(UUID_VALID), list(UUID_EXTRA)
    if isinstance(conv, AnyConverter):
        items = sorted(conv.items)
        return items, ["other", items[0].upper(), items[0] + "x"]
    if isinstance(conv, IntegerConverter):
        return number_values(conv, INT_VALID, INT_EXTRA, int)
    if isinstance(conv, FloatConverter):
        return number_values(conv, FLOAT_VALID, FLOAT_EXTRA, float)
    # string/default and custom converters: only the regex is known up front.
    return regex_values(conv.regex)


def number_values(conv, valid, extra, parse):
    """Adapt the int/float value lists to signed, fixed_digits, min and max."""
    valid, extra = list(valid), list(extra)
    if conv.signed:
        valid += ["-" + v for v in valid[:2]]
    if getattr(conv, "fixed_digits", 0):
        width = conv.fixed_digits
        valid = [v.zfill(width) for v in valid if len(v.zfill(width)) == width]
        extra += ["7", "1" * (width + 1)]
    bounds = [b for b in (conv.min, conv.max) if b is not None]
    if bounds:
        valid = [v for v in valid if within_bounds(conv, parse(v))]
        valid += [str(b) for b in bounds]
        extra += [str(conv.min - 1)] if conv.min is not None else []
        extra += [str(conv.max + 1)] if conv.max is not None else []
    return unique(valid), unique(v for v in extra if v not in valid)


def within_bounds(conv, number):
    return (conv.min is None or number >= conv.min) and (
        conv.max is None or number <= conv.max
    )


def regex_values(regex):
    """Pool candidates (plus samples of the regex itself) split by full match."""
    candidates = unique(list(STRING_POOL) + sample_regex(regex))
    valid = [c for c in candidates if re.fullmatch(regex, c)]
    extra = [c for c in candidates if c not in valid]
    return valid, extra[:STRING_EXTRAS_PER_CONVERTER]


# Characters that stand for a regex category inside a class ([\d], \w, ...).
CATEGORY_CHAR = {
    "CATEGORY_DIGIT": "7",
    "CATEGORY_NOT_DIGIT": "a",
    "CATEGORY_WORD": "a",
    "CATEGORY_NOT_WORD": "-",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": "a",
}


def sample_regex(regex):
    """Build a short and a long string that (usually) match a converter regex.

    Custom converters carry arbitrary regexes (e.g. "[A-Z]{3}-\\d{2,4}") that
    no fixed candidate pool covers. This walks the stdlib parse tree; anything
    unusual yields no sample, and samples are filtered by re.fullmatch anyway.
    """
    try:
        tree = sre_parse.parse(regex)
    except re.error:
        return []
    samples = (render_regex(tree, longest) for longest in (False, True))
    return [s for s in samples if s is not None]


def render_regex(items, longest):
    out = []
    for op, arg in items:
        piece = render_regex_item(op.name, arg, longest)
        if piece is None:
            return None
        out.append(piece)
    return "".join(out)


def render_regex_item(name, arg, longest):
    if name == "LITERAL":
        return chr(arg)
    if name in ("NOT_LITERAL", "ANY"):
        return "b" if arg == ord("a") else "a"
    if name == "IN":
        return render_regex_class(arg, longest)
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, high, sub = arg
        piece = render_regex(sub, longest)
        return None if piece is None else piece * (min(high, low + 3) if longest else low)
    if name == "SUBPATTERN":
        return render_regex(arg[-1], longest)
    if name == "ATOMIC_GROUP":
        return render_regex(arg, longest)
    if name == "BRANCH":
        return render_regex(arg[1][-1 if longest else 0], longest)
    if name in ("AT", "ASSERT", "ASSERT_NOT"):
        return ""
    return None  # back-references and the like: give up on this sample


def render_regex_class(items, longest):
    if items and items[0][0].name == "NEGATE":
        return "a"  # rarely excluded; the fullmatch filter catches it if it is
    choices = []
    for op, arg in items:
        if op.name == "LITERAL":
            choices.append(chr(arg))
        elif op.name == "RANGE":
            choices.append(chr(arg[1] if longest else arg[0]))
        elif op.name == "CATEGORY" and arg.name in CATEGORY_CHAR:
            choices.append(CATEGORY_CHAR[arg.name])
    if not choices:
        return None
    return choices[-1] if longest else choices[0]


def rule_instances(rule, rng):
    """Return (base, extra) decoded paths for one rule.

    Each parameter in turn takes each of its values while the others keep
    their first valid value; a few random all-valid combinations catch
    interactions (e.g. two converters in one segment).
    """
    template = rule_template(rule)
    slots = [i for i, part in enumerate(template) if not isinstance(part, str)]
    values = {i: converter_values(template[i]) for i in slots}
    for i in slots:
        if not values[i][0]:
            print(f"probe.py: no valid value for {template[i].__class__.__name__} "
                  f"in {rule.rule!r}", file=sys.stderr)
    first = {i: (values[i][0] or values[i][1])[0] for i in slots}

    def fill(choice):
        return "".join(choice.get(i, part) for i, part in enumerate(template))

    # The all-first instance leads: it is the one that gets every mutation.
    # (For a rule without parameters it is the rule text itself.)
    base = [fill(first)] if all(values[i][0] for i in slots) else []
    extra = []
    for i in slots:
        valid, odd = values[i]
        base += [fill({**first, i: v}) for v in valid]
        extra += [fill({**first, i: v}) for v in odd]
    if len(slots) > 1 and all(values[i][0] for i in slots):
        base += [fill({i: rng.choice(values[i][0]) for i in slots}) for _ in range(3)]
    return unique(base), unique(extra)


# --------------------------------------------------------------------------
# Mutations: decoded path in, raw request target (or None) out
# --------------------------------------------------------------------------

def encode(decoded):
    return urllib.parse.quote(decoded, safe=PATH_SAFE)


def toggle_trailing_slash(d):
    return encode(d[:-1]) if d.endswith("/") and d != "/" else encode(d + "/")


def add_segment(d):
    return encode(d.rstrip("/") + "/extra")


def drop_last_segment(d):
    return encode(d.rstrip("/").rsplit("/", 1)[0] or "/")


def upper_case(d):
    return encode(d.upper())


def swap_case(d):
    return encode(d.swapcase())


def escape_a_letter(d):
    """/about -> /%61bout: both sides decode it, so the verdict must not change."""
    raw = encode(d)
    # Skip letters that are hex digits of an existing %XX escape.
    for m in re.finditer(r"%[0-9A-Fa-f]{2}|([A-Za-z])", raw):
        if m.group(1):
            return f"{raw[:m.start()]}%{ord(m.group(1)):02x}{raw[m.end():]}"
    return None


def append_newline(d):
    """PCRE's $ (and \\Z) match before a final newline; Python's \\Z does not."""
    return encode(d) + "%0A"


def slash_inside_segment(d):
    """%2F decodes to a real "/" on both sides, splitting the segment."""
    segments = d.split("/")
    for i in range(len(segments) - 1, 0, -1):
        if len(segments[i]) >= 2:
            left = "/".join(segments[:i] + [segments[i][0]])
            right = "/".join([segments[i][1:]] + segments[i + 1:])
            return encode(left) + "%2F" + encode(right)
    return None


def leading_double_slash(d):
    return "/" + encode(d)


def inner_double_slash(d):
    cut = d.rstrip("/").rfind("/")
    return encode(d[:cut] + "/" + d[cut:]) if cut > 0 else None


def dot_segment_prefix(d):
    return "/." + encode(d)


def dot_segment_suffix(d):
    return encode(d.rstrip("/")) + "/."


def dotdot_segment_suffix(d):
    return encode(d.rstrip("/")) + "/.."


def climb_back(d):
    """nginx resolves /x/../P to P; the app sees an "x" and a ".." segment."""
    return "/x/.." + encode(d)


def escaped_climb_back(d):
    return "/x/%2e%2e" + encode(d)


def append_non_ascii(d):
    return encode(d + "\u00e9")


def append_invalid_byte(d):
    return encode(d) + "%ff"


def append_truncated_utf8(d):
    return encode(d) + "%C3"


def escape_everything(d):
    """Percent-encode sub-delims too (/c%2B%2B/x): same decoded path."""
    strict = urllib.parse.quote(d, safe="/")
    return strict if strict != encode(d) else None


MUTATIONS = (
    toggle_trailing_slash, add_segment, drop_last_segment, upper_case, swap_case,
    escape_a_letter, append_newline, slash_inside_segment, leading_double_slash,
    inner_double_slash, dot_segment_prefix, dot_segment_suffix, dotdot_segment_suffix,
    climb_back, escaped_climb_back, append_non_ascii, append_invalid_byte,
    append_truncated_utf8, escape_everything,
)


def generate_probes(app, rng):
    """All raw request targets for one app, deduplicated, in a stable order."""
    per_rule = [rule_instances(rule, rng) for rule in app.url_map.iter_rules()]
    total_base = sum(len(base) for base, _ in per_rule) or 1
    sampled = max(MIN_SAMPLED_MUTATIONS, min(len(MUTATIONS), PROBE_BUDGET // total_base))
    probes = list(FIXED_PROBES)
    for base, extra in per_rule:
        for n, decoded in enumerate(base):
            probes.append(encode(decoded))
            mutations = MUTATIONS if n == 0 else rng.sample(MUTATIONS, sampled)
            probes += [m(decoded) for m in mutations]
        probes += [encode(decoded) for decoded in extra]
    return unique(p for p in probes if p is not None)


def unique(items):
    return list(dict.fromkeys(items))


# --------------------------------------------------------------------------
# Truth: what the app's router does with the path
# --------------------------------------------------------------------------

def decode_path(raw):
    """PATH_INFO as Werkzeug routes it, and whether it was valid UTF-8.

    The WSGI server percent-decodes the path (query cut off) without merging
    slashes or resolving dots; Werkzeug decodes UTF-8 with errors="replace".
    """
    data = urllib.parse.unquote_to_bytes(raw.split("?", 1)[0])
    try:
        return data.decode("utf-8"), True
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace"), False


def classify(raw, path, valid_utf8, unmerged_rules):
    """One class per probe. The debugger query is a policy class (refused on any path);
    invalid_utf8 wins over the normalization classes; dot segments win over `//`; a `//`
    path the app matches with a `merge_slashes=False` rule is a class of its own (nginx
    merges `//` before any location or map sees the path)."""
    if has_debugger_key(raw):
        return "debugger_query"
    if not valid_utf8:
        return "invalid_utf8"
    if any(seg in (".", "..") for seg in path.split("/")):
        return "dot_segments"
    if "//" in path:
        return "unmerged_rule" if unmerged_rules(path) else "double_slash"
    return "canonical"


def has_debugger_key(raw):
    """Whether the query carries Werkzeug's `__debugger__` key, as Werkzeug decodes it."""
    query = raw.partition("?")[2]
    return any(k == "__debugger__" for k, _ in urllib.parse.parse_qsl(query, keep_blank_values=True))


def debugger_probes(paths):
    """The debugger's query on paths the app answers, plus look-alikes that must pass."""
    return [f"{p}?{q}" for p in paths for q in DEBUGGER_QUERIES + LOOKALIKE_QUERIES]


def probe_hosts(app):
    """Host headers to send every probe with. One (`localhost`) unless the app routes on
    hosts; then each host a rule names, its parameters filled in with a few values, in
    upper case, with a port and with a trailing dot, and hosts no rule names (bytes:
    http.client sends them as they are)."""
    rules = list(app.url_map.iter_rules())
    server_name = (app.config.get("SERVER_NAME") or "").lower()
    if app.url_map.host_matching:
        patterns = sorted({r.host or "" for r in rules} - {""})
        hosts = ["localhost", "example.invalid"]
    elif getattr(app, "subdomain_matching", False) and server_name:
        patterns = sorted({f"{r.subdomain}.{server_name}" if r.subdomain else server_name
                           for r in rules})
        hosts = ["localhost", "." + server_name, "a.b." + server_name, "x" + server_name]
    else:
        return [b"localhost"]
    # `a_b` and `a*b`: characters nginx lets through in a Host and Werkzeug refuses.
    fills = ("x1", "7", "0042", "\uff11", "A-b", "a_b", "a*b")
    for pattern in patterns:
        hosts += [re.sub(r"<[^>]*>", fill, pattern) for fill in fills]
        hosts.append(re.sub(r"<[^>]*>", "x.y", pattern))
        plain = re.sub(r"<[^>]*>", "x1", pattern)
        hosts += [plain.upper(), plain + ":8080", plain + "."]
    return unique(h.encode("utf-8") for h in hosts)


def forwarded_host(host):
    """The Host header the app gets: nginx's $host (ASCII lower case, without port and
    trailing dot), which the app's location forwards, as WSGI's latin-1 string."""
    name = host.rsplit(b":", 1)[0] if host.count(b":") == 1 else host
    name = name.rstrip(b".")
    return bytes(c + 32 if 65 <= c <= 90 else c for c in name).decode("latin-1")


def truth_oracle(app, host="localhost"):
    """Return allowed(path) -> bool, using an adapter bound like Flask binds one for a
    request to `host`."""
    import warnings

    from werkzeug.exceptions import NotFound
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path="/", base_url="http://localhost/").get_environ()
    environ["HTTP_HOST"] = host
    # Werkzeug warns when the host is outside SERVER_NAME: that is one of the probes.
    warnings.simplefilter("ignore")
    # create_url_adapter forces subdomain "" unless subdomain_matching is on,
    # which is what makes subdomain= rules dead routes.
    adapter = app.create_url_adapter(app.request_class(environ))
    declared = {m for rule in app.url_map.iter_rules() for m in rule.methods or ()}
    methods = sorted(set(BASE_METHODS) | declared)

    # Werkzeug checks a rule's methods and websocket flag *before* running the
    # converters' to_python, so a path whose regexes match a rule but whose
    # value to_python rejects (int max=, fixed_digits, a custom ValidationError)
    # is a 404 for GET yet a 405 for a method the rule lacks, or a 400 for a
    # WebSocket request: under this path-level truth it is allowed.
    def unmerged_rules(path):
        """Whether a rule with merge_slashes=False matches `path` for some method."""
        for method in methods:
            try:
                rule, _ = adapter.match(path, method=method, return_rule=True)
            except Exception:
                continue
            if rule.merge_slashes is False:
                return True
        return False

    def allowed(path):
        for websocket in (False, True):
            for method in methods:
                try:
                    adapter.match(path, method=method, websocket=websocket)
                except NotFound:
                    continue
                except Exception:
                    # Redirect, 405, WebsocketMismatch, or a converter that
                    # crashed (a 500): all of them are answers from the app.
                    return True
                return True
        return False

    def outcome(path, method):
        """What the app answers `method path` with: "pass", 404, or "405 ALLOW,LIST"."""
        from werkzeug.exceptions import HTTPException, MethodNotAllowed

        try:
            adapter.match(path, method=method)
        except NotFound:
            return 404
        except MethodNotAllowed as exc:
            return f"405 {','.join(sorted(exc.valid_methods))}"
        except (HTTPException, Exception):
            return "pass"  # redirects, WebSocket mismatches: answers from the app
        return "pass"

    def lenient_outcome(path, method):
        """outcome() with every converter's to_python accepting whatever its regex
        matched: where the two differ, the app refused a value in code, which no
        server configuration can reproduce."""
        with accepting_converters(app.url_map.converters.values()):
            return outcome(path, method)

    allowed.outcome = outcome
    allowed.lenient_outcome = lenient_outcome
    return allowed, unmerged_rules


@contextlib.contextmanager
def accepting_converters(classes):
    """Temporarily make each converter class's to_python the identity."""
    saved = [(cls, cls.__dict__.get("to_python")) for cls in set(classes)]
    for cls, _ in saved:
        cls.to_python = lambda self, value: value
    try:
        yield
    finally:
        for cls, original in saved:
            if original is None:
                del cls.to_python
            else:
                cls.to_python = original


# --------------------------------------------------------------------------
# NGINX side
# --------------------------------------------------------------------------

class Nginx:
    """Keep-alive HTTP client that reconnects when nginx closes the connection
    (it does after every 400, and after keepalive_requests)."""

    def __init__(self, host, port):
        self.host, self.port, self.conn = host, port, None

    def status(self, raw, method="GET", host=b"localhost"):
        """The status nginx answers; a 405 comes as ("405", sorted Allow methods)."""
        try:
            return self._request(raw, method, host)
        except (http.client.HTTPException, OSError):
            # Most likely a kept-alive connection nginx had already closed:
            # retry once on a fresh one, and let a second failure propagate.
            self.close()
            return self._request(raw, method, host)

    def _request(self, raw, method, host):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        self.conn.request(method, raw, headers={"Host": host})
        response = self.conn.getresponse()
        response.read()
        if response.will_close:
            self.close()
        if response.status == 405:
            allow = response.getheader("Allow") or ""
            return f"405 {','.join(sorted(m.strip() for m in allow.split(',') if m.strip()))}"
        return response.status

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def verdict_kind(row):
    """None when nginx agrees with the app, else the kind of disagreement. With methods,
    a refusal must also be the app's own (404 vs 405, and the same Allow list)."""
    truth, status = row["truth"], row["nginx"]
    if status == 200:
        return None if truth else "false_allows"
    if status == 404 or str(status).startswith("405"):
        if truth:
            return "false_denies"
        return None if "answer" not in row or row["answer"] == status else "other"
    return "other"


def build_report(spec, results, dry_run):
    report = {"app": spec, "probes": len(results), "classes": {},
              "hosts": list(dict.fromkeys(r["host"] for r in results if "host" in r))}
    for cls in CLASSES:
        rows = [r for r in results if r["class"] == cls]
        summary = {
            "probes": len(rows),
            "truth_allowed": sum(r["truth"] for r in rows),
            "false_allows": None, "false_denies": None, "other": None,
        }
        if dry_run:
            # No verdicts: show what the truth looks like, both ways.
            groups = [[r for r in rows if r["truth"]], [r for r in rows if not r["truth"]]]
        else:
            groups = []
            for kind in ("false_allows", "false_denies", "other"):
                group = [r for r in rows if verdict_kind(r) == kind]
                summary[kind] = len(group)
                groups.append(group)
        summary["examples"] = [
            {k: r[k] for k in ("path", "host", "method", "truth", "answer", "nginx") if k in r}
            for r in round_robin(groups, MAX_EXAMPLES)
        ]
        report["classes"][cls] = summary
    if dry_run:
        report["list"] = [
            {"path": r["path"], "class": r["class"], "truth": r["truth"]} for r in results
        ]
    return report


def round_robin(groups, limit):
    """Interleave groups so a flood of one kind does not hide the others."""
    rows = (row for layer in itertools.zip_longest(*groups) for row in layer if row)
    return list(itertools.islice(rows, limit))


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--app", required=True, help='flask --app spec, e.g. app:create_app("prod")'
    )
    parser.add_argument("--app-dir", default=".", help="directory the spec is relative to")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="nginx port (not needed with --dry-run)")
    parser.add_argument("--dry-run", action="store_true", help="compute truth only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--methods", action="store_true",
        help="send every probe with several methods and compare 404/405/Allow too",
    )
    args = parser.parse_args(argv)
    if args.port is None and not args.dry_run:
        parser.error("--port is required unless --dry-run")
    return args


def run(args):
    """Everything after argument parsing; returns (exit status, report or None)."""
    try:
        app = load_app(args.app, args.app_dir)
    except (Exception, SystemExit) as exc:
        print(f"probe.py: cannot load app {args.app!r} from {args.app_dir!r}: "
              f"{one_line(exc)}", file=sys.stderr)
        return 2, None

    results = []
    probes = generate_probes(app, random.Random(args.seed))
    hosts = probe_hosts(app)
    for host in hosts:
        probe_host(app, args, host, probes, len(hosts) > 1, results)

    if not args.dry_run:
        nginx = Nginx(args.host, args.port)
        try:
            for row in results:
                row["nginx"] = nginx.status(row["path"], row.get("method", "GET"),
                                            row.get("host", "localhost").encode("utf-8"))
        except (http.client.HTTPException, OSError) as exc:
            print(f"probe.py: nginx at {args.host}:{args.port} failed: {exc!r}",
                  file=sys.stderr)
            return 3, None
        finally:
            nginx.close()
    return 0, build_report(args.app, results, args.dry_run)


def probe_host(app, args, host, probes, tag_host, results):
    """Appends the rows of every probe sent with Host `host` (bytes) to `results`; with
    `tag_host` they say which host they were sent with."""
    allowed, unmerged_rules = truth_oracle(app, forwarded_host(host))
    answered = [p for p in probes if "?" not in p and allowed(decode_path(p)[0])][:5]
    extra = {"host": host.decode("utf-8")} if tag_host else {}
    for raw in probes + debugger_probes(answered):
        path, valid_utf8 = decode_path(raw)
        cls = classify(raw, path, valid_utf8, unmerged_rules)
        if cls != "debugger_query" and not host.isascii():
            # Browsers send IDNA (ASCII) hosts; routewall refuses others for host-specific
            # routes rather than match the app's latin-1 reading of them.
            cls = "non_ascii_host"
        if not args.methods:
            # Policy: the debugger query is refused whatever the path.
            truth = False if cls == "debugger_query" else allowed(path)
            results.append({"path": raw, "class": cls, "truth": truth, "nginx": None, **extra})
            continue
        for method in PROBE_METHODS:
            answer = 404 if cls == "debugger_query" else allowed.outcome(path, method)
            method_cls = cls
            if cls != "debugger_query" and answer != allowed.lenient_outcome(path, method):
                method_cls = "converter_check"
            results.append({"path": raw, "method": method, "class": method_cls,
                            "truth": answer == "pass", "answer": answer, "nginx": None,
                            **extra})


def main(argv=None):
    args = parse_args(argv)
    stdout = sys.stdout
    # The app may print at import (or while routing); keep stdout pure JSON.
    with contextlib.redirect_stdout(sys.stderr):
        status, report = run(args)
    if report is not None:
        try:
            json.dump(report, stdout, indent=1)
            stdout.write("\n")
            stdout.flush()
        except BrokenPipeError:  # e.g. piped into `head`: not an error
            # Point stdout at devnull so the interpreter's final flush is quiet.
            os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())
    return status


if __name__ == "__main__":
    sys.exit(main())
