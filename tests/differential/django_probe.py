#!/usr/bin/env python3
"""Differential probe: compare a Django project's own routing with an NGINX allowlist.

The Django twin of probe.py (the Flask oracle): for one project it generates many request
paths from the project's own URL patterns (every pattern instantiated with several values
per converter or regex group, under every language prefix and none, mutations of those,
scanner paths), decides for each one whether the project answers it ("truth"), and,
unless --dry-run, sends it to an nginx that fronts the emitted allowlist and answers 200
for anything the allowlist passes and 404 otherwise. It reuses probe.py's mutations,
value pools, regex sampling, classes, nginx client and report format.

Truth model: Django itself, never a model of it. See /work/shared/semantics-django.md.

* Each probe becomes a WSGI environ as gunicorn builds it behind `proxy_pass` without a
  URI part: PATH_INFO is the raw path percent-decoded to bytes and read as latin-1 (`%2F`
  included; no slash merging, no dot resolution), QUERY_STRING the raw query, Host
  `localhost`.
* It goes through the project's real `WSGIHandler`: the whole middleware stack, so
  CommonMiddleware's APPEND_SLASH redirect and LocaleMiddleware's language redirect are
  Django's own answers. Only the view a request resolves to is swapped for a stub that
  answers 200 (BaseHandler.resolve_request is wrapped), so no view code and no database
  runs; the swap happens after resolution, so `@no_append_slash` and the like are still
  read from the real view.
* A probe is allowed iff some request for it gets a status other than 404: methods GET
  and POST, each without Accept-Language and with each code of settings.LANGUAGES (the
  locale redirect depends on the client's language; an allowlist is a union over
  clients). ALLOWED_HOSTS is forced to ["*"] so a host check cannot answer 400.

With --methods (for an allowlist generated with `--methods`) every probe is sent to nginx
with each of probe.PROBE_METHODS and judged per method, as probe.py judges Flask apps:
the truth for `M path` is Django's answer, "pass", 404, or "405 ALLOW,LIST" (the Allow
header of Django's 405), over every Accept-Language (any "pass" wins, then a 405). What
Django dispatches is never worked out here from the views' attributes (that is what the
source does, and the test would check the source against itself): the resolved view is
kept, and only its innermost code is swapped for the 200 stub, so that Django's own
checks run as they do in production:
* a class-based view (`as_view()`) becomes the same call on a subclass whose handler
  methods (`get`, `post`…, the class's own; `View.options` stays Django's) answer 200:
  `View.setup`, `View.dispatch`, `http_method_names` and `http_method_not_allowed` decide;
  a Django REST framework viewset (`as_view(actions)`) likewise, its actions stubbed;
* a decorated function (`require_http_methods`, `login_required`, `csrf_exempt`…) is
  copied with the function it wraps (the `__wrapped__` its closure holds) replaced, level
  by level down to the innermost, so each decorator's own check runs;
* a view whose wrapped function is out of reach (a decorator without `__wrapped__`, or
  whose closure does not hold it; a callable object) is replaced whole, so every method
  passes: the truth then says "any method", which an allowlist that restricts it fails.
Every request is made as a client that may: CSRF checks are off (a real client sends the
token; CsrfViewMiddleware's 403 is no refusal of the method) and `request.user` is a
stand-in that is active, staff, superuser and has every permission (login_required's
redirect is no refusal of the method either). So "pass" means Django runs the view's code
for M for some client, or a middleware answers (the APPEND_SLASH and LocaleMiddleware
redirects, for any method); 404 and 405 are Django's refusals. Without --methods nothing
of this applies and the truth is the path-level one above.

Probes that climb above the root once nginx resolves their dot segments (`/..`) are left
out: nginx answers 400 to them whatever its configuration.

Classes are probe.py's: invalid_utf8 when the decoded path is not UTF-8 (Django then
re-percent-encodes the bad bytes, `get_path_info`/`repercent_broken_unicode`, so
`/u/%ff` routes as the text `/u/%FF`), dot_segments, double_slash (Django never merges
slashes, so there is no unmerged_rule class), converter_check (a 404 that becomes an answer
once every converter's to_python accepts what its regex matched: the project refuses the
value in code, which no server configuration can repeat; only 404s are re-checked this
way), canonical. debugger_query, unmerged_rule and non_ascii_host have 0 probes.

Usage (with the interpreter of a venv that has tests/requirements.txt):

    python tests/differential/django_probe.py --settings mysite.settings \\
        --app-dir tests/fixtures/django [--urlconf MODULE] (--port N | --dry-run) \\
        [--host 127.0.0.1] [--seed N] [--methods]

The report's "app" is the settings module, followed by ":" and the URLconf when
--urlconf is given; its "django" object says what the allowlist cannot learn from the
URL patterns (STATIC_URL, MEDIA_URL, APPEND_SLASH, LANGUAGES...) and how Django answered.

stdout gets exactly one JSON object; anything the project prints goes to stderr.
Exit status: 0 on success, 2 if the project cannot be loaded, 3 if nginx cannot be
reached.
"""

