"""The Markdown report: ratios first, absolute numbers beside them, targets with PASS/FAIL."""

import statistics

from gen_app import is_dynamic

CLASS_NAMES = {
    "mix": "mix (40 % static, 40 % late dynamic, 20 % denied)",
    "static": "static only",
    "dynamic": "late dynamic only",
    "denied": "denied only",
}

# Targets at the largest size; the throughput ones are judged on the CPU-derived ratio.
MIN_THROUGHPUT = 0.95
MAX_RSS_MB = 128
MAX_NGINX_T_S = 1.0
MAX_GEN_RATIO = 1.25


def med(xs):
    return statistics.median(xs)


def spread(xs, digits=2):
    """median (min–max)"""
    return f"{med(xs):.{digits}f} ({min(xs):.{digits}f}–{max(xs):.{digits}f})"


def verdict(ok):
    return "PASS" if ok else "FAIL"


def gen_ratio(r):
    return med(r["gen"]["generate"].wall) / med(r["gen"]["import"].wall)


def rule_counts(rules):
    dynamic = sum(map(is_dynamic, rules))
    param_first = sum(r.startswith("/<") for r in rules)
    return f"{len(rules) - dynamic:,} / {dynamic:,} ({param_first} param-first)"


def header(info):
    s = info["settings"]
    minutes, seconds = divmod(round(info["duration_s"]), 60)
    flask, werkzeug, python = (info["flask"].split() + ["?"] * 3)[:3]
    mode = "smoke" if s.smoke else "full"
    return [
        "# routewall benchmark: NGINX allowlist cost",
        "",
        f"- **Date:** {info['date']}; **run time:** {minutes} min {seconds} s",
        f"- **Machine:** nproc {info['nproc']}, {info['cpu']}, Linux {info['kernel']}; "
        f"load average {info['load'][0]:.2f} at start, {info['load_end'][0]:.2f} at end",
        f"- **Software:** {info['nginx']} (pcre_jit {'on' if info.get('pcre_jit') else 'off, the default'}), {info['routewall']}, "
        f"Flask {flask} / Werkzeug {werkzeug}, Python {python}",
        f"- **Binary:** {info['binary']}",
        f"- **Command:** `{info['command']}` ({mode}: {s.rounds} round(s) of {s.seconds} s per "
        f"variant, A X A … A; `nginx -t` × {s.t_runs}; generate/import × {s.gen_runs})",
        "- **Setup:** A = nginx answering `return 200 \"ok\"` with no allowlist; X = the same "
        + ("nginx with routewall's tree layout: `http.conf` in `http {}`, `tree.conf` as the "
           "server's locations, each allowing one including a file that answers the same "
           "`return 200 \"ok\"` (`--layout tree`)."
           if info.get("layout") == "tree" else
           "nginx with routewall's nginx module loaded (`load_module`, X only) and "
           "`http.conf` and `location.conf` included (`--layout module`)."
           if info.get("layout") == "module" else
           "nginx with routewall's `http.conf` and `location.conf` included (`--layout location`).")
        + " One worker pinned to CPU 0, `taskset -c 1 wrk -t1 -c32`, keep-alive, `access_log off`.",
        "- **Ratios:** X/A, 1.00 = no cost. *req/s ratio* = X req/s ÷ mean of the two "
        "neighbouring A runs; *CPU ratio* = A µs/req ÷ X µs/req of nginx worker CPU "
        "(/proc utime+stime). The CPU ratio is the capacity cost and the one to trust on a "
        "shared machine; req/s also moves with whatever else runs on CPU 0.",
        "",
    ]


