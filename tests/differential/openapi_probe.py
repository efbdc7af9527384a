#!/usr/bin/env python3
"""Differential probe: compare an OpenAPI document's routes with an NGINX allowlist.

For one OpenAPI 3.0/3.1 document this script generates many request paths (every
path template instantiated with several values per parameter, mutations of those,
scanner paths), decides for each one whether the document declares it ("truth"),
and, unless --dry-run, sends it to an nginx that fronts the emitted allowlist and
answers 200 for anything the allowlist passes and 404 (or 405) otherwise. It is the
OpenAPI sibling of probe.py (the Flask oracle) and reuses its mutations, its nginx
client, its classes and its report format, so the same checks apply to both.

Truth model (the contract the openapi-source translation must meet exactly):

* Request path. The raw target is cut at the first "?", percent-decoded to bytes
  and decoded as UTF-8 with errors="replace" (like Werkzeug). The app merges no
  "//" and resolves no dot segment: truth is computed on the decoded path exactly
  as sent, so "//a" is not the route "/a". (nginx does normalise before matching;
  such probes land in the double_slash / dot_segments / invalid_utf8 classes, as
  in probe.py.)

* Document. JSON if the file name ends in ".json", else YAML read with the YAML 1.2
  core schema (so `on`, `no`, `2024-01-01` stay strings and `012` is 12; merge keys
  `<<` are honoured). `openapi` must be 3.0.x or 3.1.x. Only `#...` references
  into the document itself resolve; anything else makes the document unreadable.

* Prefix. The path part of `servers[0].url` (absolute or relative to "/"), after
  substituting each `{var}` with `servers[0].variables[var].default`, with dot
  segments resolved, percent-decoded and without its trailing "/"; no servers ->
  no prefix. A path item's own `servers`, and an operation's, replace the
  document's for it (OpenAPI's override rule). Every path template is that prefix
  followed by the `paths` key as written (keys not starting with "/", such as `x-`
  extensions, are no routes).

* Matching. A decoded path matches a template when both split into the same
  number of "/"-separated segments and each path segment splits into the template
  segment's literal parts (compared exactly, case-sensitively) and parameter
  values, each `{name}` value being a non-empty string. Several parameters in one
  segment ("/files/{name}.{ext}") are tried with every possible split. Exact: no
  trailing-slash tolerance. Several templates may match one path: their results
  are united (no "concrete paths first" precedence).

* Parameters. An operation's path parameters are the path item's `parameters`
  overridden by the operation's by (name, in). A `{name}` with no declared path
  parameter, or one declared with `content` instead of `schema`, a `style` other
  than "simple", or a schema whose types include "array" or "object", accepts any
  value. Otherwise the value is valid when, for some type the schema names (its
  `type`, or the types of what its `$ref` / `allOf` / `anyOf` / `oneOf` lead to;
  "null" never applies; the string itself is always tried last), the value coerces
  to that type and the coerced value validates against the whole schema:
    - integer: must match -?[0-9]+ (ASCII digits, leading zeros allowed), int();
    - number: must match -?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)? then
      float() (so a huge exponent becomes inf);
    - boolean: exactly "true" or "false";
    - string: the value itself.
  Validation is jsonschema's Draft4Validator for 3.0 (boolean exclusiveMinimum /
  exclusiveMaximum; `$ref` siblings ignored; `nullable` and other OpenAPI keywords
  have no effect on a string taken from a path) and Draft202012Validator for 3.1
  (`jsonSchemaDialect` and `$schema` are not consulted). Formats checked (in both):
  uuid, date, ipv4, ipv6, email, idn-email, as jsonschema checks them; all other
  formats (int32, int64, date-time, uri, byte...) are annotations only. `pattern`
  is an ECMA-262 regex searched unanchored (like re.search): \\d, \\w, \\b are ASCII,
  \\s is ECMA's whitespace set, "." excludes \\n \\r U+2028 U+2029, "$" is the very
  end (not before a final \\n); it runs on code points. A pattern Python cannot run
  this way (\\p{...}, \\k<...>...) makes the document unreadable. minLength and
  maxLength count code points.

* Verdict. Path-level (default): allowed iff some template matches with values
  valid for at least one operation of that path item (any method; a path item
  without operations allows nothing). With --methods, each probe is sent with
  GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS and FOO; for each method the
  answer is "pass" when some matching template has an operation for that method
  (HEAD counts as present when GET is) whose parameters accept the values, 404
  when no method passes, and "405 A,B" (the sorted methods that pass, which nginx
  must send as its Allow header) otherwise.

* Checks in code. Some constraints no server configuration can hold (`maximum`,
  `multipleOf`, a positive `minimum`, formats other than uuid, lengths next to a
  `pattern`, `oneOf`'s "exactly one"): the truth is also computed with them relaxed
  to what a regex can check, and a probe whose two truths differ is classed
  `converter_check` (the app refuses it in code), as probe.py does for Werkzeug
  converters whose to_python refuses values.

The debugger_query, unmerged_rule and non_ascii_host classes of probe.py do not
exist for OpenAPI: they are reported with 0 probes.

Usage (with the interpreter of a venv that has tests/requirements.txt):

    python tests/differential/openapi_probe.py --spec api.yaml --port 8080 \\
        [--host 127.0.0.1] [--dry-run] [--seed 0] [--methods]

stdout gets exactly one JSON object. Exit status: 0 on success, 2 if the document
cannot be read, 3 if nginx cannot be reached.
"""

