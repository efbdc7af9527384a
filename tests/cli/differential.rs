//! The differential test: what nginx with our output lets through, against what
//! Werkzeug's own router matches, over thousands of generated request paths per app.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{Nginx, TreePass, app_dir, generate_with, module_args, repo, venv};

/// Runs `tests/differential/probe.py` against nginx serving `app`'s allowlist (generated
/// and probed with `--methods` when `methods`) and returns its report.
fn probe(dir: &Path, app: &str, methods: bool) -> Value {
    let flags: &[&str] = if methods { &["--methods"] } else { &[] };
    let out = generate_with(dir, app, flags);
    run_probe(dir, app, &venv(), &[], flags, out.path())
}

/// [`probe`] with the tree layout (`--layout tree`).
fn probe_tree(dir: &Path, app: &str) -> Value {
    let pass = TreePass::new();
    let out = generate_with(dir, app, &pass.args());
    let nginx = Nginx::with_tree(out.path());
    probe_port(dir, app, &venv(), &[], &[], nginx.port)
}

/// [`probe`] with the module layout (`--layout module`, routewall's nginx module loaded).
fn probe_module(dir: &Path, app: &str) -> Value {
    let args = module_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = generate_with(dir, app, &args);
    let nginx = Nginx::with_module(out.path());
    probe_port(dir, app, &venv(), &[], &[], nginx.port)
}

/// `probe.py` with `venv`'s Python and extra environment, against nginx serving `out`.
fn run_probe(
    dir: &Path,
    app: &str,
    venv: &Path,
    env: &[(String, String)],
    flags: &[&str],
    out: &Path,
) -> Value {
    let nginx = Nginx::with_allowlist(out);
    probe_port(dir, app, venv, env, flags, nginx.port)
}

