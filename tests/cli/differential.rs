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
    // The classes the report has: each oracle reports its framework's own.
    let classes = report["classes"]
        .as_object()
        .map(|c| c.keys().collect::<Vec<_>>());
    for class in classes.unwrap_or_default() {
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

/// The verdict of the Django and Starlette tests: never a false allow in any of `classes`,
/// never another answer, never a false deny but in the `priced` ones (refused by design;
/// with `methods` nginx's 404 may stand there for the app's 405, `other`), and enough
/// probes that the counts mean something.
pub(crate) fn check_classes(
    report: &Value,
    label: &str,
    classes: &[&str],
    priced: &[&str],
    methods: bool,
) {
    let line = summarize(label, report);
    assert!(
        count(report, "canonical", "probes") > 200,
        "too few probes: {line}"
    );
    assert!(
        count(report, "canonical", "truth_allowed") > 50,
        "too few allowed probes: {line}"
    );
    for class in classes {
        let examples = &report["classes"][class]["examples"];
        let context = format!("{class}: {line}\nexamples: {examples:#}");
        assert_eq!(count(report, class, "false_allows"), 0, "{context}");
        if !priced.contains(class) {
            assert_eq!(count(report, class, "false_denies"), 0, "{context}");
        }
        if !(methods && priced.contains(class)) {
            assert_eq!(count(report, class, "other"), 0, "{context}");
        }
    }
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

/// Issue #16: route shapes whose regexes can backtrack super-linearly (several `path`
/// parameters in one rule, a `path` parameter before many literal endings or glued to a
/// literal, string parameters beside them; `tests/fixtures/apps/costly`), probed with
/// long crafted paths on top of the usual probes of a few rules of each shape.
const COSTLY_FLAGS: [&str; 2] = ["--long-paths", "--shape-sample"];

/// Where the costly app's allowlist is served from.
#[derive(Clone, Copy)]
enum CostlyLayout {
    Location,
    Tree,
    Module,
}

/// The costly app's probes and their truth (a `probe.py --dry-run` report), computed once
/// for every layout (Werkzeug's own router backtracks on these paths too, for tens of
/// seconds), in a file of the caller's.
fn costly_truth() -> tempfile::NamedTempFile {
    static TRUTH: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let report = TRUTH.get_or_init(|| {
        let result = Command::new(venv().join("bin/python"))
            .arg(repo().join("tests/differential/probe.py"))
            .args(["--app", "app", "--app-dir"])
            .arg(app_dir("costly"))
            .arg("--dry-run")
            .args(COSTLY_FLAGS)
            .output()
            .expect("probe.py runs");
        assert!(
            result.status.success(),
            "probe.py --dry-run failed: {}",
            String::from_utf8_lossy(&result.stderr)
        );
        result.stdout
    });
    let file = tempfile::NamedTempFile::new().expect("tempfile");
    std::fs::write(file.path(), report).expect("write the dry run's report");
    file
}

/// `probe.py` with [`COSTLY_FLAGS`] (the truth from [`costly_truth`]) against nginx
/// serving the costly app in `layout`; the report, and nginx's error log after the run.
fn probe_costly(layout: CostlyLayout) -> (Value, String) {
    let dir = app_dir("costly");
    let truth = costly_truth();
    let pass = TreePass::new();
    let module = match layout {
        CostlyLayout::Module => module_args(),
        _ => Vec::new(),
    };
    let module: Vec<&str> = module.iter().map(String::as_str).collect();
    let args: &[&str] = match layout {
        CostlyLayout::Location => &[],
        CostlyLayout::Tree => &pass.args(),
        CostlyLayout::Module => &module,
    };
    let out = generate_with(&dir, "app", args);
    let nginx = match layout {
        CostlyLayout::Location => Nginx::with_allowlist(out.path()),
        CostlyLayout::Tree => Nginx::with_tree(out.path()),
        CostlyLayout::Module => Nginx::with_module(out.path()),
    };
    let mut flags = COSTLY_FLAGS.to_vec();
    flags.extend(["--truth-from", truth.path().to_str().expect("utf-8")]);
    let report = probe_port(&dir, "app", &venv(), &[], &flags, nginx.port);
    (report, nginx.error_log())
}

/// [`check`], and the same promise on the long probes alone (with enough of them, long
/// enough, both allowed and refused by the app), and no regex that nginx could not run to
/// its end (PCRE's match limit) in nginx's error log.
fn check_costly(report: &Value, error_log: &str, label: &str) {
    let long = &report["long_paths"];
    let field = |value: &Value, name: &str| {
        value[name]
            .as_u64()
            .unwrap_or_else(|| panic!("no long_paths {name} in {long}"))
    };
    let wrong = |value: &Value| {
        ["false_allows", "false_denies", "other"]
            .map(|kind| format!("{kind} {}", field(value, kind)))
            .join(", ")
    };
    let failed: Vec<&str> = error_log
        .lines()
        .filter(|l| {
            l.contains("pcre2_match() failed")
                || l.contains("pcre_exec() failed")
                || l.contains("match limit")
        })
        .collect();
    let mut summary = format!(
        "{label}: {} long probes (longest {} bytes, {} allowed by the app): {}; nginx \
         answered {}; {} regex failures in nginx's error log",
        field(long, "probes"),
        field(long, "longest"),
        field(long, "truth_allowed"),
        wrong(long),
        long["nginx_statuses"],
        failed.len(),
    );
    for key in ["by_rule", "by_fill", "by_variant"] {
        for (name, counts) in long[key].as_object().into_iter().flatten() {
            if ["false_allows", "false_denies", "other"]
                .iter()
                .any(|kind| field(counts, kind) > 0)
            {
                summary.push_str(&format!(
                    "\n  {key} {name}: {} probes, {}",
                    field(counts, "probes"),
                    wrong(counts)
                ));
            }
        }
    }
    if let Some(first) = failed.first() {
        let cut: String = first.chars().take(400).collect();
        summary.push_str(&format!("\n  first failure: {cut}"));
    }
    eprintln!("{summary}");
    check(report, label);
    assert!(field(long, "probes") >= 200, "{summary}");
    assert!(field(long, "longest") >= 7000, "{summary}");
    assert!(field(long, "truth_allowed") >= 50, "{summary}");
    assert!(
        field(long, "probes") - field(long, "truth_allowed") >= 50,
        "{summary}"
    );
    for kind in ["false_allows", "false_denies", "other"] {
        assert_eq!(
            field(long, kind),
            0,
            "{summary}\nexamples: {:#}",
            long["examples"]
        );
    }
    assert!(failed.is_empty(), "{summary}");
}

fn assert_costly_exact(layout: CostlyLayout, label: &str) {
    let (report, error_log) = probe_costly(layout);
    check_costly(&report, &error_log, label);
}

#[test]
fn costly_app_is_exact_on_long_paths() {
    assert_costly_exact(CostlyLayout::Location, "costly --long-paths");
}

#[test]
fn tree_layout_costly_app_is_exact_on_long_paths() {
    assert_costly_exact(CostlyLayout::Tree, "costly --long-paths --layout tree");
}

#[test]
fn module_layout_costly_app_is_exact_on_long_paths() {
    assert_costly_exact(CostlyLayout::Module, "costly --long-paths --layout module");
}
