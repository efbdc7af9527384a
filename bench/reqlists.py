"""Request paths for the load generator, built from the rule texts with a fixed seed.

Candidates are only proposals: run.py asks the app's own Werkzeug router which of them really
match (bench/check_paths.py) and drops the ones that landed in the wrong class, so a "denied"
path is one the app would 404 and an "allowed dynamic" path is one only a rule with
parameters matches.
"""

import random
import re

from gen_app import ACTIONS, NAMESPACES, RESOURCES, SEED, is_dynamic

LIST_LEN = 500  # wrk cycles through this many requests; long enough to defeat any caching
MIX = {"static": 0.4, "dynamic": 0.4, "denied": 0.2}
LATE_SHARE = 0.2  # "late dynamic" = the last 20 % of the dynamic rules in registration order

PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")

SLUG_WORDS = ["ada", "lovelace", "q3", "report", "blue", "river", "north", "alpha", "kappa",
              "summer", "launch", "draft", "final", "team", "west", "delta"]

# What internet scanners ask every public server for.
SCANNER_JUNK = [
    "/.env", "/.git/config", "/.git/HEAD", "/wp-admin/x", "/wp-login.php",
    "/wp-content/plugins/revslider/readme.txt", "/xmlrpc.php", "/phpmyadmin/index.php",
    "/admin.php", "/cgi-bin/luci", "/actuator/health", "/server-status", "/.aws/credentials",
    "/config.json", "/backup.sql", "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    "/.DS_Store", "/solr/admin/info/system", "/owa/auth/logon.aspx", "/HNAP1/", "/console",
    "/debug/pprof/", "/.svn/entries", "/telescope/requests", "/_ignition/health-check",
    "/api/.env", "/admin/.env", "/login.action", "/remote/login", "/manager/html",
    "/boaform/admin/formLogin", "/geoserver/web/", "/jenkins/login", "/.vscode/sftp.json",
    "/index.php/Index/think", "/shell.php", "/info.php", "/.well-known/openid-configuration",
]


def converter_value(rng, converter, valid=True):
    """A value the converter accepts (valid) or one it rejects (a wrong type)."""
    if not valid:
        return {"int": "abc", "uuid": "not-a-uuid"}.get(converter or "string")
    if converter == "int":
        return str(rng.randint(1, 99999))
    if converter == "uuid":
        h = f"{rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"
    if converter == "path":
        return f"{rng.choice(SLUG_WORDS)}/{rng.randint(2019, 2026)}/{rng.choice(SLUG_WORDS)}.pdf"
    # string: a slug with a hyphen and a digit, so it never equals a static segment
    return f"{rng.choice(SLUG_WORDS)}-{rng.choice(SLUG_WORDS)}-{rng.randint(1, 99)}"


def instantiate(rng, rule, break_converter=None):
    """A concrete path for `rule`; break_converter names a converter type to feed a wrong
    value (the first parameter of that type gets it)."""
    broken = []

    def value(m):
        conv = m.group(1)
        if break_converter and conv == break_converter and not broken:
            broken.append(conv)
            return converter_value(rng, conv, valid=False)
        return converter_value(rng, conv)

    return PARAM.sub(value, rule)


def late_dynamic_rules(rules):
    dynamic = [r for r in rules if is_dynamic(r)]
    return dynamic[int(len(dynamic) * (1 - LATE_SHARE)):]


def static_candidates(rng, rules, count):
    statics = [r for r in rules if not is_dynamic(r)]
    return [rng.choice(statics) for _ in range(count)]


def dynamic_candidates(rng, rules, count):
    late = late_dynamic_rules(rules)
    return [instantiate(rng, rng.choice(late)) for _ in range(count)]


def denied_candidates(rng, rules, count):
    """Scanner junk plus near misses: unknown names under known prefixes, a static route
    with a suffix or a trailing slash, a wrong parameter type, an extra trailing segment."""
    statics = [r for r in rules if not is_dynamic(r) and r != "/"]
    typed = [r for r in rules if "<int:" in r or "<uuid:" in r]
    dynamic = [r for r in rules if is_dynamic(r)]
    makers = [
        lambda: rng.choice(SCANNER_JUNK),
        lambda: f"{rng.choice(NAMESPACES)[0]}/nosuch{rng.randint(1, 999)}/{rng.randint(1, 99)}",
        lambda: f"{rng.choice(NAMESPACES)[0]}/{rng.choice(RESOURCES)}/{rng.choice(ACTIONS)}x",
        lambda: rng.choice(statics).rstrip("/") + "/" + rng.choice(["zzz", "1", "old", "x.php"]),
        lambda: rng.choice(statics).rstrip("/") + "/",
        lambda: (lambda r: instantiate(rng, r, "int" if "<int:" in r else "uuid"))(rng.choice(typed)),
        lambda: instantiate(rng, rng.choice(dynamic)) + "/extra",
    ]
    return [rng.choice(makers)() for _ in range(count)]


def candidates(rules, seed=SEED):
    """Proposed paths per class, about twice what the lists need, since checking drops some."""
    rng = random.Random(seed + len(rules))
    return {
        "static": static_candidates(rng, rules, LIST_LEN),
        "dynamic": dynamic_candidates(rng, rules, LIST_LEN),
        "denied": denied_candidates(rng, rules, 2 * LIST_LEN),
    }


def build_lists(verified, seed=SEED):
    """wrk lists from verified paths: one per class and the mix, each LIST_LEN long
    (sampled with repetition where a small app has fewer distinct paths), shuffled."""
    rng = random.Random(seed)
    lists = {cls: _fill_to(rng, paths, LIST_LEN) for cls, paths in verified.items()}
    mix = []
    for cls, share in MIX.items():
        mix += lists[cls][: round(share * LIST_LEN)]
    rng.shuffle(mix)
    lists["mix"] = mix
    return lists


def _fill_to(rng, paths, n):
    if not paths:
        raise RuntimeError("no verified paths for a request class")
    out = list(paths[:n])
    while len(out) < n:
        out.append(rng.choice(paths))
    rng.shuffle(out)
    return out
