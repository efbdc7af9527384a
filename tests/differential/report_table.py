"""Turn target/differential-report.txt (written by the differential tests) into the
Markdown table the README shows: probes, then false allows / false denies, per class.
"other" counts refusals that differ from the app's (nginx's own 400, 404 for the app's 405)."""

import re
import sys

CLASSES = (
    "canonical", "double_slash", "unmerged_rule", "dot_segments", "invalid_utf8", "debugger_query",
    "converter_check", "non_ascii_host",
)
HEADERS = (
    "canonical", "`//`", "`//` on a `merge_slashes=False` rule", "dot segments", "invalid UTF-8",
    "debugger query", "refused by a converter's code", "non-ASCII Host",
)
# The Django probe's classes (tests/differential/django_probe.py): Django has no debugger
# query, no merge_slashes=False rules and no host routes.
DJANGO_CLASSES = ("canonical", "double_slash", "dot_segments", "invalid_utf8", "converter_check")
DJANGO_HEADERS = (
    "canonical", "`//`", "dot segments", "invalid UTF-8", "refused by a converter's code",
)
# The Starlette probe's classes (tests/differential/starlette_probe.py).
STARLETTE_CLASSES = ("canonical", "double_slash", "dot_segments", "invalid_utf8", "newline")
STARLETTE_HEADERS = ("canonical", "`//`", "dot segments", "invalid UTF-8", "newline (`%0A`)")
CELL = re.compile(r"(\w+): (\d+) probes, (\d+) false allows, (\d+) false denies, (\d+) other")


def main(path, framework="flask"):
    """The table of the Flask apps' rows, or of the Django projects' or the Starlette
    apps' rows (their labels start with `django ` or `starlette `)."""
    classes, headers = {
        "flask": (CLASSES, HEADERS),
        "django": (DJANGO_CLASSES, DJANGO_HEADERS),
        "starlette": (STARLETTE_CLASSES, STARLETTE_HEADERS),
    }[framework]
    rows = {}
    for line in open(path, encoding="utf-8"):
        label, *cells = [part.strip() for part in line.split(" | ")]
        kind = label.split(" ", 1)[0] if label.split(" ", 1)[0] in ("django", "starlette") else "flask"
        if kind == framework:
            rows[label] = {m[1]: m.groups()[1:] for m in map(CELL.match, cells) if m}
    print(("| project | " if framework == "django" else "| app | ") + " | ".join(headers) + " |")
    print("|---" * (len(headers) + 1) + "|")
    for label, cells in sorted(rows.items()):
        out = []
        for cls in classes:
            probes, allows, denies, other = cells.get(cls, ("0", "0", "0", "0"))
            cell = f"{probes}: {allows} / {denies}"
            out.append(cell + (f" (+{other} other)" if other != "0" else ""))
        print(f"| {label} | " + " | ".join(out) + " |")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a not in ("--django", "--starlette")]
    framework = next((a[2:] for a in sys.argv[1:] if a in ("--django", "--starlette")), "flask")
    main(args[0] if args else "target/differential-report.txt", framework)
