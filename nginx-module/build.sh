#!/usr/bin/env bash
# Builds ngx_http_routewall_module.so for the nginx installed here, from Debian's
# nginx-dev (the headers and build system of exactly that nginx; `apt-get install
# nginx-dev`). Usage: nginx-module/build.sh [OUT_DIR]   (default: target/nginx-module)
# Then: cp OUT_DIR/ngx_http_routewall_module.so /usr/lib/nginx/modules/ and load it with
# `load_module modules/ngx_http_routewall_module.so;` at the top of nginx.conf.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(mkdir -p "${1:-$here/../target/nginx-module}" && cd "${1:-$here/../target/nginx-module}" && pwd)"
src=/usr/share/nginx/src
if [ ! -x "$src/configure" ]; then
    echo "build.sh: $src/configure not found: install Debian's nginx-dev (apt-get install nginx-dev)" >&2
    exit 1
fi
build="$out/build"
rm -rf "$build"
# nginx-dev's configure runs in its own source tree and writes only into --builddir.
# conf_flags holds the flags Debian's nginx was configured with (--with-compat among
# them), so the module loads into that nginx.
(
    cd "$src"
    # shellcheck disable=SC1091
    . ./conf_flags
    ./configure "${NGX_CONF_FLAGS[@]}" \
        --with-cc-opt="-g -O2 -fPIC -Wall -Werror" --with-ld-opt="-fPIC" \
        --add-dynamic-module="$here" --builddir="$build" > "$out/configure.log" 2>&1 \
        || { tail -20 "$out/configure.log" >&2; exit 1; }
    make -f "$build/Makefile" -C "$src" modules > "$out/make.log" 2>&1 \
        || { tail -40 "$out/make.log" >&2; exit 1; }
)
cp "$build/ngx_http_routewall_module.so" "$out/"
echo "$out/ngx_http_routewall_module.so"
