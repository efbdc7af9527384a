//! The Django source: the fixture project read through the CLI, its broken twins refused,
//! and the differential test against Django's own request handling behind a real nginx.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::differential::{check_classes, count, summarize};
use crate::support::{
    Nginx, TreePass, UNMERGED, assert_refused, module_args, repo, routewall, stderr, venv,
};

/// The fixture projects' directory (the one `manage.py` sits in).
fn project_dir() -> PathBuf {
    repo().join("tests/fixtures/django")
}

/// `routewall generate --source django --app SETTINGS --target nginx --output OUT EXTRA…`.
pub(crate) fn generate_to(settings: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "generate", "--source", "django", "--app", settings, "--target", "nginx",
    ];
    args.extend(["--output", out.to_str().expect("utf-8")]);
    args.extend_from_slice(extra);
    routewall(&project_dir(), &args)
}

fn generate(settings: &str, extra: &[&str]) -> tempfile::TempDir {
    let out = tempfile::tempdir().expect("tempdir");
    let result = generate_to(settings, out.path(), extra);
    assert!(
        result.status.success(),
        "generate {settings} {extra:?} failed: {}",
        stderr(&result)
    );
    out
}

/// `tests/differential/django_probe.py` against whatever server listens on `port`.
pub(crate) fn probe(settings: &str, urlconf: Option<&str>, port: u16) -> Value {
    probe_with(settings, urlconf, port, &[])
}