import argparse
import collections
import contextlib
import http.client
import io
import os
import random
import re
import sys
import time
import types
import urllib.parse

try:  # Python >= 3.11
    from re import _parser as sre_parse
except ImportError:  # Python 3.10
    import sre_parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import probe  # noqa: E402  (the Flask oracle: mutations, pools, nginx client, report)

# Methods tried for the truth. POST is there because APPEND_SLASH redirects it too (under
# DEBUG it raises instead) and a resolved view answers it (403 from CSRF, 405...).
TRUTH_METHODS = ("GET", "POST")

# Raw request targets, sent as they are: scanner paths, the language roots, the static and
# media prefixes (no URL pattern serves them under DEBUG=False), and the admin's.
FIXED_PROBES = (
    "/",
    "/index.html",
    "/.env",
    "/.git/config",
    "/wp-login.php",
    "/wp-admin/",
    "/server-status",
    "/__debug__/",
    "/__debug__/render_panel/",
    "/admin",
    "/admin/",
    "/admin/login/?next=/admin/",
    "/static/x.css",
    "/static/admin/css/base.css",
    "/media/x.png",
    "/static/../admin/",
    "/en",
    "/en/",
    "/fr/",
    "/pt-br/",
    "/PT-BR/",
    "/xx/",
    "/i18n/setlang/",
    "/accounts/login/",
    "/favicon.ico",
    "/robots.txt",
    "/sitemap.xml",
)

# Language prefixes that are no language code of the project, or are one in another
# spelling. LocaleMiddleware reads the language of the path case-insensitively and with
# fallbacks (`FR`, `pt` -> pt-br, `fr-ca` -> fr: trans_real.get_supported_language_variant),
# so none of them gets the locale redirect, while LocalePrefixPattern compares the exact
# lower-case code: all of them are 404s.
ODD_LANGUAGE_PREFIXES = ("xx/", "EN/", "FR/", "PT-BR/", "pt-BR/", "pt/", "fr-ca/", "en-us/",
                         "en_US/")

# Candidates for converters and regex groups other than int, uuid and path (which have
# their own pools in probe.py); each is kept as valid only if Django would take it.
GENERIC_POOL = probe.STRING_POOL + probe.INT_VALID[:3] + probe.INT_EXTRA[:3]
EXTRAS_PER_SLOT = 4
# Valid instances kept per pattern (the admin alone has a dozen patterns with a `path`
# converter, each taking every value of probe.PATH_VALID and PATH_EXTRA).
MAX_BASE_INSTANCES = 6
# Marks where a raw segment goes in a decoded path (a private-use code point).
PLACEHOLDER = "\ue000"


# --------------------------------------------------------------------------
# Loading the project the way manage.py does
# --------------------------------------------------------------------------

def load_project(settings_module, app_dir, urlconf=None):
    """Set Django up for SETTINGS_MODULE from APP_DIR; return (settings, WSGI handler,
    templates of the URLconf's endpoints). The URLconf (and everything it includes) is
    imported now, so that a broken one fails here rather than answering 500 to every
    probe."""
    os.chdir(app_dir)
    sys.path.insert(0, os.getcwd())
    sys.dont_write_bytecode = True  # leave no __pycache__ in the fixture dirs
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module

    import django
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.urls import get_resolver

    django.setup()
    # A real project's host check would answer 400 to everything but its own hosts.
    settings.ALLOWED_HOSTS = ["*"]
    if urlconf:
        settings.ROOT_URLCONF = urlconf
    templates = walk(get_resolver().url_patterns)
    return settings, WSGIHandler(), templates