/// `probe.py` against whatever server listens on `port`.
pub(crate) fn probe_port(
    dir: &Path,
    app: &str,
    venv: &Path,
    env: &[(String, String)],
    flags: &[&str],
    port: u16,
) -> Value {
    let result = Command::new(venv.join("bin/python"))
        .arg(repo().join("tests/differential/probe.py"))
        .args(["--app", app, "--app-dir"])
        .arg(dir)
        .args(["--port", &port.to_string()])
        .args(flags)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("probe.py runs");
    assert!(
        result.status.success(),
        "probe.py failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    serde_json::from_slice(&result.stdout).expect("probe.py prints JSON")
}

/// The probe classes, as `probe.py` reports them.
pub(crate) const CLASSES: [&str; 8] = [
    "canonical",
    "double_slash",
    "unmerged_rule",
    "dot_segments",
    "invalid_utf8",
    "debugger_query",
    "converter_check",
    "non_ascii_host",
];

/// Classes where nginx refuses some requests the app would answer, by design (README,
/// "Correctness"): dot segments (nginx resolves them, the app does not) and `//` paths of
/// `merge_slashes=False` rules (nginx merges them before the allowlist sees them).
const PRICED: [&str; 3] = ["dot_segments", "unmerged_rule", "non_ascii_host"];

/// With `--methods`: requests the app refuses only because a converter's to_python
/// rejected the value (`int(fixed_digits=4)` on `GET /year/7`); nginx cannot run Python.
const UNCHECKABLE: [&str; 1] = ["converter_check"];

pub(crate) fn count(report: &Value, class: &str, field: &str) -> u64 {
    report["classes"][class][field]
        .as_u64()
        .unwrap_or_else(|| panic!("no {class}.{field} in {report}"))
}

/// One line per app, also appended to target/differential-report.txt, which
/// `tests/differential/report_table.py` turns into the README's table.
pub(crate) fn summarize(app_label: &str, report: &Value) -> String {
    let mut line = format!("{app_label:<28}");
    for class in CLASSES {
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

/// The allowlist's promise: exact on every URI nginx and the app read alike (canonical
/// paths, `//`, invalid UTF-8), the debugger query refused everywhere, never a false
/// allow in the [`PRICED`] classes, and (with methods) the app's own 404 or 405 + `Allow`.
fn check(report: &Value, label: &str) {
    let line = summarize(label, report);
    assert!(
        count(report, "canonical", "probes") > 50,
        "too few probes: {line}"
    );
    for class in CLASSES {
        let examples = &report["classes"][class]["examples"];
        let context = format!("{class}: {line}\nexamples: {examples:#}");
        if !UNCHECKABLE.contains(&class) {
            assert_eq!(count(report, class, "false_allows"), 0, "{context}");
        }
        if !PRICED.contains(&class) {
            assert_eq!(count(report, class, "false_denies"), 0, "{context}");
            assert_eq!(count(report, class, "other"), 0, "{context}");
        }
    }
    assert!(count(report, "debugger_query", "probes") > 0, "{line}");
}

fn assert_exact(dir: &Path, app: &str, label: &str) {
    check(&probe(dir, app, false), label);
}

fn assert_tree_exact(dir: &Path, app: &str, label: &str) {
    check(&probe_tree(dir, app), &format!("{label} --layout tree"));
}

fn assert_module_exact(dir: &Path, app: &str, label: &str) {
    check(&probe_module(dir, app), &format!("{label} --layout module"));
}

fn assert_exact_with_methods(dir: &Path, app: &str, label: &str) {
    check(&probe(dir, app, true), &format!("{label} --methods"));
}

#[test]
fn basic_app_is_exact() {
    assert_exact(&app_dir("basic"), "app", "basic");
}

#[test]
fn hostile_rule_text_is_exact() {
    assert_exact(&app_dir("special"), "app", "special");
}

#[test]
fn root_parameter_app_is_exact() {
    assert_exact(&app_dir("special"), "rootword:app", "special rootword:app");
}

#[test]
fn factory_apps_are_exact() {
    assert_exact(
        &app_dir("factory"),
        "app:create_app()",
        "factory create_app()",
    );
    assert_exact(
        &app_dir("factory"),
        "app:create_app(\"prod\")",
        "factory create_app(\"prod\")",
    );
}

#[test]
fn validating_converters_are_exact_at_path_level() {
    // Werkzeug checks methods before to_python, so `/x/11` (int(max=10)) is a 405 for POST:
    // at path level the converter regex alone is exact.
    assert_exact(&app_dir("validating"), "app", "validating");
}

#[test]
fn large_app_with_split_regexes_is_exact() {
    assert_exact(&app_dir("large"), "app", "large (332 rules)");
}

#[test]
fn host_matching_app_is_exact_on_every_host() {
    let report = probe(&app_dir("hosts"), "app", false);
    assert_hosts_probed(&report);
    check(&report, "hosts");
}

#[test]
fn subdomain_app_is_exact_on_every_host() {
    let report = probe(&app_dir("subdomains"), "app", false);
    assert_hosts_probed(&report);
    check(&report, "subdomains");
}

#[test]
fn methods_host_matching_app_is_exact() {
    assert_exact_with_methods(&app_dir("hosts"), "app", "hosts");
}

#[test]
fn methods_subdomain_app_is_exact() {
    assert_exact_with_methods(&app_dir("subdomains"), "app", "subdomains");
}

/// The host apps' probes go out with many Host headers, and the app answers some paths on
/// some of them only: a path allowlist that ignored the host could not be exact.
fn assert_hosts_probed(report: &Value) {
    let hosts: std::collections::BTreeSet<&str> = report["hosts"]
        .as_array()
        .expect("a host app's report lists its hosts")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(hosts.len() > 10, "{hosts:?}");
    assert!(
        count(report, "canonical", "truth_allowed") < count(report, "canonical", "probes") / 2,
        "most host and path pairs should be refused by the app"
    );
}

#[test]
fn methods_basic_app_is_exact() {
    assert_exact_with_methods(&app_dir("basic"), "app", "basic");
}

#[test]
fn methods_hostile_rule_text_is_exact() {
    assert_exact_with_methods(&app_dir("special"), "app", "special");
}

#[test]
fn methods_validating_converters_are_counted() {
    assert_exact_with_methods(&app_dir("validating"), "app", "validating");
}

#[test]
fn methods_factory_app_is_exact() {
    assert_exact_with_methods(
        &app_dir("factory"),
        "app:create_app()",
        "factory create_app()",
    );
}

/// The real applications of `tests/realapps/apps.json` (installed from PyPI into
/// `.venv-realapps` by `scripts/setup.sh`), each read by `routewall generate --venv`.
fn assert_real_app_exact(name: &str, methods: bool) {
    assert_real_app_exact_behind(name, methods, Server::Nginx);
}

/// What serves a real app's allowlist in [`assert_real_app_exact_behind`].
#[derive(Clone, Copy)]
enum Server<'a> {
    /// nginx, the default (location) layout.
    Nginx,
    /// nginx, `--layout tree`.
    NginxTree,
    /// nginx with routewall's module, `--layout module`.
    NginxModule,
    /// HAProxy, with the HAProxy plugin's library.
    Haproxy(&'a Path),
}

/// [`assert_real_app_exact`] behind the given server.
fn assert_real_app_exact_behind(name: &str, methods: bool, server: Server<'_>) {
    let haproxy = match server {
        Server::Haproxy(library) => Some(library),
        _ => None,
    };
    let pass = TreePass::new();
    let module = module_args();
    let module: Vec<&str> = module.iter().map(String::as_str).collect();
    let tree_flags: &[&str] = match server {
        Server::NginxTree => &pass.args(),
        Server::NginxModule => &module,
        _ => &[],
    };
    let flags: &[&str] = if methods { &["--methods"] } else { &[] };
    let apps: Value = serde_json::from_slice(
        &std::fs::read(repo().join("tests/realapps/apps.json")).expect("apps.json"),
    )
    .expect("json");
    let app = apps
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["name"] == name)
        .expect(name);
    let spec = app["app"].as_str().expect("app");
    let dir = repo().join(app["dir"].as_str().expect("dir"));
    let env: Vec<(String, String)> = app["env"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    let venv = std::env::var_os("ROUTEWALL_REALAPPS_VENV")
        .map_or_else(|| repo().join(".venv-realapps"), Into::into);
    assert!(
        venv.join("pyvenv.cfg").is_file(),
        "no {} — run scripts/setup.sh",
        venv.display()
    );
    let out = tempfile::tempdir().expect("tempdir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_routewall"));
    if let Some(library) = haproxy {
        command.arg("--plugin").arg(library);
    }
    let target = if haproxy.is_some() {
        "haproxy"
    } else {
        "nginx"
    };
    let generated = command
        .args([
            "generate", "--source", "flask", "--app", spec, "--target", target, "--venv",
        ])
        .arg(&venv)
        .arg("--output")
        .arg(out.path())
        .args(flags)
        .args(tree_flags)
        .current_dir(&dir)
        .env_remove("VIRTUAL_ENV")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("routewall runs");
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("routes.json")).expect("manifest"))
            .expect("json");
    let rules = manifest["routes"].as_array().map_or(0, Vec::len) as u64;
    assert_eq!(
        Some(rules),
        app["rules"].as_u64(),
        "{name}: the pinned app changed its rules"
    );
    let label = format!(
        "{name} ({rules} rules){}{}",
        match server {
            Server::Nginx => "",
            Server::NginxTree => " --layout tree",
            Server::NginxModule => " --layout module",
            Server::Haproxy(_) => " (haproxy)",
        },
        if methods { " --methods" } else { "" }
    );
    let report = match server {
        Server::Haproxy(_) => {
            let server = crate::support::Haproxy::with_allowlist(out.path());
            probe_port(&dir, spec, &venv, &env, flags, server.port)
        }
        Server::NginxTree => {
            let server = Nginx::with_tree(out.path());
            probe_port(&dir, spec, &venv, &env, flags, server.port)
        }
        Server::NginxModule => {
            let server = Nginx::with_module(out.path());
            probe_port(&dir, spec, &venv, &env, flags, server.port)
        }
        Server::Nginx => run_probe(&dir, spec, &venv, &env, flags, out.path()),
    };
    check(&report, &label);
}

