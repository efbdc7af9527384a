//! The Starlette source (FastAPI included): the fixture apps read through the CLI, and the
//! differential test against the apps' own ASGI routing behind a real nginx.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::differential::check_classes;
use crate::support::{Nginx, TreePass, UNMERGED, module_args, repo, routewall, stderr, venv};

/// The fixture apps' directory.
fn app_dir() -> PathBuf {
    repo().join("tests/fixtures/starlette")
}

/// `routewall generate --source SOURCE --app APP --target nginx --output OUT EXTRA…`.
fn generate_to(source: &str, app: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "generate", "--source", source, "--app", app, "--target", "nginx",
    ];
    args.extend(["--output", out.to_str().expect("utf-8")]);
    args.extend_from_slice(extra);
    routewall(&app_dir(), &args)
}

fn generate(app: &str, extra: &[&str]) -> tempfile::TempDir {
    let out = tempfile::tempdir().expect("tempdir");
    let result = generate_to("starlette", app, out.path(), extra);
    assert!(
        result.status.success(),
        "generate {app} {extra:?} failed: {}",
        stderr(&result)
    );
    out
}

/// `tests/differential/starlette_probe.py` against whatever server listens on `port`.
fn probe(app: &str, port: u16) -> Value {
    probe_with(app, port, &[])
}