# --------------------------------------------------------------------------
# Pattern templates: the URLconf as lists of literal text and slots
# --------------------------------------------------------------------------

class Param:
    """A path() converter (`<int:pk>`)."""

    def __init__(self, converter):
        self.converter = converter


class Regex:
    """A re_path() pattern, matched against what its parents left of the path."""

    def __init__(self, text):
        self.text = text


class Locale:
    """The language prefix of i18n_patterns() (LocalePrefixPattern)."""

    def __init__(self, pattern):
        self.pattern = pattern


def walk(patterns, prefix=()):
    """Every endpoint of a URLconf as a tuple of pieces (literal strings, Param, Regex,
    Locale), include() prefixes first, in the resolver's order."""
    from django.urls import URLResolver

    templates = []
    for entry in patterns:
        for head in pattern_pieces(entry.pattern):
            if isinstance(entry, URLResolver):
                templates += walk(entry.url_patterns, prefix + head)
            else:
                templates.append(prefix + head)
    return templates


def pattern_pieces(pattern):
    """The alternatives (one per distinct translation) of one pattern, as piece tuples."""
    from django.urls.resolvers import LocalePrefixPattern, RegexPattern, RoutePattern

    if isinstance(pattern, LocalePrefixPattern):
        return [(Locale(pattern),)]
    if isinstance(pattern, RoutePattern):
        return [route_pieces(text) for text in translations(pattern._route)]
    if isinstance(pattern, RegexPattern):
        return [(Regex(text),) for text in translations(pattern._regex)]
    print(f"django_probe.py: no probes for the pattern {pattern!r} "
          f"({type(pattern).__name__} is no Django pattern class)", file=sys.stderr)
    return []


def translations(text):
    """A route or regex: as it is, or, for a lazy translation (gettext_lazy), its text in
    each language of settings.LANGUAGES (Django compiles one regex per language)."""
    if isinstance(text, str):
        return [text]
    from django.conf import settings
    from django.utils import translation

    texts = []
    for code, _ in settings.LANGUAGES:
        with translation.override(code):
            texts.append(str(text))
    return probe.unique(texts)


def route_pieces(route):
    """A path() route split like django.urls.resolvers._route_to_regex splits it."""
    from django.urls.converters import get_converters
    from django.urls.resolvers import _PATH_PARAMETER_COMPONENT_RE

    pieces, pos = [], 0
    for m in _PATH_PARAMETER_COMPONENT_RE.finditer(route):
        pieces.append(route[pos:m.start()])
        pieces.append(Param(get_converters()[m.group("converter") or "str"]))
        pos = m.end()
    pieces.append(route[pos:])
    return tuple(p for p in pieces if p != "")


def template_text(template):
    """A readable form of a template, for messages."""
    parts = []
    for piece in template:
        if isinstance(piece, str):
            parts.append(piece)
        elif isinstance(piece, Param):
            parts.append(f"<{type(piece.converter).__name__}>")
        elif isinstance(piece, Regex):
            parts.append(f"re({piece.text})")
        else:
            parts.append("<lang>/")
    return "/" + "".join(parts)


# --------------------------------------------------------------------------
# Slot values
# --------------------------------------------------------------------------

def slot_values(slot, settings):
    """(valid, extra) decoded texts for one slot: valid ones are what Django matches."""
    if isinstance(slot, Param):
        return converter_values(slot.converter)
    if isinstance(slot, Regex):
        return regex_values(slot.text)
    return locale_values(slot.pattern, settings)


def converter_values(conv):
    """probe.py's pools for the converter's type plus samples of its regex, split by
    Django's own test: the regex fullmatches and to_python raises no ValueError."""
    from django.urls import converters

    if isinstance(conv, converters.PathConverter):
        pool, keep = probe.PATH_VALID + probe.PATH_EXTRA, None
    elif isinstance(conv, converters.UUIDConverter):
        pool, keep = probe.UUID_VALID + probe.UUID_EXTRA, None
    elif isinstance(conv, converters.IntConverter):
        pool, keep = probe.INT_VALID + probe.INT_EXTRA, None
    else:
        pool, keep = GENERIC_POOL, EXTRAS_PER_SLOT
    candidates = probe.unique(list(pool) + probe.sample_regex(conv.regex))
    matched = [c for c in candidates if re.fullmatch(conv.regex, c)]
    valid = [c for c in matched if accepts(conv, c)]
    # Values the regex takes and to_python refuses first: the checks in code.
    extra = [c for c in matched if c not in valid] + [c for c in candidates if c not in matched]
    return valid, extra[:keep]


