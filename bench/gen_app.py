#!/usr/bin/env python3
"""Synthetic Flask app with N url rules, reproducible: `python3 bench/gen_app.py N > app.py`.

The rules imitate a large web app: about 60 % static and 40 % dynamic paths (int, string,
uuid and path converters), most of them under shared namespaces (`/api/v1`, `/admin`, ...)
so that a few first segments hold most of the dynamic routes, deep paths of up to seven
segments, a handful of classic site pages, and 0.5 % parameter-first routes (`/<org>/...`),
which routewall has to copy into every group they can match.

Standard library only: run.py imports this module to know the rules without Flask.
"""

import argparse
import random
import sys

SEED = 20261125

# (prefix, weight). The empty prefix puts resources at the root, one group per resource;
# the API namespaces deliberately concentrate many dynamic routes behind one first segment.
NAMESPACES = [
    ("", 30), ("/api/v1", 20), ("/api/v2", 10), ("/admin", 15), ("/app", 8),
    ("/account", 4), ("/internal/api", 4), ("/dashboard", 4), ("/shop", 5),
]

RESOURCES = [
    "users", "orders", "products", "invoices", "projects", "teams", "repos", "issues",
    "comments", "payments", "subscriptions", "customers", "reports", "events", "tickets",
    "articles", "pages", "files", "images", "videos", "messages", "notifications",
    "webhooks", "tokens", "sessions", "roles", "permissions", "groups", "organizations",
    "accounts", "addresses", "carts", "coupons", "discounts", "shipments", "warehouses",
    "inventory", "suppliers", "categories", "tags", "labels", "milestones", "releases",
    "builds", "pipelines", "deployments", "environments", "secrets", "variables", "runners",
    "jobs", "artifacts", "packages", "registries", "snippets", "wikis", "boards", "sprints",
    "epics", "tasks", "calendars", "contacts", "leads", "deals", "campaigns", "newsletters",
    "surveys", "forms", "workflows", "integrations", "audit-logs", "api-keys",
    "billing-plans", "exports", "imports",
]

SUBRESOURCES = [
    "members", "settings", "history", "versions", "attachments", "activity", "stats",
    "permissions", "comments", "labels", "tags", "notes", "logs", "metrics", "links",
    "reviews", "approvals", "assignees", "followers", "items", "lines", "refunds", "events",
    "files", "hooks", "keys", "tokens", "previews", "drafts", "revisions",
]

ACTIONS = [
    "export", "import", "search", "new", "edit", "archive", "restore", "bulk", "summary",
    "preview", "download", "upload", "sync", "validate", "duplicate", "share", "subscribe",
    "unsubscribe", "feed", "count", "recent", "trending", "autocomplete",
]

CLASSIC_PAGES = [
    "/", "/login", "/logout", "/signup", "/about", "/pricing", "/contact", "/terms",
    "/privacy", "/health", "/robots.txt", "/favicon.ico", "/sitemap.xml", "/search",
    "/dashboard", "/settings", "/help", "/docs/", "/blog/", "/careers", "/status",
    "/password/reset", "/password/forgot", "/oauth/authorize", "/oauth/token",
    "/oauth/callback", "/webhooks/stripe", "/webhooks/github", "/feed.xml",
    "/.well-known/security.txt", "/api/v1/ping", "/api/v2/ping", "/admin/", "/admin/login",
    "/shop/", "/shop/cart", "/shop/checkout", "/account/profile", "/account/security",
    "/app/",
]

# Parameter-first shapes, GitLab style: `/<namespace>/<project>/-/...`.
PARAM_FIRST = [
    "/<org>/-/{res}", "/<org>/-/{res}/<int:id>", "/<org>/<project>/-/{res}",
    "/<org>/<project>/-/{res}/<int:id>", "/<org>/<project>/-/{res}/<int:id>/{sub}",
    "/<user>/{res}/<uuid:ref>",
]

STATIC_SHAPES = [
    ("{ns}/{res}", 3), ("{ns}/{res}/{act}", 5), ("{ns}/{res}/{sub}", 4),
    ("{ns}/{res}/{sub}/{act}", 5), ("{ns}/{res}/{sub}/{sub2}/{act}", 2),
    ("{ns}/{res}/{sub}/{sub2}", 1),
]

