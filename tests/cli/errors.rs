//! Broken apps: exit code 2, one line naming the cause, nothing written.

use crate::support::{app_dir, assert_refused, routewall, stderr};

fn generate_fails(app_name: &str, spec: &str, expected: &str) {
    let out = tempfile::tempdir().expect("tempdir");
    let target = out.path().join("allowlist");
    let result = routewall(
        &app_dir(app_name),
        &[
            "generate",
            "--source",
            "flask",
            "--app",
            spec,
            "--target",
            "nginx",
            "--output",
            target.to_str().expect("utf-8"),
        ],
    );
    assert_refused(&result, &target, expected);
}

#[test]
fn an_import_error_inside_the_app_is_named() {
    generate_fails(
        "broken_import",
        "app",
        "No module named 'routewall_fixture_missing_db_driver'",
    );
}

#[test]
fn system_exit_during_import_is_an_error() {
    generate_fails("sysexit", "app", "SystemExit: 3");
}

#[test]
fn an_exception_during_import_is_an_error() {
    generate_fails("raises", "app", "RuntimeError: database is down");
}

#[test]
fn a_module_without_an_app_is_an_error() {
    generate_fails(
        "noapp",
        "app",
        "Failed to find Flask application or factory in module 'app'",
    );
}

#[test]
fn a_missing_attribute_is_an_error() {
    generate_fails("basic", "app:nosuch", "nosuch");
}

#[test]
fn a_missing_module_is_an_error() {
    generate_fails("basic", "nosuchmodule", "no module `nosuchmodule`");
}

#[test]
fn an_unknown_target_is_refused_before_importing() {
    generate_fails("raises", "app", "database is down");
    let result = routewall(
        &app_dir("raises"),
        &[
            "generate", "--source", "flask", "--app", "app", "--target", "apache", "--output", "x",
        ],
    );
    assert_eq!(result.status.code(), Some(2));
    assert!(
        stderr(&result).contains("unknown target `apache` (known: nginx)"),
        "{}",
        stderr(&result)
    );
}