def accepts(conv, value):
    try:
        conv.to_python(value)
    except Exception:  # ValueError: no match (anything else would be a 500)
        return False
    return True


def regex_values(text):
    """Samples of a re_path regex (probe.sample_regex) and renderings of it with each
    top-level group replaced by pool values; valid when the regex fullmatches the text."""
    try:
        compiled = re.compile(text)
    except re.error:
        return [], []
    candidates = list(probe.sample_regex(text))
    for value in GENERIC_POOL:
        candidates += [rendered for _, rendered in group_renderings(text, value)]
    candidates = probe.unique(candidates)
    valid = [c for c in candidates if compiled.fullmatch(c)]
    extra = [c for c in candidates if c not in valid]
    return valid, extra[:EXTRAS_PER_SLOT]


def group_renderings(text, value):
    """(group key, text) for each top-level group of the regex: the regex rendered short
    (probe.render_regex) with that group replaced by `value`."""
    try:
        items = list(sre_parse.parse(text))
    except re.error:
        return []
    out = []
    for i, (op, arg) in enumerate(items):
        if op.name != "SUBPATTERN":
            continue
        pieces = [value if j == i else probe.render_regex([item], False)
                  for j, item in enumerate(items)]
        if None not in pieces:
            out.append((repr(list(arg[-1])), "".join(pieces)))
    return out


def locale_values(pattern, settings):
    """Every language prefix and none (the locale redirect's input), the canonical one
    first; then spellings that are no code of the project or another case of one."""
    codes = [code for code, _ in settings.LANGUAGES]
    first = f"{settings.LANGUAGE_CODE}/" if pattern.prefix_default_language else ""
    valid = probe.unique([first] + [f"{code}/" for code in codes] + [""])
    return valid, [p for p in ODD_LANGUAGE_PREFIXES if p not in valid]


def template_instances(template, values, rng):
    """(base, extra, leading) decoded paths for one template, as probe.rule_instances
    makes them for a Werkzeug rule: each slot in turn takes each of its values while the
    others keep their first valid one, plus a few random all-valid combinations; `leading`
    are the base instances that get every mutation."""
    slots = [i for i, piece in enumerate(template) if not isinstance(piece, str)]
    for i in slots:
        if not values[i][0]:
            print(f"django_probe.py: no valid value for slot {i} of "
                  f"{template_text(template)!r}", file=sys.stderr)
    first = {i: (values[i][0] or values[i][1] or [""])[0] for i in slots}

    def fill(choice):
        return "/" + "".join(choice.get(i, piece) for i, piece in enumerate(template))

    all_valid = all(values[i][0] for i in slots)
    groups = [[fill(first)]] if all_valid else []
    extra = []
    for i in slots:
        valid, odd = values[i]
        groups.append([fill({**first, i: v}) for v in valid])
        extra += [fill({**first, i: v}) for v in odd]
    if len(slots) > 1 and all_valid:
        groups.append([fill({i: rng.choice(values[i][0]) for i in slots}) for _ in range(3)])
    # Interleaved, so that the cap keeps values of every slot.
    base = probe.unique(probe.round_robin(groups, sum(map(len, groups))))
    # The all-first instance leads (it gets every mutation), and so does the one without
    # a language prefix, the input of LocaleMiddleware's redirect.
    leading = base[:1]
    if all_valid:
        leading += [fill({**first, i: ""}) for i in slots
                    if isinstance(template[i], Locale) and first[i]]
    return probe.unique(leading + base[:MAX_BASE_INSTANCES]), probe.unique(extra), leading