/// [`probe`] with more flags (`--methods`).
fn probe_with(settings: &str, urlconf: Option<&str>, port: u16, flags: &[&str]) -> Value {
    let mut command = Command::new(venv().join("bin/python"));
    command
        .arg(repo().join("tests/differential/django_probe.py"))
        .args(["--settings", settings, "--app-dir"])
        .arg(project_dir())
        .args(["--port", &port.to_string()]);
    if let Some(urlconf) = urlconf {
        command.args(["--urlconf", urlconf]);
    }
    command.args(flags);
    let result = command.output().expect("django_probe.py runs");
    assert!(
        result.status.success(),
        "django_probe.py failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    serde_json::from_slice(&result.stdout).expect("django_probe.py prints JSON")
}

/// Classes the Django probe reports.
pub(crate) const CLASSES: [&str; 4] = ["canonical", "double_slash", "dot_segments", "invalid_utf8"];

/// Refusals by design (README, "Django"): dot segments (nginx resolves them, Django does
/// not).
pub(crate) const PRICED: [&str; 1] = ["dot_segments"];

/// Exact on every class but dot segments, never a false allow anywhere: the verdict on a
/// project served by nginx with `merge_slashes off;` ([`UNMERGED`], the reference
/// deployment).
pub(crate) fn check(report: &Value, label: &str) {
    check_classes(report, label, &CLASSES, &PRICED, false);
}

/// [`check`] for nginx that merges slashes (its default): the allowlist cannot see the
/// `//` Django routes, so it refuses every one of them, and never lets one through.
pub(crate) fn check_merged(report: &Value, label: &str) {
    check_classes(
        report,
        label,
        &CLASSES,
        &["dot_segments", "double_slash"],
        false,
    );
}

/// nginx serving the allowlist in `out` the way Django is deployed ([`UNMERGED`]).
pub(crate) fn serve(out: &Path) -> Nginx {
    Nginx::with_allowlist_and(out, UNMERGED)
}

fn assert_exact(settings: &str, urlconf: Option<&str>, extra: &[&str]) {
    let mut flags: Vec<&str> = extra.to_vec();
    if let Some(urlconf) = urlconf {
        flags.extend(["--urlconf", urlconf]);
    }
    let out = generate(settings, &flags);
    let nginx = serve(out.path());
    let label = format!("django {settings} {}", urlconf.unwrap_or(""));
    check(&probe(settings, urlconf, nginx.port), label.trim_end());
}

#[test]
fn fixture_project_is_exact() {
    assert_exact("mysite.settings", None, &[]);
}

/// Behind nginx that merges slashes, the `//` paths Django routes are refused (nginx
/// checked their merged twin), and nothing else changes.
#[test]
fn fixture_project_behind_merging_nginx_refuses_double_slashes_only() {
    let out = generate("mysite.settings", &[]);
    let nginx = Nginx::with_allowlist(out.path());
    let report = probe("mysite.settings", None, nginx.port);
    check_merged(&report, "django mysite.settings, nginx merging slashes");
    assert!(
        count(&report, "double_slash", "false_denies") > 0,
        "the fixture routes some `//` paths: {}",
        summarize("merging", &report)
    );
}

#[test]
fn fixture_project_without_append_slash_is_exact() {
    assert_exact("mysite.settings_noslash", None, &[]);
}

#[test]
fn unprefixed_default_language_is_exact() {
    assert_exact("mysite.settings", Some("mysite.urls_nodefault"), &[]);
}

#[test]
fn hostile_pattern_text_is_exact() {
    assert_exact("mysite.settings", Some("mysite.urls_hostile"), &[]);
}

#[test]
fn fixture_project_is_exact_in_the_tree_layout() {
    let pass = TreePass::new();
    let out = generate("mysite.settings", &pass.args());
    let nginx = Nginx::with_tree_and(out.path(), UNMERGED);
    check(
        &probe("mysite.settings", None, nginx.port),
        "django mysite.settings --layout tree",
    );
}

#[test]
fn fixture_project_is_exact_in_the_module_layout() {
    let args = module_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = generate("mysite.settings", &args);
    let nginx = Nginx::with_module_and(out.path(), UNMERGED);
    check(
        &probe("mysite.settings", None, nginx.port),
        "django mysite.settings --layout module",
    );
}

/// The route table as `routewall routes --format json` prints it, forced through one
/// transport.
fn routes_json(mode: &str) -> Value {
    let result = Command::new(env!("CARGO_BIN_EXE_routewall"))
        .args(["routes", "--source", "django", "--app", "mysite.settings"])
        .args(["--format", "json"])
        .current_dir(project_dir())
        .env("VIRTUAL_ENV", venv())
        .env(routewall_flask::MODE_VARIABLE, mode)
        .output()
        .expect("routewall runs");
    assert!(result.status.success(), "{}", stderr(&result));
    let mut table: Value = serde_json::from_slice(&result.stdout).expect("JSON");
    table["read_by"] = Value::Null;
    table
}

#[test]
fn both_transports_read_the_same_table() {
    let in_process = routes_json("in-process");
    assert_eq!(in_process, routes_json("subprocess"));
    let rules: Vec<&str> = in_process["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .filter_map(|r| r["rule"].as_str())
        .collect();
    assert!(rules.len() > 30, "{rules:?}");
    assert!(
        rules.iter().any(|r| r.starts_with("/fr/")),
        "every language of LANGUAGES is read: {rules:?}"
    );
    assert!(
        rules.iter().any(|r| r.starts_with("/admin/")),
        "the admin's URLs are read: {rules:?}"
    );
}

fn refused(settings: &str, extra: &[&str], expected: &str) {
    let out = tempfile::tempdir().expect("tempdir");
    let target = out.path().join("allowlist");
    let result = generate_to(settings, &target, extra);
    assert_refused(&result, &target, expected);
}

#[test]
fn a_missing_settings_module_is_named() {
    refused(
        "nosuchsite.settings",
        &[],
        "no settings module `nosuchsite.settings`",
    );
}

#[test]
fn settings_that_fail_to_import_are_named() {
    refused("broken.settings", &[], "ModuleNotFoundError");
}

#[test]
fn a_broken_urlconf_is_named() {
    refused("brokenurls.settings", &[], "cannot read the URLconf");
}

#[test]
fn a_missing_urlconf_is_named() {
    refused(
        "mysite.settings",
        &["--urlconf", "mysite.nosuchurls"],
        "cannot read the URLconf `mysite.nosuchurls`",
    );
}

#[test]
fn the_urlconf_option_is_djangos_only() {
    let out = tempfile::tempdir().expect("tempdir");
    let target = out.path().join("allowlist");
    let result = routewall(
        &repo().join("tests/fixtures/apps/basic"),
        &[
            "generate",
            "--source",
            "flask",
            "--app",
            "app",
            "--urlconf",
            "x.urls",
            "--target",
            "nginx",
            "--output",
            target.to_str().expect("utf-8"),
        ],
    );
    assert_refused(
        &result,
        &target,
        "the flask source takes no option 'urlconf'",
    );
}

#[test]
fn unicode_word_classes_are_exact() {
    assert_exact("mysite.settings", Some("mysite.urls_word"), &[]);
}

#[test]
fn the_tree_layout_refuses_unicode_word_classes() {
    let pass = TreePass::new();
    refused(
        "mysite.settings",
        &[&["--urlconf", "mysite.urls_word"][..], &pass.args()].concat(),
        "over the 4000 nginx allows in one regex",
    );
}

#[test]
fn a_case_insensitive_regex_is_refused_with_the_reason() {
    refused(
        "mysite.settings",
        &["--urlconf", "mysite.urls_refused_caseless"],
        "(?i)",
    );
}

/// With `--methods` (README, "Django"): what nginx lets through per method against what
/// Django dispatches to the view's code (`django_probe.py --methods`: the views' innermost
/// code stubbed, Django's own dispatch and decorators kept). Exact on canonical paths and
/// invalid UTF-8, refusals with Django's own status and `Allow`; in the classes refused by
/// design nginx's 404 may stand where Django would answer 405 (`other`).
fn check_methods(report: &Value, label: &str) {
    let line = summarize(label, report);
    assert!(
        count(report, "canonical", "probes") > 1000,
        "too few probes: {line}"
    );
    assert!(
        count(report, "canonical", "truth_allowed") > 100,
        "too few allowed probes: {line}"
    );
    for class in CLASSES {
        let examples = &report["classes"][class]["examples"];
        let context = format!("{class}: {line}\nexamples: {examples:#}");
        assert_eq!(count(report, class, "false_allows"), 0, "{context}");
        if !PRICED.contains(&class) {
            assert_eq!(count(report, class, "false_denies"), 0, "{context}");
            assert_eq!(count(report, class, "other"), 0, "{context}");
        }
    }
}

/// Status and `Allow` header of `METHOD path` on 127.0.0.1:port.
fn ask(port: u16, method: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let allow = response
        .lines()
        .find_map(|l| l.strip_prefix("Allow: "))
        .unwrap_or("")
        .to_owned();
    (status, allow)
}

/// The URLconf of views that say which methods they take.
const METHODS_URLCONF: &str = "mysite.urls_methods";

#[test]
fn methods_of_views_are_enforced_exactly() {
    let out = generate(
        "mysite.settings",
        &["--urlconf", METHODS_URLCONF, "--methods"],
    );
    let nginx = serve(out.path());
    let answers = |method: &str, path: &str| ask(nginx.port, method, path);
    // A class-based view: its handlers, HEAD lent by get, OPTIONS by View.options.
    assert_eq!(answers("PUT", "/"), (405, "GET, HEAD, OPTIONS".to_owned()));
    assert_eq!(answers("HEAD", "/").0, 200);
    assert_eq!(
        answers("GET", "/submit/"),
        (405, "OPTIONS, POST".to_owned())
    );
    // require_GET: HEAD is Django's 405 too; login_required over require_http_methods.
    assert_eq!(answers("HEAD", "/get/"), (405, "GET".to_owned()));
    assert_eq!(answers("POST", "/members/"), (405, "GET, PUT".to_owned()));
    assert_eq!(answers("PUT", "/members/").0, 200);
    // APPEND_SLASH and LocaleMiddleware redirect whatever the method.
    assert_eq!(answers("DELETE", "/get").0, 200);
    assert_eq!(answers("GET", "/hello/").0, 200);
    assert_eq!(
        answers("GET", "/en/hello/"),
        (405, "OPTIONS, POST".to_owned())
    );
    // Views that do not say: every method.
    assert_eq!(answers("DELETE", "/any/").0, 200);
    assert_eq!(answers("FOO", "/object/").0, 200);
    check_methods(
        &probe_with(
            "mysite.settings",
            Some(METHODS_URLCONF),
            nginx.port,
            &["--methods"],
        ),
        "django mysite.urls_methods --methods",
    );
}

#[test]
fn without_the_methods_flag_every_method_passes() {
    let out = generate("mysite.settings", &["--urlconf", METHODS_URLCONF]);
    let nginx = serve(out.path());
    // Django answers these 405 itself.
    assert_eq!(ask(nginx.port, "PUT", "/get/"), (200, String::new()));
    assert_eq!(ask(nginx.port, "GET", "/submit/"), (200, String::new()));
    check(
        &probe("mysite.settings", Some(METHODS_URLCONF), nginx.port),
        "django mysite.urls_methods",
    );
}