#[test]
fn real_app_mlflow_server_is_exact_behind_haproxy() {
    let library = crate::plugins::plugin_library("routewall-haproxy-target");
    assert_real_app_exact_behind("mlflow-server", false, Server::Haproxy(&library));
}

#[test]
fn real_app_mlflow_server_is_exact() {
    assert_real_app_exact("mlflow-server", false);
}

#[test]
fn real_app_mlflow_server_methods_are_exact() {
    assert_real_app_exact("mlflow-server", true);
}

#[test]
fn real_app_canaille_is_exact() {
    assert_real_app_exact("canaille", false);
}

#[test]
fn real_app_canaille_methods_are_exact() {
    assert_real_app_exact("canaille", true);
}

#[test]
fn real_app_beets_web_is_exact() {
    assert_real_app_exact("beets-web", false);
}

#[test]
fn real_app_beets_web_methods_are_exact() {
    assert_real_app_exact("beets-web", true);
}

#[test]
fn real_app_canaille_is_exact_behind_haproxy_with_methods() {
    let library = crate::plugins::plugin_library("routewall-haproxy-target");
    assert_real_app_exact_behind("canaille", true, Server::Haproxy(&library));
}

#[test]
fn tree_layout_basic_app_is_exact() {
    assert_tree_exact(&app_dir("basic"), "app", "basic");
}

#[test]
fn tree_layout_hostile_rule_text_is_exact() {
    assert_tree_exact(&app_dir("special"), "app", "special");
    assert_tree_exact(&app_dir("special"), "rootword:app", "special rootword:app");
}

#[test]
fn tree_layout_validating_and_factory_apps_are_exact() {
    assert_tree_exact(&app_dir("validating"), "app", "validating");
    assert_tree_exact(
        &app_dir("factory"),
        "app:create_app()",
        "factory app:create_app()",
    );
}

#[test]
fn tree_layout_large_app_is_exact() {
    assert_tree_exact(&app_dir("large"), "app", "large (332 rules)");
}

#[test]
fn tree_layout_real_apps_are_exact() {
    for name in ["mlflow-server", "canaille", "beets-web"] {
        assert_real_app_exact_behind(name, false, Server::NginxTree);
    }
}

#[test]
fn module_layout_basic_app_is_exact() {
    assert_module_exact(&app_dir("basic"), "app", "basic");
}

#[test]
fn module_layout_hostile_rule_text_is_exact() {
    assert_module_exact(&app_dir("special"), "app", "special");
    assert_module_exact(&app_dir("special"), "rootword:app", "special rootword:app");
}

#[test]
fn module_layout_validating_and_factory_apps_are_exact() {
    assert_module_exact(&app_dir("validating"), "app", "validating");
    assert_module_exact(
        &app_dir("factory"),
        "app:create_app()",
        "factory app:create_app()",
    );
}

#[test]
fn module_layout_large_app_is_exact() {
    assert_module_exact(&app_dir("large"), "app", "large (332 rules)");
}

#[test]
fn module_layout_real_apps_are_exact() {
    for name in ["mlflow-server", "canaille", "beets-web"] {
        assert_real_app_exact_behind(name, false, Server::NginxModule);
    }
}