def raw_segment_probes(template, values, seen):
    """probe.RAW_SEGMENTS (control bytes, truncated, overlong and surrogate UTF-8...) in
    place of each converter and regex group whose kind `seen` does not hold yet (a `path`
    converter takes anything and is left out). Django re-percent-encodes invalid UTF-8, so
    `%FF` is the three characters `%FF` to a converter regex."""
    from django.urls import converters

    first = {i: (values[i][0] or values[i][1] or [""])[0] for i in values}
    marked = []
    for i, piece in enumerate(template):
        if isinstance(piece, Param) and not isinstance(piece.converter,
                                                       converters.PathConverter):
            marked.append((type(piece.converter).__name__, i, PLACEHOLDER))
        elif isinstance(piece, Regex):
            marked += [(key, i, text) for key, text in group_renderings(piece.text, PLACEHOLDER)]
    probes = []
    mark = probe.encode(PLACEHOLDER)
    for key, i, text in marked:
        if key in seen:
            continue
        seen.add(key)
        decoded = "/" + "".join(text if j == i else first.get(j, piece)
                                for j, piece in enumerate(template))
        probes += [probe.encode(decoded).replace(mark, raw) for raw in probe.RAW_SEGMENTS]
    return probes


# --------------------------------------------------------------------------
# Mutations: probe.py's, and two for re_path's search semantics
# --------------------------------------------------------------------------

def prefix_segment(d):
    """A re_path without `^` is searched: it matches after any prefix."""
    return probe.encode("/x" + d)


def append_text(d):
    """A re_path endpoint without `$` matches any continuation, not just a new segment."""
    return probe.encode(d + "x")


MUTATIONS = probe.MUTATIONS + (prefix_segment, append_text)


