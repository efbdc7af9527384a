//! The OpenAPI source, a run-time plugin: built by the test, loaded with `--plugin`, its
//! nginx output measured against `tests/differential/openapi_probe.py`, an oracle that
//! reads the same document with jsonschema.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::differential::{CLASSES, count, summarize};
use crate::plugins::{generate_with_plugin, plugin_library};
use crate::support::{Nginx, repo, stderr, venv};

fn fixtures() -> PathBuf {
    repo().join("plugins/openapi-source/tests/fixtures")
}

/// `routewall --plugin … generate --source openapi --app SPEC --target nginx` in the
/// fixtures directory.
fn generate(spec: &str, flags: &[&str]) -> tempfile::TempDir {
    let library = plugin_library("routewall-openapi-source");
    let out = tempfile::tempdir().expect("tempdir");
    let result = generate_with_plugin(
        &fixtures(),
        &library,
        ["openapi", spec, "nginx"],
        out.path(),
        flags,
    );
    assert!(result.status.success(), "{}", stderr(&result));
    out
}

fn probe(spec: &str, out: &Path, flags: &[&str]) -> Value {
    let nginx = Nginx::with_allowlist(out);
    let result = Command::new(venv().join("bin/python"))
        .arg(repo().join("tests/differential/openapi_probe.py"))
        .arg("--spec")
        .arg(fixtures().join(spec))
        .args(["--port", &nginx.port.to_string()])
        .args(flags)
        .output()
        .expect("openapi_probe.py runs");
    assert!(
        result.status.success(),
        "openapi_probe.py failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    serde_json::from_slice(&result.stdout).expect("openapi_probe.py prints JSON")
}

/// Exact in every class, `//` and dot segments included (the routes do not merge slashes,
/// and no OpenAPI path holds a dot segment the probes reach); only values the document
/// constrains beyond a regex (`minimum: 1`, `maximum`) pass nginx and are the app's to
/// refuse.
fn assert_exact(spec: &str, methods: bool) {
    let flags: &[&str] = if methods { &["--methods"] } else { &[] };
    let out = generate(spec, flags);
    let report = probe(spec, out.path(), flags);
    let label = format!("openapi {spec}{}", if methods { " --methods" } else { "" });
    let line = summarize(&label, &report);
    assert!(count(&report, "canonical", "probes") > 300, "{line}");
    for class in CLASSES {
        let examples = &report["classes"][class]["examples"];
        let context = format!("{class}: {line}\nexamples: {examples:#}");
        if class != "converter_check" {
            assert_eq!(count(&report, class, "false_allows"), 0, "{context}");
            assert_eq!(count(&report, class, "other"), 0, "{context}");
        }
        assert_eq!(count(&report, class, "false_denies"), 0, "{context}");
    }
}

#[test]
fn openapi_30_yaml_is_exact_behind_nginx() {
    assert_exact("petstore.yaml", false);
}

#[test]
fn openapi_31_json_is_exact_behind_nginx() {
    assert_exact("api31.json", false);
}

#[test]
fn openapi_methods_are_exact_behind_nginx() {
    assert_exact("petstore.yaml", true);
    assert_exact("api31.json", true);
}

#[test]
fn a_broken_document_is_a_one_line_error_and_nothing_is_written() {
    let library = plugin_library("routewall-openapi-source");
    let out = tempfile::tempdir().expect("tempdir");
    let result = generate_with_plugin(
        &fixtures(),
        &library,
        ["openapi", "broken/external_ref.yaml", "nginx"],
        out.path(),
        &[],
    );
    assert_eq!(result.status.code(), Some(2), "{}", stderr(&result));
    let message = stderr(&result);
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert!(
        message.contains("broken/external_ref.yaml") && message.contains("ref"),
        "{message}"
    );
    assert_eq!(std::fs::read_dir(out.path()).expect("dir").count(), 0);
}
