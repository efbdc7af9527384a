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

With --long-paths it also sends long crafted paths (0.5-8 KB, see long_path_probes) and
reports them on their own under "long_paths"; --shape-sample instantiates only a few rules
of each shape; --truth-from FILE takes the probes and their truth from an earlier
--dry-run's report (their truth can take Werkzeug tens of seconds).

stdout gets exactly one JSON object; anything the app prints goes to stderr.
Exit status: 0 on success, 2 if the app cannot be loaded, 3 if nginx cannot be
reached.
"""

import argparse
import collections
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
# U+11F50 (Kawi digit zero) is a digit from Unicode 15 on: to regex-syntax, not to
# Python 3.11, whose `\d` Werkzeug matches with.
INT_EXTRA = ("abc", "-5", "1e3", ".5", "\U00011f50")
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


# Segment values spelled as raw escapes, for parameters whose code points are counted or
# classed. Werkzeug decodes the path with errors="replace": one U+FFFD per maximal subpart
# of an ill-formed sequence, so `%F0%9F%98` (truncated) is one code point, `%C0%80`
# (overlong) two, `%ED%A0%80` (a surrogate) three, `%F4%90%80%80` (beyond U+10FFFF) four.
# Python's `\s` holds \x1c-\x1f, Unicode's White_Space does not.
RAW_SEGMENTS = (
    "%1C", "%1F", "a%1Db", "%1C%1E", "%20%1F", "x%1F",
    "%F0%9F%98", "a%F0%9F%98", "ab%F0%9F%98", "%F0%9F%98%F0%9F%98", "%F0%9F%98xy",
    "%C0%80", "a%C0%80", "ab%C0%80", "%ED%A0%80", "a%ED%A0%80", "%F4%90%80%80",
    "%E2%82", "%E2%82%AC%E2%82", "%E0%80", "%C3%A9", "%C3%A9%80", "%80%80", "%80%80%80",
    "%FF", "%FFa", "1%D9%A3", "%EF%BF%BD%C3",
)


def raw_segment_probes(rule):
    """Raw targets for `rule` with each RAW_SEGMENTS value as a whole segment that holds
    a parameter whose code points are counted or classed (a custom converter, a string
    with a length), or several parameters (`/<a><b>`: `/é` is one code point, too few);
    the other parameters take their first value."""
    template = rule_template(rule)
    filled = [encode(part if isinstance(part, str) else first_value(part)) for part in template]
    probes = []
    for segment in parameter_segments(template):
        if len(segment) == 1 and not counts_code_points(template[segment[0]]):
            continue
        for raw in RAW_SEGMENTS:
            values = {i: "" for i in segment}
            values[segment[0]] = raw
            probes.append("".join(values.get(i, text) for i, text in enumerate(filled)))
    return probes


def first_value(conv):
    valid, extra = converter_values(conv)
    return (valid + extra + ["x"])[0]


def parameter_segments(template):
    """The template's parameters (indexes) grouped by path segment."""
    groups, current = [], []
    for i, part in enumerate(template):
        if isinstance(part, str):
            if "/" in part and current:
                groups.append(current)
                current = []
        else:
            current.append(i)
    return groups + ([current] if current else [])


def counts_code_points(conv):
    """Whether a converter's regex counts or classes code points: a custom converter, or
    a string converter with a length (the default `[^/]{1,}` is a plain byte run)."""
    from werkzeug import routing

    if type(conv) is routing.UnicodeConverter:
        return conv.regex != "[^/]{1,}"
    return not type(conv).__module__.startswith("werkzeug.")


MUTATIONS = (
    toggle_trailing_slash, add_segment, drop_last_segment, upper_case, swap_case,
    escape_a_letter, append_newline, slash_inside_segment, leading_double_slash,
    inner_double_slash, dot_segment_prefix, dot_segment_suffix, dotdot_segment_suffix,
    climb_back, escaped_climb_back, append_non_ascii, append_invalid_byte,
    append_truncated_utf8, escape_everything,
)