DYNAMIC_SHAPES = [
    ("{ns}/{res}/<int:id>", 6), ("{ns}/{res}/<int:id>/{sub}", 6),
    ("{ns}/{res}/<int:id>/{sub}/<int:sub_id>", 5), ("{ns}/{res}/<int:id>/{sub}/{act}", 4),
    ("{ns}/{res}/<uuid:uid>", 2), ("{ns}/{res}/<uuid:uid>/{sub}", 2),
    ("{ns}/{res}/<slug>", 2), ("{ns}/{res}/<slug>/{sub}/<int:n>", 3),
    ("{ns}/{res}/<int:id>/{sub}/<name>/{act}", 2), ("{ns}/{res}/<int:id>/files/<path:filepath>", 1),
    ("{ns}/{res}/<int:year>/<int:month>/<slug>", 1), ("{ns}/{res}/by-name/<name>", 2),
    ("{ns}/{res}/<int:id>/{sub}/<int:sub_id>/{sub2}/<uuid:ref>", 1),
]


def _weighted(rng, pairs):
    items, weights = zip(*pairs)
    return rng.choices(items, weights=weights)[0]


def _fill(rng, shape):
    """Instantiates a shape's {placeholders}; sub2 differs from sub so paths stay plausible."""
    sub = rng.choice(SUBRESOURCES)
    sub2 = rng.choice([s for s in SUBRESOURCES if s != sub])
    return shape.format(ns=_weighted(rng, NAMESPACES), res=rng.choice(RESOURCES), sub=sub,
                        sub2=sub2, act=rng.choice(ACTIONS))


def _unique(rng, count, make, taken):
    """Draws `count` rules not in `taken`; bounded, since a tiny vocabulary could run dry."""
    out = []
    for _ in range(50 * count + 100):
        if len(out) == count:
            return out
        rule = make(rng)
        if rule not in taken:
            taken.add(rule)
            out.append(rule)
    raise RuntimeError(f"could only draw {len(out)} of {count} unique rules")


def build_rules(n, seed=SEED):
    """The app's rule texts in registration order (what url_map.iter_rules() yields)."""
    rng = random.Random(seed * 1_000_003 + n)
    classic = CLASSIC_PAGES[: min(len(CLASSIC_PAGES), n // 20)]
    param_first = max(1, n // 200)
    dynamic = round(0.4 * n) - param_first
    static = n - len(classic) - param_first - dynamic
    taken = set(classic)
    rules = (
        _unique(rng, static, lambda r: _fill(r, _weighted(r, STATIC_SHAPES)), taken)
        + _unique(rng, dynamic, lambda r: _fill(r, _weighted(r, DYNAMIC_SHAPES)), taken)
        + _unique(rng, param_first, lambda r: _fill(r, r.choice(PARAM_FIRST)), taken)
    )
    # Blueprints get registered one after another, but the interesting property for the
    # benchmark is that "late" dynamic routes are spread over many groups, so shuffle.
    rng.shuffle(rules)
    return classic + rules


def is_dynamic(rule):
    return "<" in rule


def render_app(rules):
    """Python source of the app. static_folder=None keeps the rule count exactly N (nginx
    would serve /static/ itself anyway)."""
    lines = [
        f'"""Synthetic app with {len(rules)} rules, generated by bench/gen_app.py; do not edit."""',
        "from flask import Flask",
        "",
        "app = Flask(__name__, static_folder=None)",
        "",
        "",
        "def view(**values):",
        '    return "ok"',
        "",
        "",
        "RULES = [",
    ]
    lines += [f"    {rule!r}," for rule in rules]
    lines += [
        "]",
        "",
        "for i, rule in enumerate(RULES):",
        '    app.add_url_rule(rule, endpoint=f"r{i}", view_func=view)',
        "",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="number of url rules")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    sys.stdout.write(render_app(build_rules(args.n, args.seed)))


if __name__ == "__main__":
    main()