def generate_probes(templates, settings, rng):
    """All raw request targets for the project, deduplicated, in a stable order."""
    per_template = []
    for template in templates:
        values = {i: slot_values(piece, settings)
                  for i, piece in enumerate(template) if not isinstance(piece, str)}
        per_template.append((template, values, template_instances(template, values, rng)))
    total_base = sum(len(base) for _, _, (base, _, _) in per_template) or 1
    sampled = max(probe.MIN_SAMPLED_MUTATIONS,
                  min(len(MUTATIONS), probe.PROBE_BUDGET // total_base))
    probes = list(FIXED_PROBES)
    seen = set()
    for template, values, (base, extra, leading) in per_template:
        for decoded in base:
            probes.append(probe.encode(decoded))
            mutations = MUTATIONS if decoded in leading else rng.sample(MUTATIONS, sampled)
            probes += [m(decoded) for m in mutations]
        probes += [probe.encode(decoded) for decoded in extra]
        probes += raw_segment_probes(template, values, seen)
    return probe.unique(p for p in probes if p is not None and not probe.climbs_above_root(p))


# --------------------------------------------------------------------------
# Truth: what the project's own handler answers
# --------------------------------------------------------------------------

def django_path(raw):
    """request.path_info as Django builds it for `raw`, and whether the decoded bytes
    were UTF-8: gunicorn's PATH_INFO (percent-decoded, latin-1), re-encoded, broken UTF-8
    re-percent-encoded (django.core.handlers.wsgi.get_path_info)."""
    from django.utils.encoding import repercent_broken_unicode

    data = urllib.parse.unquote_to_bytes(raw.split("?", 1)[0])
    try:
        data.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    return repercent_broken_unicode(data).decode(), valid


def classify(raw):
    path_part = raw.split("?", 1)[0]
    path, valid_utf8 = django_path(path_part)
    # The classes the allowlist refuses by design come first, so that a probe that is
    # both (`//` and invalid UTF-8) is counted where its refusal comes from. There is no
    # merge_slashes=False in Django: `//` is always the double_slash class.
    if any(segment in (".", "..") for segment in path.split("/")):
        return "dot_segments"
    if "//" in path:
        return "double_slash"
    return "canonical" if valid_utf8 else "invalid_utf8"


def stub_view(request, *args, **kwargs):
    from django.http import HttpResponse

    return HttpResponse(b"routewall stub")


async def async_stub_view(request, *args, **kwargs):
    return stub_view(request)


def stub_handler(self, request, *args, **kwargs):
    return stub_view(request)


async def async_stub_handler(self, request, *args, **kwargs):
    return stub_view(request)


class Innermost:
    """Views with only their innermost code swapped for the stub (see the module's docs),
    made once per view; `whole` counts the views replaced whole."""

    def __init__(self):
        self.made = {}
        self.whole = set()

    def __call__(self, view):
        key = id(view)
        if key not in self.made:
            self.made[key] = (view, self.stubbed(view))  # the view kept alive with its id
        return self.made[key][1]

    def stubbed(self, view):
        chain = [view]
        while True:
            wrapper = chain[-1]
            inner = getattr(wrapper, "__wrapped__", None)
            # Only a function's closure can be rebuilt (a bound method's function takes its
            # instance first); as_view() before Django 4.0 wraps its class, no code to stub.
            if (inner is None or isinstance(inner, type)
                    or not isinstance(wrapper, types.FunctionType) or not holding(wrapper, inner)):
                break
            chain.append(inner)
        replacement = self.innermost(chain[-1])
        for wrapper in reversed(chain[:-1]):
            replacement = with_inner(wrapper, replacement)
        return replacement

    def innermost(self, view):
        from asgiref.sync import iscoroutinefunction

        cls = getattr(view, "view_class", None)
        if isinstance(cls, type):
            # Django's as_view(): the same call on a subclass with stub handlers.
            return stub_class(cls).as_view(**(getattr(view, "view_initkwargs", None) or {}))
        cls, actions = getattr(view, "cls", None), getattr(view, "actions", None)
        if isinstance(cls, type) and isinstance(actions, dict):
            # DRF's ViewSetMixin.as_view(actions): the actions are the code.
            sub = stub_class(cls, actions.values())
            return sub.as_view(dict(actions), **(getattr(view, "initkwargs", None) or {}))
        if not isinstance(view, types.FunctionType):
            self.whole.add(f"a {type(view).__module__}.{type(view).__qualname__} object")
        elif getattr(view, "__wrapped__", None) is not None:
            self.whole.add(f"{view.__module__}.{view.__qualname__}")
        return async_stub_view if iscoroutinefunction(view) else stub_view


def holding(wrapper, inner):
    """Whether `wrapper` is a function whose closure holds `inner` (so a copy of it can
    call something else)."""
    cells = getattr(wrapper, "__closure__", None) or ()
    return any(cell_holds(cell, inner) for cell in cells)


def cell_holds(cell, value):
    try:
        return cell.cell_contents is value
    except ValueError:  # an empty cell
        return False


def with_inner(wrapper, inner):
    """A copy of the function `wrapper` whose closure holds `inner` where it held the
    function it wraps (its `__wrapped__`)."""
    old = wrapper.__wrapped__
    cells = tuple(types.CellType(inner) if cell_holds(c, old) else c
                  for c in wrapper.__closure__)
    copy = types.FunctionType(wrapper.__code__, wrapper.__globals__, wrapper.__name__,
                              wrapper.__defaults__, cells)
    copy.__kwdefaults__ = wrapper.__kwdefaults__
    copy.__dict__.update(wrapper.__dict__)
    copy.__wrapped__ = inner
    copy.__qualname__ = wrapper.__qualname__
    copy.__module__ = wrapper.__module__
    return copy


def stub_class(cls, extra=()):
    """A subclass of the view class `cls` whose own handlers (and `extra` methods, a
    viewset's actions) answer 200; Django's View.options and everything else stay."""
    from django.views import View

    names = set(View.http_method_names) | set(getattr(cls, "http_method_names", ())) | set(extra)
    handler = async_stub_handler if getattr(cls, "view_is_async", False) else stub_handler
    stubs = {name: handler for name in names
             if callable(getattr(cls, name, None))
             and getattr(cls, name) is not getattr(View, name, None)}
    return type(cls.__name__, (cls,), stubs)


class ProbeUser:
    """request.user for the method truth: a client allowed everything (login_required,
    user_passes_test, permission_required and the admin let it in)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = True
    is_superuser = True
    pk = id = 1
    username = "routewall-probe"

    def get_username(self):
        return self.username

    def has_perm(self, perm, obj=None):
        return True

    def has_perms(self, perms, obj=None):
        return True

    def has_module_perms(self, app_label):
        return True


@contextlib.contextmanager
def stubbed_views(urlconfs, innermost=None):
    """Swap the view of every resolved request for stub_view (after resolution, so the
    middleware that resolves on its own, APPEND_SLASH and the locale redirect, still
    sees the real views and their attributes). Adds to the set `urlconfs` every
    per-request URLconf (`request.urlconf`, set by middleware such as django-hosts): the
    probes then tell only what Host `localhost` gets.

    With `innermost` (an Innermost, for --methods) the view is kept with only its
    innermost code swapped, CSRF checks are off and the client may do anything."""
    from django.core.handlers.base import BaseHandler

    original = BaseHandler.resolve_request

    def resolve_request(self, request):
        if hasattr(request, "urlconf"):
            urlconfs.add(str(request.urlconf))
        match = original(self, request)
        if innermost is None:
            match.func = stub_view
        else:
            match.func = innermost(match.func)
            # As Django's test client does: a real client sends the CSRF token.
            request._dont_enforce_csrf_checks = True
            request.user = ProbeUser()
        return match

    BaseHandler.resolve_request = resolve_request
    try:
        yield
    finally:
        BaseHandler.resolve_request = original


class Oracle:
    """Runs requests through the project's WSGIHandler and remembers every status."""

    def __init__(self, settings, handler):
        self.handler = handler
        self.languages = [None] + [code for code, _ in settings.LANGUAGES]
        self.statuses = collections.Counter()
        self.errors = []

    def status(self, raw, method, language):
        return self.response(raw, method, language)[0]

    def response(self, raw, method, language):
        """(status, headers) of `method raw` with Accept-Language `language`."""
        from django.utils import translation

        environ = gunicorn_environ(raw, method, language)
        seen = []

        def start_response(status, headers, exc_info=None):
            seen.append((status, headers))

        translation.deactivate()  # as a fresh worker thread: LocaleMiddleware decides
        response = self.handler(environ, start_response)
        try:
            for _ in response:
                pass
        finally:
            response.close()  # request_finished, as a WSGI server does
        status, headers = seen[0]
        code = int(status.split()[0])
        self.statuses[code] += 1
        if code >= 500 and len(self.errors) < 20:
            self.errors.append(f"{method} {raw} Accept-Language={language}: {status}")
        return code, headers

    def allowed(self, raw):
        return any(self.status(raw, method, language) != 404
                   for method in TRUTH_METHODS for language in self.languages)

    def outcome(self, raw, method):
        """Django's answer to `method raw` for some client (--methods): "pass" when some
        Accept-Language gets anything but 404 and 405, else the 405 as probe.Nginx
        reports one ("405 GET,HEAD"), else 404."""
        refusals = []
        for language in self.languages:
            code, headers = self.response(raw, method, language)
            if code not in (404, 405):
                return "pass"
            if code == 405:
                allow = ",".join(h for k, v in headers if k.lower() == "allow" for h in v.split(","))
                refusals.append(f"405 {','.join(sorted(m.strip() for m in allow.split(',') if m.strip()))}")
        return refusals[0] if refusals else 404


def gunicorn_environ(raw, method, language):
    """The environ gunicorn hands the app for `method raw` from nginx (HTTP/1.0,
    Connection: close; an empty body for POST)."""
    path, _, query = raw.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        # gunicorn's unquote_to_wsgi_str: %2F becomes "/", nothing merged or resolved.
        "PATH_INFO": urllib.parse.unquote_to_bytes(path).decode("latin-1"),
        "QUERY_STRING": query,
        "RAW_URI": raw,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.0",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "40000",
        "HTTP_HOST": "localhost",
        "HTTP_CONNECTION": "close",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if method == "POST":
        environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
        environ["CONTENT_LENGTH"] = "0"
    if language:
        environ["HTTP_ACCEPT_LANGUAGE"] = language
    return environ


def converter_classes():
    """The class of every converter path() can name (built-in and registered)."""
    from django.urls.converters import get_converters

    return {type(conv) for conv in get_converters().values()}


def truth_rows(probes, oracle, methods=False):
    if methods:
        return method_truth_rows(probes, oracle)
    rows = []
    for raw in probes:
        cls = classify(raw)
        truth = oracle.allowed(raw)
        if not truth:
            with probe.accepting_converters(converter_classes()):
                if oracle.allowed(raw):
                    cls = "converter_check"
        rows.append({"path": raw, "class": cls, "truth": truth, "nginx": None})
    return rows


def method_truth_rows(probes, oracle):
    """One row per probe and method of probe.PROBE_METHODS (--methods), judged as probe.py
    judges them: the truth is "pass", and "answer" the refusal nginx must repeat. A
    refusal that becomes another answer once every converter accepts what its regex
    matched is the converter_check class (the project refuses the value in code)."""
    rows = []
    for raw in probes:
        cls = classify(raw)
        for method in probe.PROBE_METHODS:
            answer = oracle.outcome(raw, method)
            method_cls = cls
            if answer != "pass":
                with probe.accepting_converters(converter_classes()):
                    if oracle.outcome(raw, method) != answer:
                        method_cls = "converter_check"
            rows.append({"path": raw, "method": method, "class": method_cls,
                         "truth": answer == "pass", "answer": answer, "nginx": None})
    return rows


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settings", required=True,
                        help="settings module, as DJANGO_SETTINGS_MODULE (mysite.settings)")
    parser.add_argument("--app-dir", default=".",
                        help="directory manage.py lives in (put first on sys.path)")
    parser.add_argument("--urlconf", help="URLconf module to use instead of ROOT_URLCONF")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="nginx port (not needed with --dry-run)")
    parser.add_argument("--dry-run", action="store_true", help="compute truth only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--methods", action="store_true",
        help="send every probe with several methods and compare 404/405/Allow too "
             "(for an allowlist generated with --methods)",
    )
    args = parser.parse_args(argv)
    if args.port is None and not args.dry_run:
        parser.error("--port is required unless --dry-run")
    return args


