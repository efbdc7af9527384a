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
CELL = re.compile(r"(\w+): (\d+) probes, (\d+) false allows, (\d+) false denies, (\d+) other")


def main(path):
    rows = {}
    for line in open(path, encoding="utf-8"):
        label, *cells = [part.strip() for part in line.split(" | ")]
        rows[label] = {m[1]: m.groups()[1:] for m in map(CELL.match, cells) if m}
    print("| app | " + " | ".join(HEADERS) + " |")
    print("|---" * (len(HEADERS) + 1) + "|")
    for label, cells in sorted(rows.items()):
        out = []
        for cls in CLASSES:
            probes, allows, denies, other = cells.get(cls, ("0", "0", "0", "0"))
            cell = f"{probes}: {allows} / {denies}"
            out.append(cell + (f" (+{other} other)" if other != "0" else ""))
        print(f"| {label} | " + " | ".join(out) + " |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/differential-report.txt")
