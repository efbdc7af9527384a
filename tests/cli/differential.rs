//! The differential test: what nginx with our output lets through, against what
//! Werkzeug's own router matches, over thousands of generated request paths per app.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{Nginx, app_dir, generate, repo, venv};

/// Runs `tests/differential/probe.py` against nginx serving `app`'s allowlist and returns
/// its report.
fn probe(dir: &Path, app: &str) -> Value {
    let out = generate(dir, app);
    let nginx = Nginx::with_allowlist(out.path());
    let result = Command::new(venv().join("bin/python"))
        .arg(repo().join("tests/differential/probe.py"))
        .args(["--app", app, "--app-dir"])
        .arg(dir)
        .args(["--port", &nginx.port.to_string()])
        .output()
        .expect("probe.py runs");
    assert!(
        result.status.success(),
        "probe.py failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    serde_json::from_slice(&result.stdout).expect("probe.py prints JSON")
}

fn count(report: &Value, class: &str, field: &str) -> u64 {
    report["classes"][class][field]
        .as_u64()
        .unwrap_or_else(|| panic!("no {class}.{field} in {report}"))
}

/// One line per class, also appended to target/differential-report.txt for the README.
fn summarize(app_label: &str, report: &Value) -> String {
    let mut line = format!("{app_label:<28}");
    for class in ["canonical", "non_canonical", "invalid_utf8"] {
        line.push_str(&format!(
            " | {class}: {} probes, {} false allows, {} false denies, {} other",
            count(report, class, "probes"),
            count(report, class, "false_allows"),
            count(report, class, "false_denies"),
            count(report, class, "other"),
        ));
    }
    let path = repo().join("target/differential-report.txt");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        use std::io::Write;
        let _ = writeln!(f, "{line}");
    }
    eprintln!("{line}");
    line
}

fn assert_exact_on_canonical(dir: &Path, app: &str, label: &str) {
    let report = probe(dir, app);
    let line = summarize(label, &report);
    assert!(
        count(&report, "canonical", "probes") > 50,
        "too few probes: {line}"
    );
    let wrong =
        count(&report, "canonical", "false_allows") + count(&report, "canonical", "false_denies");
    assert_eq!(
        wrong, 0,
        "{line}\nexamples: {:#}",
        report["classes"]["canonical"]["examples"]
    );
    assert_eq!(count(&report, "canonical", "other"), 0, "{line}");
}

#[test]
fn basic_app_is_exact() {
    assert_exact_on_canonical(&app_dir("basic"), "app", "basic");
}

#[test]
fn hostile_rule_text_is_exact() {
    assert_exact_on_canonical(&app_dir("special"), "app", "special");
}

#[test]
fn root_parameter_app_is_exact() {
    assert_exact_on_canonical(&app_dir("special"), "rootword:app", "special rootword:app");
}

#[test]
fn factory_apps_are_exact() {
    assert_exact_on_canonical(
        &app_dir("factory"),
        "app:create_app()",
        "factory create_app()",
    );
    assert_exact_on_canonical(
        &app_dir("factory"),
        "app:create_app(\"prod\")",
        "factory create_app(\"prod\")",
    );
}

#[test]
fn validating_converters_are_exact_at_path_level() {
    // Werkzeug checks methods before to_python, so `/x/11` (int(max=10)) is a 405 for POST:
    // at path level the converter regex alone is exact.
    assert_exact_on_canonical(&app_dir("validating"), "app", "validating");
}

#[test]
fn large_app_with_split_regexes_is_exact() {
    assert_exact_on_canonical(&app_dir("large"), "app", "large (332 rules)");
}
