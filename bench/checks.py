"""Is the benchmark measuring what it claims? Each check returns a list of problems (empty
when all is well), which run.py prints and which make --smoke fail."""

import http.client
import re

MAX_LISTED = 5  # problems listed per check; the rest are counted

# "2026/11/25 14:08:28 [warn] 21729#21729: msg" (error log) or "nginx: [warn] msg" (nginx -t)
LEVEL = re.compile(r"\[(warn|error|crit|alert|emerg)\] (?:\d+#\d+: (?:\*\d+ )?)?(.*)")


def answers(inst, paths, want_status, want_body=None):
    """GETs every path over one keep-alive connection; returns the paths answered wrongly."""
    wrong = []
    conn = http.client.HTTPConnection("127.0.0.1", inst.port, timeout=10)
    try:
        for path in sorted(set(paths)):
            for attempt in range(2):  # a closed keep-alive connection gets one retry
                try:
                    conn.request("GET", path)
                    resp = conn.getresponse()
                    body = resp.read().decode(errors="replace")
                    break
                except (http.client.HTTPException, OSError):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", inst.port, timeout=10)
                    if attempt:
                        raise
            if resp.status != want_status or (want_body is not None and body != want_body):
                wrong.append(f"{inst.name} GET {path} -> {resp.status} {body[:40]!r}, want {want_status}")
    finally:
        conn.close()
    return wrong


def http_answers(a, x, lists):
    """X: allowed paths 200 "ok", denied 404. A (no allowlist): everything 200."""
    allowed = lists["static"] + lists["dynamic"]
    problems = (answers(x, allowed, 200, "ok") + answers(x, lists["denied"], 404)
                + answers(a, allowed + lists["denied"], 200, "ok"))
    return _summarise(problems), len(set(allowed)), len(set(lists["denied"]))


def wrk_counts(cls, block, denied_share):
    """What wrk saw must fit the list: A never refuses, X refuses exactly the denied share
    (within 2 %, as a run stops mid-cycle), and no socket errors."""
    problems = []
    for r in block.a_runs:
        if r.non2xx:
            problems.append(f"{cls}: A answered {r.non2xx} of {r.requests} requests with non-2xx")
    for r in block.x_runs:
        share = r.non2xx / r.requests if r.requests else 0.0
        if abs(share - denied_share) > 0.02:
            problems.append(f"{cls}: X refused {share:.1%} of requests, want {denied_share:.0%}")
    for r in block.a_runs + block.x_runs:
        if r.socket_errors:
            problems.append(f"{cls}: wrk reported {r.socket_errors} socket errors")
        if not r.requests:
            problems.append(f"{cls}: a wrk run completed no requests")
    return _summarise(problems)


def nginx_warnings(sources):
    """Messages at warn level or worse ([warn], [error], [crit], [alert], [emerg]) in each
    source's text, without timestamps and pids, so that one message repeated by every
    `nginx -t` is listed once, with where it was seen."""
    seen = {}
    for source, text in sources.items():
        for line in text.splitlines():
            m = LEVEL.search(line)
            if m:
                seen.setdefault(f"[{m.group(1)}] {m.group(2).strip()}", set()).add(source)
    return [f"{msg} (in: {', '.join(sorted(where))})" for msg, where in sorted(seen.items())]


def _summarise(problems):
    if len(problems) <= MAX_LISTED:
        return problems
    return problems[:MAX_LISTED] + [f"... and {len(problems) - MAX_LISTED} more"]
