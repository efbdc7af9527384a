#!/usr/bin/env bash
# The main job on the bundled examples: generate the allowlist for an app running in
# development mode by mistake, put nginx in front, and show what gets through. First a Flask
# app with its debugger on (examples/demo), then a Django project with DEBUG=True
# (examples/django-demo).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/setup.sh
cargo build --locked --quiet
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_nginx DEMO_DIR PREFIX PORT APP_PORT: run DEMO_DIR/nginx.conf.in (allowlist in DEMO_DIR/out).
start_nginx() {
  mkdir -p "$2"
  sed -e "s|@PREFIX@|$2|g" -e "s|@OUT@|$1/out|g" -e "s|@DEMO@|$1|g" \
    -e "s|@PORT@|$3|g" -e "s|@APP_PORT@|$4|g" "$1/nginx.conf.in" >"$2/nginx.conf"
  "$(command -v nginx || echo /usr/sbin/nginx)" -p "$2" -c "$2/nginx.conf" -e "$2/error.log" &
}

# table APP_PORT NGINX_PORT "METHOD PATH"...: each request to the app, then through nginx.
table() {
  .venv/bin/python - "$@" <<'PY'
import http.client, sys, time

app_port, nginx_port = int(sys.argv[1]), int(sys.argv[2])

def status(port, method, path):
    for _ in range(150):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request(method, path, headers={"Host": "localhost"})
            resp = conn.getresponse()
            body = resp.read()
        except ConnectionError:
            time.sleep(0.1)
            continue
        if b"Not here" in body:
            note = "(nginx 404 page)"
        elif b"Using the URLconf defined in" in body:
            note = "(pattern list)"  # Django's technical 404 page, DEBUG=True
        elif resp.getheader("Location"):
            # Werkzeug's redirects are absolute, Django's relative: show the path.
            note = "-> " + resp.getheader("Location").removeprefix("http://localhost")
        else:
            note = ""
        return f"{resp.status} {note}".strip()
    return "unreachable"

print(f"\n{'request':<48} {'app directly':<36} through nginx + routewall")
for request in sys.argv[3:]:
    method, path = request.split(" ", 1)
    print(f"{request:<48} {status(app_port, method, path):<36} {status(nginx_port, method, path)}")
PY
}

demo=$root/examples/demo
echo "== Flask (examples/demo): routewall generate (the app's routes: routewall routes --source flask --app app)"
(cd "$demo" && "$root/target/debug/routewall" routes --source flask --app app --venv "$root/.venv")
(cd "$demo" && "$root/target/debug/routewall" generate --source flask --app app --venv "$root/.venv" \
  --target nginx --output "$demo/out")
app_port=$(port)
nginx_port=$(port)
(cd "$demo" && exec "$root/.venv/bin/python" -m flask --app app run --debug --no-reload \
  --port "$app_port") >"$work/flask.log" 2>&1 &
start_nginx "$demo" "$work/flask" "$nginx_port" "$app_port"
table "$app_port" "$nginx_port" \
  "GET /console" \
  "GET /?__debugger__=yes&cmd=resource&f=style.css" \
  "GET /.env" \
  "GET /" \
  "GET /products/42" \
  "GET /products/abc" \
  "GET /users/ada/orders" \
  "POST /login" \
  "GET /static/site.css"
echo
echo "The include files are in $demo/out (http.conf, location.conf)."

demo=$root/examples/django-demo
echo
echo "== Django (examples/django-demo): routewall generate (the project's routes: routewall routes --source django --app mysite.settings)"
(cd "$demo" && "$root/target/debug/routewall" routes --source django --app mysite.settings \
  --venv "$root/.venv")
(cd "$demo" && "$root/target/debug/routewall" generate --source django --app mysite.settings \
  --venv "$root/.venv" --target nginx --output "$demo/out")
app_port=$(port)
nginx_port=$(port)
(cd "$demo" && exec "$root/.venv/bin/python" manage.py runserver --noreload "$app_port") \
  >"$work/django.log" 2>&1 &
start_nginx "$demo" "$work/django" "$nginx_port" "$app_port"
table "$app_port" "$nginx_port" \
  "GET /nope/" \
  "GET /.env" \
  "GET /" \
  "GET /products/42/" \
  "GET /products/42" \
  "GET /products/abc/" \
  "GET /archive/2024/" \
  "GET /en/about/" \
  "GET /fr/about/" \
  "GET /about/" \
  "GET /admin/" \
  "GET /admin/login/" \
  "GET /static/site.css"
echo
echo "The include files are in $demo/out (http.conf, location.conf)."
