#!/usr/bin/env bash
# The main job on the bundled example (examples/demo): generate the allowlist for a Flask
# app running with its debugger on, put nginx in front, and show what gets through.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/setup.sh
cargo build --locked --quiet
demo=$root/examples/demo
work=$(mktemp -d)
out=$demo/out
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

echo "== routewall generate (the app's routes: routewall routes --source flask --app app)"
(cd "$demo" && "$root/target/debug/routewall" routes --source flask --app app --venv "$root/.venv")
(cd "$demo" && "$root/target/debug/routewall" generate --source flask --app app --venv "$root/.venv" \
  --target nginx --output "$out")

port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
app_port=$(port)
nginx_port=$(port)
(cd "$demo" && exec "$root/.venv/bin/python" -m flask --app app run --debug --no-reload \
  --port "$app_port") >"$work/app.log" 2>&1 &
sed -e "s|@PREFIX@|$work|g" -e "s|@OUT@|$out|g" -e "s|@DEMO@|$demo|g" \
  -e "s|@PORT@|$nginx_port|g" -e "s|@APP_PORT@|$app_port|g" "$demo/nginx.conf.in" >"$work/nginx.conf"
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
"$nginx_bin" -p "$work" -c "$work/nginx.conf" -e "$work/error.log" &

.venv/bin/python - "$app_port" "$nginx_port" <<'PY'
import http.client, sys, time

app_port, nginx_port = int(sys.argv[1]), int(sys.argv[2])

def status(port, method, path):
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request(method, path, headers={"Host": "localhost"})
            resp = conn.getresponse()
            body = resp.read()
            return f"{resp.status} {'(nginx 404 page)' if b'Not here' in body else ''}".strip()
        except ConnectionError:
            time.sleep(0.1)
    return "unreachable"

print(f"\n{'request':<48} {'app directly':<16} through nginx + routewall")
for method, path in [
    ("GET", "/console"),
    ("GET", "/?__debugger__=yes&cmd=resource&f=style.css"),
    ("GET", "/.env"),
    ("GET", "/"),
    ("GET", "/products/42"),
    ("GET", "/products/abc"),
    ("GET", "/users/ada/orders"),
    ("POST", "/login"),
    ("GET", "/static/site.css"),
]:
    print(f"{method + ' ' + path:<48} {status(app_port, method, path):<16} {status(nginx_port, method, path)}")
PY
echo
echo "The include files are in $out (http.conf, location.conf)."
