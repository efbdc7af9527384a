//! The Django source in the seed tool's layout (`--layout server`): the fixture project's
//! check at the top of a server that also has a location nginx serves itself, generated
//! with `--nginx-conf` the way deploy.rs generates basic's, and the differential test of
//! django.rs against it.

use std::path::Path;

use crate::django::{check, generate_to, probe};
use crate::support::{Nginx, UNMERGED, get, nginx_binary, stderr};

/// The server's body: routewall's check first, as the README says, then a location nginx
/// serves itself (ACME challenges, which no probe asks for) and the app location. The app
/// is a `proxy_pass` to a 200 stub: a location that only `return`s is nginx's own to
/// `--nginx-conf`, and would be let through whole.
pub(crate) fn server_body(out: &Path, app_port: u16) -> String {
    let o = out.display();
    format!(
        "include {o}/server.conf;\nlocation ^~ /.well-known/acme-challenge/ {{ return 200 \"acme-proof\\n\"; }}\nlocation / {{ proxy_pass http://127.0.0.1:{app_port}; }}\n"
    )
}

/// The operator's whole configuration, shaped like the one [`Nginx::start`] serves (same
/// http-level settings, `http.conf` included in `http { }`, the server body included in
/// the server): `generate --nginx-conf` reads its locations and tests it with `nginx -t`
/// (which binds no port) over the new files.
pub(crate) fn whole_config(dir: &Path, out: &Path, body: &Path) -> String {
    let (d, o, b) = (dir.display(), out.display(), body.display());
    format!(
        "pid {d}/nginx.pid;\nerror_log {d}/error.log warn;\nevents {{ worker_connections 512; }}\nhttp {{\n    access_log off;\n    client_body_temp_path {d}/body;\n    proxy_temp_path {d}/proxy;\n    include {o}/http.conf;\n    server {{\n        listen 127.0.0.1:8080;\n        server_name localhost;\n        merge_slashes off;\n        include {b};\n    }}\n}}\n"
    )
}

#[test]
fn fixture_project_is_exact_in_the_server_layout() {
    let app = Nginx::start("", "        location / { return 200 \"passed\\n\"; }");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("routewall");
    let body = dir.path().join("site.conf");
    std::fs::write(&body, server_body(&out, app.port)).expect("write the server body");
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, whole_config(dir.path(), &out, &body)).expect("write nginx.conf");
    let nginx_bin = nginx_binary();
    let generated = generate_to(
        "mysite.settings",
        &out,
        &[
            "--layout",
            "server",
            "--nginx-conf",
            conf.to_str().expect("utf-8"),
            "--server-binary",
            nginx_bin.to_str().expect("utf-8"),
        ],
    );
    assert!(generated.status.success(), "{}", stderr(&generated));
    let http = std::fs::read_to_string(out.join("http.conf")).expect("http.conf written");
    assert!(
        http.contains(
            "# added by the operator: /.well-known/acme-challenge/* (from the nginx location at"
        ),
        "{http}"
    );

    let nginx = Nginx::start(
        &format!("    include {}/http.conf;", out.display()),
        &format!("        include {};\n{UNMERGED}", body.display()),
    );
    // nginx's own location answers, and only under its prefix.
    assert_eq!(
        get(nginx.port, "/.well-known/acme-challenge/token42"),
        (200, "acme-proof".to_owned())
    );
    assert_eq!(get(nginx.port, "/.well-known/security.txt").0, 404);
    check(
        &probe("mysite.settings", None, nginx.port),
        "django mysite.settings --layout server",
    );
}