def generate_probes(app, rng, rules=None):
    """All raw request targets for one app (or for `rules` of it), deduplicated, in a
    stable order."""
    per_rule = [rule_instances(rule, rng) for rule in rules or app.url_map.iter_rules()]
    total_base = sum(len(base) for base, _ in per_rule) or 1
    sampled = max(MIN_SAMPLED_MUTATIONS, min(len(MUTATIONS), PROBE_BUDGET // total_base))
    probes = list(FIXED_PROBES)
    for base, extra in per_rule:
        for n, decoded in enumerate(base):
            probes.append(encode(decoded))
            mutations = MUTATIONS if n == 0 else rng.sample(MUTATIONS, sampled)
            probes += [m(decoded) for m in mutations]
        probes += [encode(decoded) for decoded in extra]
    for rule in rules or app.url_map.iter_rules():
        probes += raw_segment_probes(rule)
    return unique(p for p in probes if p is not None)


def climbs_above_root(raw):
    """Whether nginx's dot-segment resolution of `raw` climbs above `/` (`/..`, which a
    mutation of `/` makes): nginx answers 400 before any location, whatever the
    configuration, so the probe tells nothing (semantics.md §1.4)."""
    depth = 0
    for segment in urllib.parse.unquote_to_bytes(raw.split("?", 1)[0]).split(b"/")[1:]:
        if segment == b"..":
            depth -= 1
            if depth < 0:
                return True
        elif segment not in (b"", b"."):
            depth += 1
    return False


def unique(items):
    return list(dict.fromkeys(items))


# --------------------------------------------------------------------------
# Long crafted paths (--long-paths): where a backtracking regex runs out of steps
# --------------------------------------------------------------------------

# A backtracking regex for `/<path:a>/<path:b>/t1` tries splits of the path at every
# slash, so its cost grows with the slashes times the length, or worse; PCRE stops at its
# match limit, and nginx then refuses a path the app routes (issue #16). This family fills
# a few rules of each shape with long values. Each fill: (name, length of the rule's long
# values together, length of the filler segments of a `path` value). "dense" is nearly
# all slashes (800 bytes of them take the pre-#16 regexes past PCRE's match limit), "wide"
# long with few. Werkzeug's own regexes backtrack too: the truth of a dense path costs
# about the cube of its slashes, so it stays short.
LONG_FILLS = (("dense", 800, 1), ("wide", 7400, 400))
# nginx answers 414 to a request line over 8 KiB (large_client_header_buffers).
LONG_MAX_TARGET = 7900
LONG_MISS = "/nomatch"


def shape_sample(app, first=True):
    """A few rules of each shape (the rule text with its numbers taken out: `/x/<a>/r1`,
    `/x/<a>/r2`, …), which an emitter makes alternatives of one regex: the first (unless
    not `first`), the last and the greatest in text order, so a path matches early or late
    in whatever order they come."""
    groups = {}
    for rule in app.url_map.iter_rules():
        groups.setdefault(re.sub(r"\d+", "#", rule.rule), []).append(rule)
    sample = []
    for rules in groups.values():
        picks = {len(rules) - 1, max(range(len(rules)), key=lambda i: rules[i].rule)}
        picks |= {0} if first else set()
        sample += [rules[i] for i in sorted(picks)]
    return sample


def long_path_probes(rules):
    """{raw target: {"rule", "fill", "variant"}} of the long probes for `rules`."""
    probes = {}
    for rule in rules:
        template = rule_template(rule)
        for fill, size, seg_len in LONG_FILLS:
            pieces = long_pieces(template, size, seg_len)
            if pieces is None:
                continue
            for variant, raw in long_variants(pieces):
                if len(raw) <= LONG_MAX_TARGET and raw not in probes:
                    probes[raw] = {"rule": rule.rule, "fill": fill, "variant": variant}
    return probes


def long_pieces(template, size, seg_len):
    """The rule filled in as [text, kind] pieces (kind None for the rule's own text, else
    "path", "string" or "other"): `path` and string-like parameters get long values
    sharing `size`, others their first valid value. None if no parameter can be long."""
    from werkzeug.routing import PathConverter

    words = long_words(template)
    pieces, longs = [], []
    for i, part in enumerate(template):
        if isinstance(part, str):
            pieces.append([part, None])
        elif isinstance(part, PathConverter):
            pieces.append([None, "path"])
            longs.append(i)
        else:
            left = template[i - 1].rsplit("/", 1)[-1] if i > 0 else ""
            right = template[i + 1].split("/", 1)[0] if i + 1 < len(template) else ""
            pieces.append([None, "string", part.regex, "y" + left + right])
            longs.append(i)
    if not longs:
        return None
    share = max(1, size // len(longs))
    for i in longs:
        piece = pieces[i]
        if piece[1] == "path":
            piece[0] = long_path_value(share, seg_len, words)
            continue
        regex, filler = piece[2], piece[3]
        candidates = [(filler * (share // len(filler) + 1))[:share], "y" * share]
        value = next((c for c in candidates if re.fullmatch(regex, c)), None)
        if value is None:
            valid, odd = converter_values(template[i])
            value, piece[1] = (valid or odd)[0], "other"
        del piece[2:]
        piece[0] = value
    return pieces


def long_words(template):
    """The rule's own literal segments (`t7`, `edit`, `a.zip` for `.zip`) and a number:
    filler segments equal to them are where a backtracking regex stops to try a split."""
    words = []
    for part in template:
        if isinstance(part, str):
            words += [w if w[:1].isalnum() else "a" + w for w in part.split("/") if w]
    return unique(words + ["7"])


def long_path_value(size, seg_len, words):
    """About `size` characters of segments: `seg_len` a's, then one of `words`, in turn."""
    segments, length = [], 0
    while length < size:
        n = len(segments)
        segments.append("a" * seg_len if n % 2 == 0 else words[(n // 2) % len(words)])
        length += len(segments[-1]) + 1
    return "/".join(segments)


def long_variants(pieces):
    """(variant, raw target) for one filled rule: the path itself, misses at its very end,
    `%0A` at the end, near it and inside each long value (a string value may hold a
    newline anywhere, a `path` value only as the first character of its value, `[^/].*?`),
    `%FF` inside the long values, and `//` runs inside the `path` values (nginx merges
    them, Werkzeug's `path` takes them as they are)."""
    longs = [i for i, piece in enumerate(pieces) if piece[1] in ("path", "string")]

    def raw(texts, insert_at=(), insert="", tail=""):
        out = []
        for i, text in enumerate(texts):
            if i in insert_at:
                mid = len(text) // 2
                out.append(encode(text[:mid]) + insert + encode(text[mid:]))
            else:
                out.append(encode(text))
        return "".join(out) + tail

    texts = [text for text, _ in pieces]
    decoded = "".join(texts)
    yield "hit", raw(texts)
    yield "miss_segment", raw(texts, tail=LONG_MISS)
    yield "miss_last_char", encode(decoded[:-1] + ("Q" if decoded[-1] != "Q" else "R"))
    yield "newline_end", raw(texts, tail="%0A")
    yield "newline_near_end", encode(decoded[:-2]) + "%0A" + encode(decoded[-2:])
    for i in longs:
        yield f"newline_in_{pieces[i][1]}", raw(texts, (i,), "%0A")
    yield "invalid_utf8_inside", raw(texts, longs, "%FF")
    yield "invalid_utf8_inside_miss", raw(texts, longs, "%FF", LONG_MISS)
    runs = list(texts)
    for i in longs:
        if pieces[i][1] == "path":
            text = runs[i]
            a, b = len(text) // 3, 2 * len(text) // 3
            runs[i] = text[:a] + text[a:b].replace("/", "//") + text[b:]
    if runs != texts:
        yield "slash_runs", raw(runs)
        yield "slash_runs_miss", raw(runs, tail=LONG_MISS)


@contextlib.contextmanager
def remembered_matching():
    """Werkzeug's matcher runs `re.compile(regex).match(subject)` for each rule it tries,
    on every MapAdapter.match; the oracle asks once per method (and the matcher again on
    the merged path), which on a long path nothing matches repeats the same backtracking
    over a dozen times. Remember each (regex, subject) result: the same answers, once."""
    from werkzeug.routing import matcher

    saved = matcher.re
    matcher.re = RememberingRe()
    try:
        yield
    finally:
        matcher.re = saved


class RememberingRe:
    """The `re` module, with compile(regex).match(subject) remembered for long subjects
    (a bounded cache; short ones cost less to match again than to look up)."""

    LIMIT = 4096
    SHORT = 256

    def __init__(self):
        self.patterns, self.results = {}, {}

    def __getattr__(self, name):
        return getattr(re, name)

    def compile(self, pattern, flags=0):
        key = (pattern, flags)
        if key not in self.patterns:
            self.patterns[key] = RememberingPattern(self, re.compile(pattern, flags))
        return self.patterns[key]


class RememberingPattern:
    def __init__(self, owner, pattern):
        self.owner, self.pattern = owner, pattern

    def __getattr__(self, name):
        return getattr(self.pattern, name)

    def match(self, subject):
        if len(subject) < self.owner.SHORT:
            return self.pattern.match(subject)
        results = self.owner.results
        key = (self.pattern, subject)
        if key not in results:
            if len(results) >= self.owner.LIMIT:
                results.clear()
            results[key] = self.pattern.match(subject)
        return results[key]


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


def build_report(spec, results, dry_run, classes=CLASSES):
    report = {"app": spec, "probes": len(results), "classes": {},
              "hosts": list(dict.fromkeys(r["host"] for r in results if "host" in r))}
    for cls in classes:
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
            {k: shorten(r[k]) if k == "path" else r[k]
             for k in ("path", "host", "method", "truth", "answer", "nginx") if k in r}
            for r in round_robin(groups, MAX_EXAMPLES)
        ]
        report["classes"][cls] = summary
    if dry_run:
        report["list"] = [
            {"path": r["path"], "class": r["class"], "truth": r["truth"]} for r in results
        ]
    return report


def shorten(raw, keep=80):
    """A long request target's both ends and its length, for examples."""
    if len(raw) <= 3 * keep:
        return raw
    return f"{raw[:keep]}...({len(raw)} bytes)...{raw[-keep:]}"


def long_paths_report(results, dry_run):
    """The --long-paths probes on their own (they are also counted in their classes): in
    all, by rule, by fill and by variant, nginx's statuses, and examples."""
    rows = [r for r in results if "variant" in r]
    kinds = ("false_allows", "false_denies", "other")

    def tally(rows):
        counts = {"probes": len(rows), "truth_allowed": sum(r["truth"] for r in rows)}
        if not dry_run:
            counts.update({kind: sum(verdict_kind(r) == kind for r in rows) for kind in kinds})
        return counts

    report = tally(rows)
    report["longest"] = max((len(r["path"]) for r in rows), default=0)
    for key in ("rule", "fill", "variant"):
        report[f"by_{key}"] = {
            value: tally([r for r in rows if r[key] == value])
            for value in unique(r[key] for r in rows)
        }
    if not dry_run:
        report["nginx_statuses"] = dict(collections.Counter(str(r["nginx"]) for r in rows))
    groups = [[r for r in rows if verdict_kind(r) == kind] for kind in kinds] if not dry_run else []
    report["examples"] = [
        {"path": shorten(r["path"]), **{k: r[k] for k in ("class", "rule", "fill", "variant",
                                                          "method", "truth", "nginx") if k in r}}
        for r in round_robin(groups, MAX_EXAMPLES)
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
    parser.add_argument(
        "--long-paths", action="store_true",
        help="also send long crafted paths (0.5-8 KB) at a few rules of each shape "
             "(see shape_sample)",
    )
    parser.add_argument(
        "--shape-sample", action="store_true",
        help="instantiate only a few rules of each shape, for apps of many alike rules",
    )
    parser.add_argument(
        "--truth-from", metavar="FILE",
        help="take the probes and their truth from the report of a --dry-run with the same "
             "app and flags (a single-host app, without --methods) instead of computing it",
    )
    args = parser.parse_args(argv)
    if args.truth_from and args.methods:
        parser.error("--truth-from does not go with --methods")
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
    rules = shape_sample(app) if args.shape_sample else None
    long_paths = long_path_probes(shape_sample(app, first=False)) if args.long_paths else {}
    if args.truth_from:
        results = truth_from(args.truth_from, args.app)
    else:
        probes = generate_probes(app, random.Random(args.seed), rules)
        probes = unique(probes + list(long_paths))
        hosts = probe_hosts(app)
        with remembered_matching() if long_paths else contextlib.nullcontext():
            for host in hosts:
                probe_host(app, args, host, probes, len(hosts) > 1, results)
    for row in results:
        row.update(long_paths.get(row["path"], {}))

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
    report = build_report(args.app, results, args.dry_run)
    if args.long_paths:
        report["long_paths"] = long_paths_report(results, args.dry_run)
    return 0, report


def truth_from(path, spec):
    """The rows of an earlier --dry-run's report, for the verdicts alone."""
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
    if report.get("app") != spec or report.get("hosts") or "list" not in report:
        raise SystemExit(f"probe.py: {path} is no --dry-run report of a single-host {spec!r}")
    return [{"path": r["path"], "class": r["class"], "truth": r["truth"], "nginx": None}
            for r in report["list"]]


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
    return run_and_print(run, parse_args(argv))


def run_and_print(run, args):
    """`run(args)` with whatever the app prints sent to stderr (stdout carries one JSON
    report, also for tests/differential/django_probe.py); returns its exit status."""
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