/// [`probe`] with more flags (`--methods`).
fn probe_with(app: &str, port: u16, flags: &[&str]) -> Value {
    let result = Command::new(venv().join("bin/python"))
        .arg(repo().join("tests/differential/starlette_probe.py"))
        .args(["--app", app, "--app-dir"])
        .arg(app_dir())
        .args(["--port", &port.to_string()])
        .args(flags)
        .output()
        .expect("starlette_probe.py runs");
    assert!(
        result.status.success(),
        "starlette_probe.py failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    serde_json::from_slice(&result.stdout).expect("starlette_probe.py prints JSON")
}

/// Classes the Starlette probe reports.
pub(crate) const CLASSES: [&str; 5] = [
    "canonical",
    "double_slash",
    "dot_segments",
    "invalid_utf8",
    "newline",
];

/// Refusals by design (README, "Starlette"): dot segments (nginx resolves them, Starlette
/// does not) and paths with a decoded newline (Starlette's `$` matches before a final
/// one, and a mount's `.*` stops at one).
pub(crate) const PRICED: [&str; 2] = ["dot_segments", "newline"];

/// Exact on every class but the priced ones, never a false allow anywhere.
fn check(report: &Value, label: &str) {
    check_classes(report, label, &CLASSES, &PRICED, false);
}

fn assert_exact(app: &str) {
    let out = generate(app, &[]);
    let nginx = Nginx::with_allowlist_and(out.path(), UNMERGED);
    check(&probe(app, nginx.port), &format!("starlette {app}"));
}

#[test]
fn plain_starlette_app_is_exact() {
    assert_exact("plain:app");
}

#[test]
fn fastapi_app_is_exact() {
    assert_exact("api:app");
}

/// Host routes: a literal host, a host pattern with the literal one before it taken out of
/// its parameter, an opaque app on a host; probed on each of their hosts (as written, in
/// upper case, with a port), on `localhost` and on hosts none of them matches.
#[test]
fn host_routes_are_exact() {
    let out = generate("hosts:app", &[]);
    let nginx = Nginx::with_allowlist_and(out.path(), UNMERGED);
    let report = probe("hosts:app", nginx.port);
    assert!(
        report["hosts"].as_array().is_some_and(|h| h.len() > 10),
        "{}",
        report["hosts"]
    );
    check(&report, "starlette hosts:app");
}

/// FastAPI's root_path set in code: every route under it and as it is, but what is under
/// the root is the root's (`/svc/svc/inner`, not `/svc/inner`).
#[test]
fn root_path_is_exact() {
    assert_exact("rooted:app");
}

/// A catch-all after mounted routers: everything but their prefixes, which they decide.
#[test]
fn catch_all_after_mounts_is_exact() {
    assert_exact("overlap:catchall");
}

#[test]
fn fastapi_app_is_exact_in_the_tree_layout() {
    let pass = TreePass::new();
    let out = generate("api:app", &pass.args());
    let nginx = Nginx::with_tree_and(out.path(), UNMERGED);
    check(
        &probe("api:app", nginx.port),
        "starlette api:app --layout tree",
    );
}

#[test]
fn plain_starlette_app_is_exact_in_the_module_layout() {
    let args = module_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = generate("plain:app", &args);
    let nginx = Nginx::with_module_and(out.path(), UNMERGED);
    check(
        &probe("plain:app", nginx.port),
        "starlette plain:app --layout module",
    );
}

/// `--source fastapi` is the same source, and `--factory` calls what `--app` names.
#[test]
fn fastapi_alias_and_factory_read_the_same_routes() {
    let read = |source: &str, app: &str, extra: &[&str]| {
        let mut args = vec!["routes", "--source", source, "--app", app];
        args.extend_from_slice(extra);
        args.extend(["--format", "json"]);
        let result = routewall(&app_dir(), &args);
        assert!(result.status.success(), "{}", stderr(&result));
        let table: Value = serde_json::from_slice(&result.stdout).expect("JSON");
        table["routes"].clone()
    };
    let plain = read("starlette", "api:app", &[]);
    assert!(plain.as_array().is_some_and(|r| r.len() > 20), "{plain}");
    assert_eq!(read("fastapi", "api:app", &[]), plain);
    assert_eq!(read("fastapi", "factory:create_app", &["--factory"]), plain);
}

/// uvicorn serving a fixture app on a free loopback port, stopped on drop.
struct Uvicorn {
    child: std::process::Child,
    port: u16,
}

impl Uvicorn {
    fn serve(app: &str) -> Uvicorn {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(venv().join("bin/python"))
            .args(["-m", "uvicorn", app, "--host", "127.0.0.1", "--port"])
            .arg(port.to_string())
            .args(["--no-access-log", "--log-level", "warning"])
            .current_dir(app_dir())
            .spawn()
            .expect("uvicorn starts");
        let server = Uvicorn { child, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("uvicorn did not listen on {port} within 10 s");
    }
}

impl Drop for Uvicorn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The truth the differential tests use (the app called through ASGI with its routes'
/// code stubbed) is what a real uvicorn serving the app answers: every probe sent to
/// both, the same verdict (where a real endpoint's own 404 or a WebSocket route cannot
/// be compared, the probe says so and skips it).
#[test]
fn the_truth_is_what_uvicorn_serves() {
    let server = Uvicorn::serve("plain:app");
    let result = Command::new(venv().join("bin/python"))
        .arg(repo().join("tests/differential/starlette_probe.py"))
        .args(["--app", "plain:app", "--app-dir"])
        .arg(app_dir())
        .args(["--dry-run", "--server-port", &server.port.to_string()])
        .output()
        .expect("starlette_probe.py runs");
    assert!(
        result.status.success(),
        "starlette_probe.py failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    let report: Value = serde_json::from_slice(&result.stdout).expect("JSON");
    let server = &report["server"];
    assert!(server["compared"].as_u64() > Some(1000), "{server:#}");
    assert_eq!(server["disagree"].as_u64(), Some(0), "{server:#}");
}

/// With `--methods`, each method probed: what a route accepts passes, another method on its
/// path gets nginx's 405 with the `Allow` Starlette sends (the first matching route's
/// methods, not the union: FastAPI's GET and PUT of `/v1/users/{user_id}` are two routes),
/// redirect_slashes' paths pass every method.
fn assert_exact_with_methods(app: &str) {
    let out = generate(app, &["--methods"]);
    let nginx = Nginx::with_allowlist_and(out.path(), UNMERGED);
    let report = probe_with(app, nginx.port, &["--methods"]);
    check_classes(
        &report,
        &format!("starlette {app} --methods"),
        &CLASSES,
        &PRICED,
        true,
    );
}

#[test]
fn fastapi_app_is_exact_with_methods() {
    assert_exact_with_methods("api:app");
}

#[test]
fn plain_starlette_app_is_exact_with_methods() {
    assert_exact_with_methods("plain:app");
}

/// An app that cannot be imported, or that is no Starlette app: one line naming the
/// cause, exit 2, nothing written.
#[test]
fn apps_that_cannot_be_read_are_named() {
    for (app, expected) in [
        ("missing:app", "no module `missing`"),
        ("api:nothing", "module `api` has no attribute `nothing`"),
        ("api", "uvicorn's notation"),
        ("factory:create_app", "is no Starlette or FastAPI app"),
        ("overlap:app", "overlaps the mounts `/api/`"),
        (
            "overlap:after_host",
            "comes after the Host route `api.example.org`",
        ),
        (
            "overlap:two_patterns",
            "`{sub}.example.org` and `a.{rest}` may match the same host",
        ),
    ] {
        let out = tempfile::tempdir().expect("tempdir");
        let result = generate_to("starlette", app, out.path(), &[]);
        assert_eq!(result.status.code(), Some(2), "{app}: {}", stderr(&result));
        assert!(
            stderr(&result).contains(expected),
            "{app}: {}",
            stderr(&result)
        );
        assert!(!out.path().join("location.conf").exists(), "{app}");
    }
}

/// The FastAPI fixture in the seed tool's layout (`--layout server`), set up as the
/// Django one is (tests/cli/django_server.rs): routewall's check first in a server that
/// also has a location nginx serves itself.
#[test]
fn fastapi_app_is_exact_in_the_server_layout() {
    use crate::django_server::{server_body, whole_config};
    use crate::support::nginx_binary;

    let app = Nginx::start("", "        location / { return 200 \"passed\\n\"; }");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("routewall");
    let body = dir.path().join("site.conf");
    std::fs::write(&body, server_body(&out, app.port)).expect("write the server body");
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, whole_config(dir.path(), &out, &body)).expect("write nginx.conf");
    let nginx_bin = nginx_binary();
    let generated = generate_to(
        "starlette",
        "api:app",
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
    let nginx = Nginx::start(
        &format!("    include {}/http.conf;", out.display()),
        &format!("        include {};\n{UNMERGED}", body.display()),
    );
    check(
        &probe("api:app", nginx.port),
        "starlette api:app --layout server",
    );
}

/// `routewall check` on a Starlette app: up to date right after generate, and the drift
/// named route by route when the app changes (the plain app has other routes).
#[test]
fn check_reports_drift_of_a_starlette_app() {
    let out = tempfile::tempdir().expect("tempdir");
    let check_as = |app: &str, extra: &[&str]| {
        let mut args = vec![
            "check", "--source", "fastapi", "--app", app, "--target", "nginx",
        ];
        args.extend(["--output", out.path().to_str().expect("utf-8")]);
        args.extend_from_slice(extra);
        routewall(&app_dir(), &args)
    };
    assert!(
        generate_to("fastapi", "api:app", out.path(), &[])
            .status
            .success()
    );
    let same = check_as("api:app", &[]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert!(stderr(&same).contains("up to date"), "{}", stderr(&same));
    let drift = check_as("plain:app", &[]);
    assert_eq!(drift.status.code(), Some(1), "{}", stderr(&drift));
    assert!(
        stderr(&drift).contains("+ /prices/{value:float}"),
        "{}",
        stderr(&drift)
    );
}