def size_table(results):
    rows = [
        "## Per app size (request mix)",
        "",
        "| N | rules static / dynamic | routewall output | req/s ratio X/A | CPU ratio | "
        "nginx µs/req X vs A | `nginx -t` ms X vs A | master RSS MB X vs A | generate ÷ import |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        b = r["blocks"]["mix"]
        t = r["nginx_t"]
        rows.append(
            f"| {r['n']:,} | {rule_counts(r['rules'])} | {r['summary']} "
            f"| {spread(b.rps_ratios())} | **{spread(b.cpu_ratios())}** "
            f"| {b.us_per_req('X'):.2f} vs {b.us_per_req('A'):.2f} "
            f"| {1000 * med(t['X'].wall):.0f} vs {1000 * med(t['A'].wall):.0f} "
            f"| {r['rss']['X'][0]:.1f} vs {r['rss']['A'][0]:.1f} "
            f"| {gen_ratio(r):.2f} |"
        )
    return rows + [""]


def class_table(r):
    rows = [
        f"## Per request class at N={r['n']:,}",
        "",
        "| requests | req/s ratio X/A | CPU ratio | nginx µs/req X vs A | X refused | "
        "CPU 0 busy outside nginx |",
        "|---|---|---|---|---|---|",
    ]
    for cls, b in r["blocks"].items():
        refused = sum(x.non2xx for x in b.x_runs) / max(1, sum(x.requests for x in b.x_runs))
        rows.append(
            f"| {CLASS_NAMES[cls]} | {spread(b.rps_ratios())} | **{spread(b.cpu_ratios())}** "
            f"| {b.us_per_req('X'):.2f} vs {b.us_per_req('A'):.2f} | {refused:.0%} "
            f"| {r['core0_other'][cls]:.0%} |"
        )
    return rows + [""]


def generation_table(results, real=None):
    rows = [
        "## Generation time (wall, median of interleaved runs)",
        "",
        "| N (or app) | import + iter_rules, s | `generate --no-validate`, s | ratio, median (min–max) "
        "| CPU-time ratio | `generate` with `nginx -t`, s |",
        "|---|---|---|---|---|---|",
    ]
    named = [(f"{r['n']:,}", r["gen"]) for r in results]
    if real:
        named.append((real["name"], real["gen"]))
    for name, g in named:
        pairs = [gen / imp for gen, imp in zip(g["generate"].wall, g["import"].wall)]
        cpu = med(g["generate"].cpu) / med(g["import"].cpu)
        rows.append(
            f"| {name} | {spread(g['import'].wall)} | {spread(g['generate'].wall)} "
            f"| **{spread(pairs)}** | {cpu:.2f} | {spread(g['validated'].wall)} |"
        )
    return rows + [""]


def target_rows(r, smoke, real=None):
    rows = []
    for cls, b in r["blocks"].items():
        cpu, rps = med(b.cpu_ratios()), med(b.rps_ratios())
        rows.append((f"throughput ratio ≥ {MIN_THROUGHPUT}, {CLASS_NAMES[cls]}",
                     f"CPU {cpu:.2f} (req/s {rps:.2f})", cpu >= MIN_THROUGHPUT))
    rss = r["rss"]["X"][0]
    rows.append((f"master RSS < {MAX_RSS_MB} MB", f"{rss:.1f} MB", rss < MAX_RSS_MB))
    t = med(r["nginx_t"]["X"].wall)
    rows.append((f"`nginx -t` < {MAX_NGINX_T_S:.0f} s", f"{1000 * t:.0f} ms", t < MAX_NGINX_T_S))
    ratio = gen_ratio(r)
    rows.append((f"generation ≤ {MAX_GEN_RATIO} × import", f"{ratio:.2f} ×", ratio <= MAX_GEN_RATIO))
    if real:
        ratio = gen_ratio(real)
        rows.append((f"generation ≤ {MAX_GEN_RATIO} × import, {real['name']}", f"{ratio:.2f} ×",
                     ratio <= MAX_GEN_RATIO))
    title = f"## Targets at N={r['n']:,}"
    if smoke:
        title += " (smoke run: the targets are meant for 10,000 rules; indicative only)"
    lines = [title, "", "| target | measured | |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {verdict(ok)} |" for name, value, ok in rows]
    return lines + [""]


def checks_section(results):
    lines = ["## Checks", ""]
    for r in results:
        d = r["dropped"]
        lines.append(
            f"- N={r['n']:,}: X answered {r['n_allowed']} distinct allowed paths and "
            f"{r['n_denied']} distinct denied paths; A answered all with 200. "
            f"Request candidates dropped because the app's router put them in another class: "
            f"{d['static']} static, {d['dynamic']} dynamic, {d['denied']} denied."
        )
        if r["problems"]:
            lines += [f"  - **PROBLEM:** {p}" for p in r["problems"]]
        else:
            lines.append("  - every answer as expected (allowed 200 \"ok\", denied 404; wrk's "
                         "non-2xx counts match the lists; no socket errors)")
        noise = ", ".join(f"{cls} {share:.0%}" for cls, share in r["core0_other"].items())
        lines.append(f"  - CPU 0 busy outside the nginx worker during the wrk runs (median): {noise}")
        warnings = r.get("warnings") or []
        lines.append("  - nginx warnings: " + ("none" if not warnings else ""))
        lines += [f"    - `{w}`" for w in warnings]
    return lines + [""]


def render(info, results, real=None):
    largest = max(results, key=lambda r: r["n"])
    lines = header(info) + size_table(results) + class_table(largest)
    lines += generation_table(results, real)
    lines += target_rows(largest, info["settings"].smoke, real)
    lines += checks_section(results)
    return "\n".join(lines)