def run(args):
    """Everything after argument parsing; returns (exit status, report or None)."""
    spec = args.settings + (f":{args.urlconf}" if args.urlconf else "")
    try:
        settings, handler, templates = load_project(args.settings, args.app_dir, args.urlconf)
    except (Exception, SystemExit) as exc:
        print(f"django_probe.py: cannot load Django project {spec!r} from "
              f"{args.app_dir!r}: {probe.one_line(exc)}", file=sys.stderr)
        return 2, None

    started = time.monotonic()
    probes = generate_probes(templates, settings, random.Random(args.seed))
    oracle = Oracle(settings, handler)
    urlconfs = set()
    innermost = Innermost() if args.methods else None
    with stubbed_views(urlconfs, innermost):
        rows = truth_rows(probes, oracle, args.methods)
    elapsed = time.monotonic() - started
    print(f"django_probe.py: {len(rows)} probes from {len(templates)} patterns, truth in "
          f"{elapsed:.1f} s ({sum(oracle.statuses.values())} requests)", file=sys.stderr)
    for line in oracle.errors:
        print(f"django_probe.py: the project answered 5xx: {line}", file=sys.stderr)
    for name in sorted(innermost.whole if innermost else ()):
        print(f"django_probe.py: the wrapped code of {name} is out of reach: replaced whole "
              "(the truth lets every method through to it)", file=sys.stderr)
    for name in sorted(urlconfs):
        print(f"django_probe.py: a middleware set request.urlconf = {name!r}: the truth is "
              "for Host localhost only", file=sys.stderr)
    for name in ("PREPEND_WWW", "SECURE_SSL_REDIRECT"):
        if getattr(settings, name, False):
            print(f"django_probe.py: {name} is on: every plain-http request to localhost "
                  "is redirected, so every probe looks allowed", file=sys.stderr)

    if not args.dry_run:
        nginx = probe.Nginx(args.host, args.port)
        try:
            for row in rows:
                row["nginx"] = nginx.status(row["path"], row.get("method", "GET"))
        except (http.client.HTTPException, OSError) as exc:
            print(f"django_probe.py: nginx at {args.host}:{args.port} failed: {exc!r}",
                  file=sys.stderr)
            return 3, None
        finally:
            nginx.close()
    report = probe.build_report(spec, rows, args.dry_run)
    report["django"] = project_summary(settings, templates, oracle, urlconfs, innermost)
    return 0, report


def project_summary(settings, templates, oracle, urlconfs, innermost=None):
    """What the allowlist cannot read from the URL patterns, and how Django answered."""
    import django

    return {
        "version": django.get_version(),
        "root_urlconf": settings.ROOT_URLCONF,
        "append_slash": settings.APPEND_SLASH,
        "language_code": settings.LANGUAGE_CODE,
        "languages": [code for code, _ in settings.LANGUAGES],
        "static_url": settings.STATIC_URL,
        "media_url": settings.MEDIA_URL,
        "debug": settings.DEBUG,
        "prepend_www": settings.PREPEND_WWW,
        "secure_ssl_redirect": getattr(settings, "SECURE_SSL_REDIRECT", False),
        "request_urlconfs": sorted(urlconfs),
        "templates": len(templates),
        "statuses": {str(k): v for k, v in sorted(oracle.statuses.items())},
        **({"views_replaced_whole": sorted(innermost.whole)} if innermost else {}),
    }


def main(argv=None):
    return probe.run_and_print(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
