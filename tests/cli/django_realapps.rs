//! The Django source on real projects from PyPI (tests/realapps/django, installed into
//! `.venv-realapps-django` by `scripts/setup.sh --with-realapps`): each read by `routewall
//! generate --venv` from its project directory, served by nginx, and probed by
//! `tests/differential/django_probe.py` against Django's own request handling, with the
//! fixture project's promise ([`check`]).
//!
//! django CMS, the fourth pinned project, generates but is not exact (README, "Django":
//! its unprefixed LocaleMiddleware redirects let `/EN/…`, `/pt/…` through, which Django
//! reads as languages and 404s); its test comes with that fix.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::django::{check, serve};
use crate::support::repo;

/// The venv with the pinned projects (`ROUTEWALL_REALAPPS_DJANGO_VENV` overrides).
fn realapps_venv() -> PathBuf {
    let venv = std::env::var_os("ROUTEWALL_REALAPPS_DJANGO_VENV")
        .map_or_else(|| repo().join(".venv-realapps-django"), PathBuf::from);
    assert!(
        venv.join("pyvenv.cfg").is_file(),
        "no {} — run scripts/setup.sh --with-realapps",
        venv.display()
    );
    venv
}

/// `django_probe.py` with the projects' venv, against whatever server listens on `port`.
fn probe(dir: &Path, settings: &str, venv: &Path, port: u16) -> Value {
    let result = Command::new(venv.join("bin/python"))
        .arg(repo().join("tests/differential/django_probe.py"))
        .args(["--settings", settings, "--app-dir"])
        .arg(dir)
        .args(["--port", &port.to_string()])
        .stdin(Stdio::null())
        .output()
        .expect("django_probe.py runs");
    assert!(
        result.status.success(),
        "django_probe.py failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    serde_json::from_slice(&result.stdout).expect("django_probe.py prints JSON")
}

/// Generates the allowlist of project `name` (settings `NAME_site.settings`, in
/// tests/realapps/django/NAME) in the default layout, checks that the pinned packages
/// still give `patterns` URL patterns (endpoints, as the probe counts them) and `routes`
/// routes (one per language prefix, plus LocaleMiddleware's and APPEND_SLASH's redirect
/// sources), and runs the differential test through nginx.
fn assert_project_exact(name: &str, patterns: u64, routes: u64) {
    let dir = repo().join("tests/realapps/django").join(name);
    let settings = format!("{name}_site.settings");
    let venv = realapps_venv();
    let out = tempfile::tempdir().expect("tempdir");
    let generated = Command::new(env!("CARGO_BIN_EXE_routewall"))
        .args([
            "generate", "--source", "django", "--app", &settings, "--target", "nginx", "--venv",
        ])
        .arg(&venv)
        .arg("--output")
        .arg(out.path())
        .current_dir(&dir)
        .env_remove("VIRTUAL_ENV")
        .stdin(Stdio::null())
        .output()
        .expect("routewall runs");
    assert!(
        generated.status.success(),
        "generate {settings} failed: {}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("routes.json")).expect("manifest"))
            .expect("json");
    let got = manifest["routes"].as_array().map_or(0, Vec::len) as u64;
    assert_eq!(got, routes, "{name}: the pinned project changed its routes");

    let nginx = serve(out.path());
    let report = probe(&dir, &settings, &venv, nginx.port);
    assert_eq!(
        report["django"]["templates"].as_u64(),
        Some(patterns),
        "{name}: the pinned project changed its URL patterns"
    );
    check(&report, &format!("django {name} ({patterns} patterns)"));
}

/// django-allauth 65.22.1: accounts, 127 social providers, MFA, user sessions, the headless
/// API and the OIDC provider, next to the admin (~30 s of probing: 10,000 probes).
#[test]
fn real_project_allauth_is_exact() {
    assert_project_exact("allauth", 448, 511);
}

/// django-wiki 0.13.0: articles addressed by path (`^(?P<path>.+/|)$`-style regexes) and
/// by id, plugins (attachments, images, notifications), next to the admin.
#[test]
fn real_project_wiki_is_exact() {
    assert_project_exact("wiki", 150, 235);
}

/// django-helpdesk 2.6.1: tickets, the knowledge base, its REST API (DRF routers).
#[test]
fn real_project_helpdesk_is_exact() {
    assert_project_exact("helpdesk", 188, 244);
}
