//! The HAProxy target, a run-time plugin: built by the test, loaded with `--plugin`, and
//! measured against a real HAProxy with the same differential probes as nginx.

use std::path::Path;

use serde_json::Value;

use crate::differential::{CLASSES, count, probe_port, summarize};
use crate::plugins::{generate_with_plugin, plugin_library};
use crate::support::{Haproxy, app_dir, get_status, stderr, venv};

/// Generates the HAProxy output for `app` with the plugin loaded.
fn generate_haproxy(dir: &Path, app: &str, flags: &[&str]) -> tempfile::TempDir {
    let library = plugin_library("routewall-haproxy-target");
    let out = tempfile::tempdir().expect("tempdir");
    let result = generate_with_plugin(dir, &library, ["flask", app, "haproxy"], out.path(), flags);
    assert!(result.status.success(), "{}", stderr(&result));
    out
}

/// HAProxy checks the decoded path as the app sees it, with no dot-segment resolution in
/// between: every class is exact, except `//` on `merge_slashes=False` rules (merged before
/// the check, as nginx does) and, with methods, values a converter refuses in code.
fn assert_exact_behind_haproxy(dir: &Path, app: &str, label: &str) -> Value {
    check_behind_haproxy(dir, app, label, &[])
}

fn check_behind_haproxy(dir: &Path, app: &str, label: &str, flags: &[&str]) -> Value {
    let out = generate_haproxy(dir, app, flags);
    let haproxy = Haproxy::with_allowlist(out.path());
    let report = probe_port(dir, app, &venv(), &[], flags, haproxy.port);
    let line = summarize(
        format!("{label} (haproxy) {}", flags.join(" ")).trim_end(),
        &report,
    );
    assert!(count(&report, "canonical", "probes") > 50, "{line}");
    for class in CLASSES {
        let examples = &report["classes"][class]["examples"];
        let context = format!("{class}: {line}\nexamples: {examples:#}");
        if class != "converter_check" {
            assert_eq!(count(&report, class, "false_allows"), 0, "{context}");
        }
        if class != "unmerged_rule" {
            assert_eq!(count(&report, class, "false_denies"), 0, "{context}");
            assert_eq!(count(&report, class, "other"), 0, "{context}");
        }
    }
    report
}

#[test]
fn haproxy_target_is_exact_on_the_basic_app() {
    assert_exact_behind_haproxy(&app_dir("basic"), "app", "basic");
}

#[test]
fn a_nul_byte_does_not_cut_an_exact_path_short() {
    // HAProxy's exact-path tree compares up to a NUL; the app reads the whole path.
    let out = generate_haproxy(&app_dir("basic"), "app", &[]);
    let haproxy = Haproxy::with_allowlist(out.path());
    assert_eq!(get_status(haproxy.port, "/about"), 200);
    for path in ["/about%00", "/about%00.php", "/about%00/../../user/x"] {
        assert_eq!(get_status(haproxy.port, path), 404, "{path}");
    }
}

#[test]
fn haproxy_target_is_exact_on_hostile_rule_text() {
    assert_exact_behind_haproxy(&app_dir("special"), "app", "special");
}

#[test]
fn haproxy_target_is_exact_on_a_large_app_and_a_factory() {
    assert_exact_behind_haproxy(&app_dir("large"), "app", "large (332 rules)");
    assert_exact_behind_haproxy(
        &app_dir("factory"),
        "app:create_app(\"prod\")",
        "factory create_app(\"prod\")",
    );
}

#[test]
fn what_the_haproxy_target_cannot_check_is_refused_and_nothing_is_written() {
    let library = plugin_library("routewall-haproxy-target");
    let out = tempfile::tempdir().expect("tempdir");
    for (app, extra, cause) in [
        ("app", "--mode=monitor", "has no monitor mode yet"),
        ("app", "--reload", "--reload applies to --target nginx only"),
    ] {
        let result = generate_with_plugin(
            &app_dir("basic"),
            &library,
            ["flask", app, "haproxy"],
            out.path(),
            &[extra],
        );
        assert_eq!(result.status.code(), Some(2), "{}", stderr(&result));
        assert!(stderr(&result).contains(cause), "{}", stderr(&result));
    }
    let result = generate_with_plugin(
        &app_dir("hosts"),
        &library,
        ["flask", "app", "haproxy"],
        out.path(),
        &[],
    );
    assert_eq!(result.status.code(), Some(2), "{}", stderr(&result));
    assert!(
        stderr(&result).contains("does not check hosts yet"),
        "{}",
        stderr(&result)
    );
    assert_eq!(std::fs::read_dir(out.path()).expect("dir").count(), 0);
}

#[test]
fn haproxy_target_answers_405_with_the_apps_allow_header() {
    check_behind_haproxy(&app_dir("basic"), "app", "basic", &["--methods"]);
    check_behind_haproxy(&app_dir("validating"), "app", "validating", &["--methods"]);
}
