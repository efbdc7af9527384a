#!/usr/bin/env bash
# Installs what routewall's build, tests and demo need on a Debian machine with Rust and
# Python 3: nginx, libpython (pyo3 links it), python3-venv, a venv (.venv) with the pinned
# Flask from tests/requirements.txt, and with --with-realapps three more with the real PyPI
# apps of tests/realapps (.venv-realapps: the Flask apps; .venv-realapps-django: the Django
# projects of tests/realapps/django; .venv-realapps-asgi: the ASGI apps of
# tests/realapps/starlette), and with --with-haproxy HAProxy (for the HAProxy target's
# tests), and with --with-nginx-module Debian's nginx-dev (the headers nginx-module/build.sh
# builds routewall's nginx module against). Safe to run again; it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
if [[ " $* " == *" --with-haproxy "* ]]; then
  command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
fi
if command -v dpkg >/dev/null 2>&1; then
  if [[ " $* " == *" --with-nginx-module "* ]]; then
    dpkg -s nginx-dev >/dev/null 2>&1 || missing+=(nginx-dev)
  fi
  # pyo3 links libpython; Debian's python3 ships the linkable .so in libpython3-dev.
  if [ "$(command -v python3)" = /usr/bin/python3 ]; then
    dpkg -s libpython3-dev >/dev/null 2>&1 || missing+=(libpython3-dev)
    dpkg -s python3-venv >/dev/null 2>&1 || missing+=(python3-venv)
  fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} with apt-get" >&2
  sudo_=""
  [ "$(id -u)" -eq 0 ] || sudo_=sudo
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $(python3 --version)" >&2
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r tests/requirements.txt

# Real Flask applications from PyPI (tests/realapps), for the tests only (`--with-realapps`,
# anywhere among the arguments): pinned, wheels only, in their own venv so their
# dependencies cannot change the fixtures' Flask.
[[ " $* " == *" --with-realapps "* ]] || exit 0
if [ ! -x .venv-realapps/bin/python ]; then
  echo "setup: creating .venv-realapps" >&2
  python3 -m venv .venv-realapps
fi
.venv-realapps/bin/python -m pip install -q --disable-pip-version-check --only-binary=:all: \
  -r tests/realapps/requirements.txt

# Real Django projects from PyPI (tests/realapps/django), the same way: pinned, wheels only,
# in a venv of their own (their pins and the Flask apps' differ: idna, for one).
if [ ! -x .venv-realapps-django/bin/python ]; then
  echo "setup: creating .venv-realapps-django" >&2
  python3 -m venv .venv-realapps-django
fi
.venv-realapps-django/bin/python -m pip install -q --disable-pip-version-check \
  --only-binary=:all: -r tests/realapps/requirements-django.txt

# Real ASGI applications from PyPI (tests/realapps/starlette: Prefect, gradio, marimo,
# dagster-webserver, sqladmin), the same way, in a venv of their own (Prefect caps FastAPI
# below the fixtures' version).
if [ ! -x .venv-realapps-asgi/bin/python ]; then
  echo "setup: creating .venv-realapps-asgi" >&2
  python3 -m venv .venv-realapps-asgi
fi
.venv-realapps-asgi/bin/python -m pip install -q --disable-pip-version-check \
  --only-binary=:all: -r tests/realapps/requirements-asgi.txt