import argparse
import http.client
import json
import math
import os
import random
import re
import sys
import urllib.parse
import warnings

import jsonschema
import referencing
import referencing.exceptions
import referencing.jsonschema
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import probe  # noqa: E402  (the Flask oracle: mutations, nginx client, report)

# HTTP methods an OpenAPI path item can hold operations for.
OPERATION_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Formats checked in both dialects: the ones jsonschema checks without optional
# dependencies (so the truth does not change with what else is installed).
CHECKED_FORMATS = ("uuid", "date", "ipv4", "ipv6", "email", "idn-email")

# Where the document lives in the referencing registry: a name, never fetched.
DOC_URI = "urn:routewall:openapi-document"

# Coercion order when a schema names several types; "null" never applies.
COERCION_ORDER = ("integer", "number", "boolean", "string")
INTEGER_RE = re.compile(r"-?[0-9]+")
NUMBER_RE = re.compile(r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")

# Values kept per parameter (valid and invalid each) when its declaration repeats.
REPEAT_SAMPLE = 2

# Candidate values per type. Truth always decides; these lists only try to hit
# both sides of each rule (ASCII vs Unicode digits, signs, exponents, case...).
INTEGER_VALUES = (
    "0", "7", "0042", "-5", "-0", "1234567890" * 4, "abc", "+5", "\u0663", "\uff11",
    "1.5", "-", "1e3", "5 ", "0x1f",
)
NUMBER_VALUES = (
    "1.5", "0", "7", "-2.5", ".5", "1.", "1e3", "2E-2", "1234567890" * 4, "abc",
    "+1.5", "\uff11.\uff15", "\u0661.\u0665", "NaN", "inf", "1,5", "-", "e3", "1e",
)
BOOLEAN_VALUES = ("true", "false", "True", "FALSE", "1", "0", "yes")
STRING_POOL = (
    "abc", "a.b", "\u00e9", "\u65e5\u672c", "a b", "x;y", "%", "x" * 40, "A", "ab",
    "Z9", "a-1", "a,b", "a?b", "\u0663", "\uff11", "a\u00a0b", "{id}", "7",
)
UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
FORMAT_VALUES = {
    "uuid": (UUID, UUID.upper(), UUID.replace("-", ""), "{" + UUID + "}",
             "urn:uuid:" + UUID, UUID[:-1] + "g", UUID[:23]),
    "date": ("2024-01-31", "2024-02-30", "2024-1-5", "20240131", "\uff12024-01-31"),
    "ipv4": ("192.168.0.1", "256.1.1.1", "01.2.3.4", "1.2.3"),
    "ipv6": ("::1", "fe80::1", "1:2:3"),
    "email": ("a@b.c", "ab"),
    "idn-email": ("\u00e9@b.c", "ab"),
}


class SpecError(Exception):
    """The document cannot be read (or used as truth): exit status 2."""


# --------------------------------------------------------------------------
# Loading the document
# --------------------------------------------------------------------------

class Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with the YAML 1.2 core schema's implicit types.

    OpenAPI recommends YAML 1.2; PyYAML implements 1.1, where `on`/`no` are
    booleans, `2024-01-01` is a date and `012` is octal. Those would silently
    change enum values and bounds, so only null, bool, int and float (1.2
    spellings) are resolved, plus merge keys, which real documents use.
    """


def _core_schema():
    merge = "tag:yaml.org,2002:merge"
    Yaml12Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag == merge]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    # Registration order matters: "1" must resolve as an int, not a float.
    Yaml12Loader.add_implicit_resolver(
        "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
    Yaml12Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"))
    Yaml12Loader.add_implicit_resolver(
        "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
        list("-+0123456789"))
    Yaml12Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                   r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
        list("-+0123456789."))

    def construct_int(loader, node):
        text = loader.construct_scalar(node)
        if text.startswith(("0o", "0x")):
            return int(text[2:], 8 if text[1] == "o" else 16)
        return int(text, 10)  # leading zeros are decimal in 1.2

    def construct_float(loader, node):
        text = loader.construct_scalar(node).lower()
        if text.endswith(".inf"):
            return -math.inf if text.startswith("-") else math.inf
        return math.nan if text == ".nan" else float(text)

    def construct_bool(loader, node):
        return loader.construct_scalar(node).lower() == "true"

    Yaml12Loader.add_constructor("tag:yaml.org,2002:int", construct_int)
    Yaml12Loader.add_constructor("tag:yaml.org,2002:float", construct_float)
    Yaml12Loader.add_constructor("tag:yaml.org,2002:bool", construct_bool)


_core_schema()


def load_document(path):
    """Parse the file and check it is an OpenAPI 3.0/3.1 document; returns (doc, dialect)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        doc = json.loads(text) if path.endswith(".json") else yaml.load(text, Yaml12Loader)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise SpecError(f"cannot parse {path}: {exc}") from None
    if not isinstance(doc, dict):
        raise SpecError(f"{path}: not an OpenAPI document (no mapping at the top)")
    version = str(doc.get("openapi", ""))
    dialect = version[:3]
    if not re.fullmatch(r"3\.[01]\.\d+.*", version):
        raise SpecError(f"{path}: openapi {version!r} is neither 3.0.x nor 3.1.x")
    if not isinstance(doc.get("paths", {}), dict):
        raise SpecError(f"{path}: `paths` is not a mapping")
    return doc, dialect


def server_prefix(doc):
    """The path of servers[0].url (variables filled with their defaults), without a
    trailing "/"; "" without servers. `doc` may also be a path item or an operation."""
    servers = doc.get("servers") or []
    if not servers:
        return ""
    server = servers[0] if isinstance(servers, list) else None
    if not isinstance(server, dict):
        raise SpecError("`servers` is not a list of server objects")
    variables = server.get("variables") or {}

    def default(match):
        var = variables.get(match.group(1))
        if not isinstance(var, dict) or "default" not in var:
            raise SpecError(f"server variable {match.group(1)!r} has no default")
        return str(var["default"])

    url = re.sub(r"\{([^{}]*)\}", default, str(server.get("url", "")))
    # Relative URLs resolve against "/" (the document's own location is unknown);
    # urljoin also removes dot segments, as any client would.
    path = urllib.parse.urlsplit(urllib.parse.urljoin("http://server.invalid/", url)).path
    return urllib.parse.unquote(path).rstrip("/")


def json_pointer(*keys):
    """A URI fragment (JSON pointer, percent-encoded) for the given keys."""
    escaped = (str(k).replace("~", "~0").replace("/", "~1") for k in keys)
    return "/" + "/".join(urllib.parse.quote(k, safe="~!$&'()*+,;=:@") for k in escaped)


def follow_refs(doc, node, pointer):
    """Follow `$ref`s of OpenAPI objects (path items, parameters) inside the document.

    Returns (object, its JSON pointer). Only in-document "#/..." references exist
    for this oracle."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/") or ref in seen:
            raise SpecError(f"unsupported or circular reference {ref!r} at #{pointer}")
        seen.add(ref)
        keys = [k.replace("~1", "/").replace("~0", "~")
                for k in urllib.parse.unquote(ref[2:]).split("/")]
        node = doc
        for key in keys:
            try:
                node = node[int(key)] if isinstance(node, list) else node[key]
            except (KeyError, IndexError, ValueError, TypeError):
                raise SpecError(f"reference {ref!r} points to nothing") from None
        pointer = json_pointer(*keys)
    return node, pointer


# --------------------------------------------------------------------------
# ECMA-262 patterns on Python's re
# --------------------------------------------------------------------------

# ECMA-262 WhiteSpace and LineTerminator, the set \s stands for.
ECMA_SPACE = ("\\t\\n\\x0b\\x0c\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029"
              "\\u202f\\u205f\\u3000\\ufeff")
ECMA_DOT = "[^\\n\\r\\u2028\\u2029]"
HEX4 = re.compile(r"[0-9A-Fa-f]{4}")
_ECMA_CACHE = {}


def ecma_regex(pattern):
    """Compile a JSON Schema (ECMA-262) pattern to a Python regex with ECMA's meaning.

    Compiled with re.ASCII so \\d, \\w and \\b are ASCII as in ECMA; the constructs
    whose meaning differs otherwise are rewritten. Raises SpecError when the pattern
    uses something this translation does not cover."""
    if pattern in _ECMA_CACHE:
        return _ECMA_CACHE[pattern]
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            n = pattern[i + 1]
            if n == "s":
                out.append(ECMA_SPACE if in_class else f"[{ECMA_SPACE}]")
            elif n == "S" and not in_class:
                out.append(f"[^{ECMA_SPACE}]")
            elif n in "SAZzGkpPc" or (n == "u" and not HEX4.match(pattern, i + 2)):
                # \S inside a class, Python-only anchors, named backreferences,
                # Unicode properties, control escapes, \u{...}: not translated.
                raise SpecError(f"pattern {pattern!r}: \\{n} is not supported by the oracle")
            else:
                out.append(c + n)
            i += 2
            continue
        if in_class:
            in_class = c != "]"
            out.append(c)
        elif c == "[":
            if pattern.startswith("[]", i):
                out.append("(?!)")  # ECMA: the empty class matches nothing
                i += 2
                continue
            if pattern.startswith("[^]", i):
                out.append("(?s:.)")  # ECMA: any character
                i += 3
                continue
            in_class = True
            out.append(c)
        elif c == ".":
            out.append(ECMA_DOT)
        elif c == "$":
            out.append(r"\Z")  # Python's $ also matches before a final "\n"
        elif pattern.startswith("(?<", i) and pattern[i + 3:i + 4] not in ("=", "!"):
            out.append("(?P<")  # named group
            i += 3
            continue
        else:
            out.append(c)
        i += 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set" FutureWarnings
            compiled = re.compile("".join(out), re.ASCII)
    except re.error as exc:
        raise SpecError(f"pattern {pattern!r} does not compile: {exc}") from None
    _ECMA_CACHE[pattern] = compiled
    return compiled


def ecma_pattern_keyword(validator, pattern, instance, schema):
    """jsonschema's `pattern` keyword with ECMA-262 semantics (still unanchored)."""
    if validator.is_type(instance, "string") and not ecma_regex(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


# --------------------------------------------------------------------------
# Parameter values: coercion and validation
# --------------------------------------------------------------------------

def _nothing(validator, value, instance, schema):
    return iter(())


def _lenient_minimum(validator, minimum, instance, schema):
    """Only the sign survives in a regex: a minimum of 0 or more (or an exclusive one of
    -1 or more) means "no minus sign but -0"."""
    if not validator.is_type(instance, "number") or isinstance(minimum, bool):
        return
    exclusive = schema.get("exclusiveMinimum") is True
    if minimum >= 0 or (exclusive and minimum >= -1):
        if instance < 0:
            yield jsonschema.ValidationError(f"{instance!r} is negative")


def _lenient_exclusive_minimum(validator, value, instance, schema):
    if isinstance(value, bool) or not validator.is_type(instance, "number"):
        return  # 3.0's boolean form is read by `minimum`
    if value >= -1 and instance < 0:
        yield jsonschema.ValidationError(f"{instance!r} is negative")


def _unless_pattern(original):
    """minLength/maxLength hold in a regex on their own, not next to a pattern."""
    def check(validator, value, instance, schema):
        if "pattern" in schema:
            return iter(())
        return original(validator, value, instance, schema) or iter(())
    return check


def _lenient_one_of(validator, subschemas, instance, schema):
    """`oneOf` as an alternation: a regex cannot check "exactly one"."""
    if not any(validator.evolve(schema=sub).is_valid(instance) for sub in subschemas):
        yield jsonschema.ValidationError(f"{instance!r} is valid under none of oneOf")


# What relaxing means: the constraints a converter regex cannot hold, as routewall's
# OpenAPI source marks them (`validates`). Formats other than uuid are dropped through
# the lenient format checker.
LENIENT = {
    "maximum": _nothing,
    "exclusiveMaximum": _nothing,
    "multipleOf": _nothing,
    "minimum": _lenient_minimum,
    "exclusiveMinimum": _lenient_exclusive_minimum,
    "oneOf": _lenient_one_of,
}

class Schemas:
    """The document as a jsonschema registry, plus the validator class of its dialect."""

    def __init__(self, doc, dialect):
        base = jsonschema.Draft4Validator if dialect == "3.0" else jsonschema.Draft202012Validator
        self.dialect = dialect
        self.validator_class = jsonschema.validators.extend(
            base, {"pattern": ecma_pattern_keyword})
        self.specification = (referencing.jsonschema.DRAFT4 if dialect == "3.0"
                              else referencing.jsonschema.DRAFT202012)
        self.registry = referencing.Registry().with_resource(
            DOC_URI, self.specification.create_resource(doc))
        self.format_checker = jsonschema.FormatChecker(formats=CHECKED_FORMATS)
        lengths = {kw: _unless_pattern(self.validator_class.VALIDATORS[kw])
                   for kw in ("minLength", "maxLength")}
        self.lenient_class = jsonschema.validators.extend(
            self.validator_class, {**LENIENT, **lengths})
        self.lenient_formats = jsonschema.FormatChecker(formats=("uuid",))

    def validator(self, pointer, lenient=False):
        """A validator for the schema at `pointer` (its `$ref`s resolve in the document);
        `lenient` relaxes what only code can check (see LENIENT)."""
        if lenient:
            return self.lenient_class(
                {"$ref": DOC_URI + "#" + pointer},
                registry=self.registry, format_checker=self.lenient_formats)
        return self.validator_class(
            {"$ref": DOC_URI + "#" + pointer},
            registry=self.registry, format_checker=self.format_checker)

    def walk(self, pointer):
        """Every schema reached from the one at `pointer` through `$ref`, allOf,
        anyOf and oneOf (the schema itself first), as dicts."""
        try:
            start = self.registry.resolver(DOC_URI).lookup(DOC_URI + "#" + pointer)
        except referencing.exceptions.Unresolvable as exc:
            raise SpecError(f"cannot resolve #{pointer}: {exc}") from None
        found, stack, seen = [], [(start.contents, start.resolver)], set()
        while stack:
            schema, resolver = stack.pop()
            if not isinstance(schema, dict) or id(schema) in seen:
                continue
            seen.add(id(schema))
            found.append(schema)
            ref = schema.get("$ref")
            if isinstance(ref, str):
                try:
                    target = resolver.lookup(ref)
                except referencing.exceptions.Unresolvable as exc:
                    raise SpecError(f"cannot resolve {ref!r}: {exc}") from None
                stack.append((target.contents, target.resolver))
                if self.dialect == "3.0":
                    continue  # 3.0 (like draft 4) ignores the siblings of $ref
            for keyword in ("oneOf", "anyOf", "allOf"):
                for sub in reversed(schema.get(keyword) or []):
                    if isinstance(sub, dict):
                        inner = resolver.in_subresource(self.specification.create_resource(sub))
                        stack.append((sub, inner))
        return found


class ValueCheck:
    """Whether a path parameter value is acceptable for one declared parameter."""

    def __init__(self, schemas=None, pointer=None, why_any=None):
        # why_any: why every value is accepted (no schema, style, array...), or None.
        self.why_any = why_any
        self.nodes = schemas.walk(pointer) if schemas else []
        self.types = []
        self.validator = None
        if why_any or not schemas:
            return
        named = set()
        for node in self.nodes:
            declared = node.get("type")
            if isinstance(declared, str):
                named.add(declared)
            elif isinstance(declared, list):  # 3.1: a list of types
                named.update(t for t in declared if isinstance(t, str))
        if named & {"array", "object"}:
            self.why_any = "array/object schema"
            return
        # The string itself is always tried last: a branch without a type (`const:
        # latest` next to an integer) accepts it as it is.
        self.types = [t for t in COERCION_ORDER if t in named and t != "string"] + ["string"]
        self.validator = schemas.validator(pointer)
        self.lenient_validator = schemas.validator(pointer, lenient=True)
        self.cache = {}

    def valid(self, value, lenient=False):
        """The truth for one (non-empty, "/"-free) decoded value; `lenient` relaxes the
        constraints only code can check."""
        if self.why_any:
            return True
        key = (value, lenient)
        if key not in self.cache:
            validator = self.lenient_validator if lenient else self.validator
            self.cache[key] = any(
                coerced is not None and self._validates(validator, coerced)
                for coerced in (coerce(value, t) for t in self.types))
        return self.cache[key]

    def signature(self):
        """What decides this check, as JSON-able data (to spot repeated declarations)."""
        return [self.why_any, self.types, self.nodes]

    def _validates(self, validator, instance):
        try:
            return validator.is_valid(instance)
        except SpecError:
            raise
        except Exception as exc:  # a broken schema (e.g. minimum: "5"), not a verdict
            raise SpecError(f"schema cannot validate {instance!r}: {exc!r}") from None


ANY_VALUE = ValueCheck(why_any="not declared")


def coerce(value, typ):
    """The typed value a path string stands for, or None if it is not one."""
    if typ == "integer":
        return int(value) if INTEGER_RE.fullmatch(value) else None
    if typ == "number":
        return float(value) if NUMBER_RE.fullmatch(value) else None
    if typ == "boolean":
        return {"true": True, "false": False}.get(value)
    return value


# --------------------------------------------------------------------------
# Routes
# --------------------------------------------------------------------------

class Route:
    """One path template: its segments and, per HTTP method, its parameter checks."""

    def __init__(self, key, prefix, operations):
        self.key = key  # the `paths` key as written
        self.text = prefix + key  # the decoded path template with prefix
        self.segments = compile_template(prefix, key)
        self.operations = operations  # {"GET": {name: ValueCheck}}
        self.names = unique_names(self.segments)


def compile_template(prefix, key):
    """Split prefix + template into segments of tokens: ("lit", text) or ("param", name)."""
    tokens = [("lit", prefix)]
    pos = 0
    for m in re.finditer(r"\{([^{}/]+)\}", key):
        tokens += [("lit", key[pos:m.start()]), ("param", m.group(1))]
        pos = m.end()
    tokens.append(("lit", key[pos:]))
    segments = [[]]
    for kind, text in tokens:
        if kind == "param":
            segments[-1].append((kind, text))
            continue
        for n, piece in enumerate(text.split("/")):
            if n:
                segments.append([])
            if piece:
                segments[-1].append(("lit", piece))
    return segments


def unique_names(segments):
    return probe.unique(text for seg in segments for kind, text in seg if kind == "param")


def load_routes(doc, schemas, prefix):
    """Every `paths` entry as a Route, in document order."""
    routes = []
    for key, item in doc.get("paths", {}).items():
        if not isinstance(key, str) or not key.startswith("/"):
            continue  # extensions (x-...) and broken keys are no routes
        item, item_ptr = follow_refs(doc, item, json_pointer("paths", key))
        if not isinstance(item, dict):
            raise SpecError(f"path item {key!r} is not a mapping")
        shared = declared_params(doc, schemas, item.get("parameters"), item_ptr + "/parameters")
        item_prefix = server_prefix(item) if item.get("servers") else prefix
        by_prefix = {}  # operations grouped by the prefix they are served under
        for method in OPERATION_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            own = declared_params(doc, schemas, op.get("parameters"),
                                  f"{item_ptr}/{method}/parameters")
            op_prefix = server_prefix(op) if op.get("servers") else item_prefix
            # The operation's parameters win over the path item's.
            by_prefix.setdefault(op_prefix, {})[method.upper()] = {**shared, **own}
        for op_prefix, operations in by_prefix.items():
            routes.append(Route(key, op_prefix, operations))
    return routes


def declared_params(doc, schemas, params, pointer):
    """{name: ValueCheck} for the `in: path` entries of a parameters list."""
    checks = {}
    for n, param in enumerate(params or []):
        param, ptr = follow_refs(doc, param, f"{pointer}/{n}")
        if not isinstance(param, dict) or param.get("in") != "path":
            continue
        name = str(param.get("name"))
        if param.get("style", "simple") != "simple":
            checks[name] = ValueCheck(why_any=f"style {param.get('style')}")
        elif not isinstance(param.get("schema"), (dict, bool)):
            checks[name] = ValueCheck(why_any="no schema")
        else:
            checks[name] = ValueCheck(schemas, ptr + "/schema")
    return checks


# --------------------------------------------------------------------------
# Truth
# --------------------------------------------------------------------------

def segment_splits(tokens, text):
    """Every way `text` splits into the tokens: lists of (name, value), values non-empty."""
    if not tokens:
        if not text:
            yield []
        return
    (kind, lit), rest = tokens[0], tokens[1:]
    if kind == "lit":
        if text.startswith(lit):
            yield from segment_splits(rest, text[len(lit):])
        return
    for end in range(1, len(text) + 1):
        for tail in segment_splits(rest, text[end:]):
            yield [(lit, text[:end])] + tail


class Truth:
    """What the document answers for a decoded path, per method."""

    def __init__(self, routes):
        self.routes = routes
        self.cache = {}

    def methods(self, path, lenient=False):
        """The set of methods that pass for `path` (HEAD whenever GET does)."""
        if (path, lenient) in self.cache:
            return self.cache[(path, lenient)]
        parts = path.split("/")
        passing = set()
        for route in self.routes:
            if len(route.segments) != len(parts):
                continue
            splits = [list(segment_splits(tokens, text))
                      for tokens, text in zip(route.segments, parts)]
            if not all(splits):
                continue
            for method, checks in route.operations.items():
                # Segments are independent: each needs one split whose values
                # all pass this operation's checks.
                if all(any(all(checks.get(name, ANY_VALUE).valid(value, lenient)
                               for name, value in split)
                           for split in seg) for seg in splits):
                    passing.add(method)
                    if method == "GET":
                        passing.add("HEAD")
        self.cache[(path, lenient)] = frozenset(passing)
        return self.cache[(path, lenient)]

    def allowed(self, path, lenient=False):
        return bool(self.methods(path, lenient))

    def outcome(self, path, method, lenient=False):
        """"pass", 404, or "405 A,B" (sorted Allow list), like probe.py's outcome."""
        passing = self.methods(path, lenient)
        if method in passing:
            return "pass"
        return f"405 {','.join(sorted(passing))}" if passing else 404


# --------------------------------------------------------------------------
# Probe generation
# --------------------------------------------------------------------------

def render_json_value(value):
    """How an enum/const member is spelled in a path."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)  # numbers too: 2.0 stays "2.0", which still equals 2


def number_text(x, integer):
    if integer:
        return str(int(x))
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def schema_candidates(check):
    """Candidate strings for one ValueCheck (valid and invalid alike)."""
    if check.validator is None:
        return list(STRING_POOL)
    values, samples, lengths = [], [], []
    for node in check.nodes:
        for member in list(node.get("enum") or []) + ([node["const"]] if "const" in node else []):
            text = render_json_value(member)
            values += [text, text.upper(), text.lower(), text.capitalize(), text + "x", "x" + text]
        values += FORMAT_VALUES.get(node.get("format"), ())
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            samples += [s for s in probe.sample_regex(ecma_regex(pattern).pattern) if s]
        lengths += [node[key] for key in ("minLength", "maxLength")
                    if isinstance(node.get(key), int) and not isinstance(node[key], bool)]
    for sample in samples:
        # Unanchored patterns accept surroundings; ECMA's $ refuses a final newline.
        values += [sample, sample.upper(), "x" + sample + "x", sample + "\n"]
    for n in lengths:
        values += ["a" * k for k in (n - 1, n, n + 1) if 0 < k <= 200]
        # Lengths count code points, not UTF-8 bytes.
        values += ["\u00e9" * k for k in (n, n + 1) if 0 < k <= 200]
        # Pattern and length together: a sample padded to the bound and past it.
        values += [s + "x" * (k - len(s)) for s in samples for k in (n, n + 1) if k > len(s)]
    for typ in check.types:
        if typ in ("integer", "number"):
            values += INTEGER_VALUES if typ == "integer" else NUMBER_VALUES
            values += bound_values(check.nodes, typ == "integer")
        elif typ == "boolean":
            values += BOOLEAN_VALUES
        else:
            values += STRING_POOL
    return probe.unique(v for v in values if v and "/" not in v)


def bound_values(nodes, integer):
    """Values at and around minimum/maximum (3.0 and 3.1 spellings) and multipleOf."""
    out = []
    for node in nodes:
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
            b = node.get(key)
            if isinstance(b, bool) or not isinstance(b, (int, float)) or not math.isfinite(b):
                continue
            if key == "multipleOf":
                out += [number_text(b * k, integer) for k in (1, 3)] + [number_text(b + 1, integer)]
                continue
            steps = (-1, 0, 1) if integer else (-1, -0.5, 0, 0.5, 1)
            base = math.floor(b) if integer else b
            out += [number_text(base + s, integer) for s in steps]
            if integer and b != base:
                out.append(number_text(base + 2, integer))
    return out


def param_values(route, name, seen, rng):
    """(valid, invalid) candidate values for one template parameter.

    A value is "valid" when some operation's declaration of the parameter accepts
    it; this only decides which instances get mutated (the truth is per probe).
    A parameter declared exactly like one already probed (`seen`: signatures) gets
    only its first valid value and a small sample of the rest: big documents
    repeat `{id}` in every template, and the full list once is enough."""
    checks = [ops.get(name, ANY_VALUE) for ops in route.operations.values()] or [ANY_VALUE]
    candidates = probe.unique(v for c in checks for v in schema_candidates(c))
    valid = [v for v in candidates if any(c.valid(v) for c in checks)]
    invalid = [v for v in candidates if v not in valid]
    signature = json.dumps([c.signature() for c in checks], default=repr)
    if signature in seen:
        valid = valid[:1] + rng.sample(valid[1:], min(REPEAT_SAMPLE, len(valid[1:])))
        invalid = rng.sample(invalid, min(REPEAT_SAMPLE, len(invalid)))
    seen.add(signature)
    return valid, invalid


def fill(route, values):
    """The decoded path of `route` with each parameter replaced by values[name]."""
    return "/".join(
        "".join(values[text] if kind == "param" else text for kind, text in seg)
        for seg in route.segments)


def route_instances(route, rng, seen):
    """(base, extra) decoded paths for one route, like probe.py's rule_instances:
    each parameter in turn takes each of its values while the others keep their
    first valid one, plus a few random all-valid combinations."""
    values = {name: param_values(route, name, seen, rng) for name in route.names}
    for name, (valid, _) in values.items():
        if not valid:
            print(f"openapi_probe.py: no valid value found for {{{name}}} in {route.key!r}",
                  file=sys.stderr)
    first = {n: (v or odd)[0] for n, (v, odd) in values.items()}
    complete = all(v for v, _ in values.values())
    base = [fill(route, first)] if complete else []
    extra = []
    for name, (valid, odd) in values.items():
        base += [fill(route, {**first, name: v}) for v in valid]
        extra += [fill(route, {**first, name: v}) for v in odd]
    if len(values) > 1 and complete:
        base += [fill(route, {n: rng.choice(v) for n, (v, _) in values.items()})
                 for _ in range(3)]
    return probe.unique(base), probe.unique(extra)


def openapi_mutations(prefix, route):
    """Mutations specific to OpenAPI: the server prefix and the query string."""
    def without_prefix(d):
        return probe.encode(d[len(prefix):]) if prefix and d.startswith(prefix + "/") else None

    def doubled_prefix(d):
        return probe.encode(prefix + d) if prefix else None

    def prefix_case(d):
        return probe.encode(d[:len(prefix)].upper() + d[len(prefix):]) if prefix else None

    def with_query(d):
        return probe.encode(d) + "?x=1&y=%2F"

    def literal_template(d):
        return probe.encode(route.text)

    return (without_prefix, doubled_prefix, prefix_case, with_query, literal_template)


def scanner_probes(prefix):
    """Paths a scanner tries, and the bare prefix with and without "/"."""
    paths = ["/", "/console", "/.env", "/admin", "/index.html", "/.git/config", "/wp-admin/",
             "/server-status", "/openapi.json", "/docs"]
    if prefix:
        paths += [prefix, prefix + "/", prefix + "/.env", prefix + "/admin", prefix.upper(),
                  prefix + "/..", prefix + "//"]
    return [probe.encode(p) for p in paths]


def generate_probes(routes, prefix, rng):
    """All raw request targets for one document, deduplicated, in a stable order."""
    seen = set()
    per_route = [(route, *route_instances(route, rng, seen)) for route in routes]
    total_base = sum(len(base) for _, base, _ in per_route) or 1
    sampled = max(probe.MIN_SAMPLED_MUTATIONS,
                  min(len(probe.MUTATIONS), probe.PROBE_BUDGET // total_base))
    probes = scanner_probes(prefix)
    for route, base, extra in per_route:
        for n, decoded in enumerate(base):
            probes.append(probe.encode(decoded))
            if n == 0:
                mutations = probe.MUTATIONS + openapi_mutations(prefix, route)
            else:
                mutations = rng.sample(probe.MUTATIONS, sampled)
            probes += [m(decoded) for m in mutations]
        probes += [probe.encode(decoded) for decoded in extra]
    return probe.unique(p for p in probes if p is not None)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", required=True, help="OpenAPI 3.0/3.1 document (YAML or JSON)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="nginx port (not needed with --dry-run)")
    parser.add_argument("--dry-run", action="store_true", help="compute truth only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--methods", action="store_true",
        help="send every probe with several methods and compare 404/405/Allow too")
    args = parser.parse_args(argv)
    if args.port is None and not args.dry_run:
        parser.error("--port is required unless --dry-run")
    return args


def truth_rows(probes, truth, methods):
    """One report row per probe (per probe and method with --methods)."""
    never_unmerged = lambda path: False  # noqa: E731  (OpenAPI has no merge_slashes=False)
    rows = []
    for raw in probes:
        path, valid_utf8 = probe.decode_path(raw)
        cls = probe.classify(raw, path, valid_utf8, never_unmerged)
        if not methods:
            allowed = truth.allowed(path)
            in_code = allowed != truth.allowed(path, lenient=True)
            rows.append({"path": raw, "class": "converter_check" if in_code else cls,
                         "truth": allowed, "nginx": None})
            continue
        for method in probe.PROBE_METHODS:
            answer = truth.outcome(path, method)
            in_code = answer != truth.outcome(path, method, lenient=True)
            rows.append({"path": raw, "method": method,
                         "class": "converter_check" if in_code else cls,
                         "truth": answer == "pass", "answer": answer, "nginx": None})
    return rows


def run(args):
    """Everything after argument parsing; returns (exit status, report or None)."""
    try:
        doc, dialect = load_document(args.spec)
        prefix = server_prefix(doc)
        routes = load_routes(doc, Schemas(doc, dialect), prefix)
        truth = Truth(routes)
        probes = generate_probes(routes, prefix, random.Random(args.seed))
        rows = truth_rows(probes, truth, args.methods)
    except SpecError as exc:
        print(f"openapi_probe.py: cannot use {args.spec}: {exc}", file=sys.stderr)
        return 2, None

    if not args.dry_run:
        nginx = probe.Nginx(args.host, args.port)
        try:
            for row in rows:
                row["nginx"] = nginx.status(row["path"], row.get("method", "GET"))
        except (http.client.HTTPException, OSError) as exc:
            print(f"openapi_probe.py: nginx at {args.host}:{args.port} failed: {exc!r}",
                  file=sys.stderr)
            return 3, None
        finally:
            nginx.close()
    report = probe.build_report(args.spec, rows, args.dry_run)
    report["openapi"] = {"version": str(doc.get("openapi")), "prefix": prefix,
                         "templates": [route.text for route in routes]}
    return 0, report


def main(argv=None):
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)  # a path integer may have any number of digits
    status, report = run(parse_args(argv))
    if report is not None:
        try:
            json.dump(report, sys.stdout, indent=1)
            sys.stdout.write("\n")
            sys.stdout.flush()
        except BrokenPipeError:  # e.g. piped into `head`: not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return status


if __name__ == "__main__":
    sys.exit(main())
