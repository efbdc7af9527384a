#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every test: unit tests, and the CLI tests that drive
# real Flask apps and a real nginx on 127.0.0.1. Prints the differential figures at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-realapps --with-haproxy --with-nginx-module
rm -f target/differential-report.txt
export ROUTEWALL_TEST_VENV="$PWD/.venv"
cargo test --workspace --locked
echo
echo "Differential test: probes, then false allows / false denies (nginx with routewall's"
echo "output against Werkzeug's own router):"
.venv/bin/python tests/differential/report_table.py target/differential-report.txt
echo
echo "The same for Django projects (truth from Django's own request handling):"
.venv/bin/python tests/differential/report_table.py --django target/differential-report.txt
echo
echo "The same for Starlette and FastAPI apps (truth from the app's own ASGI routing):"
.venv/bin/python tests/differential/report_table.py --starlette target/differential-report.txt
