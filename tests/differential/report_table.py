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
CELL = re.compile(r"(\w+): (\d+) probes, (\d+) false allows, (\d+) false denies, (\d+) other")


def main(path, django=False):
    """The table of the Flask apps' rows, or with `django` of the Django projects' rows
    (their labels start with `django `)."""
    classes, headers = (DJANGO_CLASSES, DJANGO_HEADERS) if django else (CLASSES, HEADERS)
    rows = {}
    for line in open(path, encoding="utf-8"):
        label, *cells = [part.strip() for part in line.split(" | ")]
        if label.startswith("django ") == django:
            rows[label] = {m[1]: m.groups()[1:] for m in map(CELL.match, cells) if m}
    print(("| project | " if django else "| app | ") + " | ".join(headers) + " |")
    print("|---" * (len(headers) + 1) + "|")
    for label, cells in sorted(rows.items()):
        out = []
        for cls in classes:
            probes, allows, denies, other = cells.get(cls, ("0", "0", "0", "0"))
            cell = f"{probes}: {allows} / {denies}"
            out.append(cell + (f" (+{other} other)" if other != "0" else ""))
        print(f"| {label} | " + " | ".join(out) + " |")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--django"]
    main(args[0] if args else "target/differential-report.txt", django="--django" in sys.argv)
