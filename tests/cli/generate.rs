//! `generate`, `routes` and `plugins` on working apps.

use crate::support::{Nginx, app_dir, generate, get_status, routewall, stderr};

#[test]
fn console_and_scanner_paths_get_nginx_404_and_routes_pass() {
    let out = generate(&app_dir("basic"), "app");
    let nginx = Nginx::with_allowlist(out.path());
    for denied in [
        "/console",
        "/.git/config",
        "/.env",
        "/about/",
        "/ABOUT",
        "/login%0A",
        "/status",
    ] {
        assert_eq!(get_status(nginx.port, denied), 404, "{denied}");
    }
    for allowed in [
        "/",
        "/about",
        "/docs",
        "/user/bob",
        "/item/42",
        "/static/app.css",
        "/ws/chat",
    ] {
        assert_eq!(get_status(nginx.port, allowed), 200, "{allowed}");
    }
}

#[test]
fn import_time_output_goes_to_stderr() {
    let result = routewall(
        &app_dir("printer"),
        &[
            "routes", "--source", "flask", "--app", "app", "--format", "json",
        ],
    );
    assert!(result.status.success(), "{}", stderr(&result));
    let table: serde_json::Value =
        serde_json::from_slice(&result.stdout).expect("stdout is only JSON");
    assert_eq!(table["source"], "flask");
    assert!(stderr(&result).contains("hello from import"));
}

#[test]
fn both_python_transports_read_the_same_table() {
    let dir = app_dir("basic");
    let read = |mode: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_routewall"))
            .args([
                "routes", "--source", "flask", "--app", "app", "--format", "json",
            ])
            .current_dir(&dir)
            .env("VIRTUAL_ENV", crate::support::venv())
            .env(routewall_flask::MODE_VARIABLE, mode)
            .output()
            .expect("runs");
        assert!(out.status.success(), "{mode}: {}", stderr(&out));
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let in_process = read("in-process");
    assert!(in_process.contains("\"/user/<username>\""));
    assert_eq!(in_process, read("subprocess"));
}

#[test]
fn plugins_list_shows_every_built_in() {
    let result = routewall(&app_dir("basic"), &["plugins", "list"]);
    let text = String::from_utf8_lossy(&result.stdout);
    assert!(
        text.contains("source  flask") && text.contains("target  nginx"),
        "{text}"
    );
}

#[test]
fn a_failed_validation_keeps_the_previous_files() {
    let out = generate(&app_dir("basic"), "app");
    let before = std::fs::read(out.path().join("http.conf")).expect("written");
    // An nginx that rejects everything: `false` stands in for the binary's verdict.
    let result = routewall(
        &app_dir("factory"),
        &[
            "generate",
            "--source",
            "flask",
            "--app",
            "app:create_app()",
            "--target",
            "nginx",
            "--output",
            out.path().to_str().expect("utf-8"),
            "--server-binary",
            "/bin/false",
        ],
    );
    assert_eq!(result.status.code(), Some(2), "{}", stderr(&result));
    assert!(stderr(&result).contains("rejected"), "{}", stderr(&result));
    assert_eq!(
        std::fs::read(out.path().join("http.conf")).expect("still there"),
        before
    );
}

#[test]
fn version_names_the_embedded_python() {
    let result = routewall(&app_dir("basic"), &["--version"]);
    let text = String::from_utf8_lossy(&result.stdout);
    assert!(text.contains("embedded Python: Python 3."), "{text}");
}
