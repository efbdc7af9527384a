//! `generate`, `routes` and `plugins` on working apps.

use crate::support::{
    Nginx, app_dir, generate, generate_to, generate_with, get, get_status, routewall, stderr,
};

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
        assert!(stderr(&out).contains(if mode == "in-process" {
            "with embedded Python"
        } else {
            "bin/python"
        }));
        routes_of(&out.stdout)
    };
    let in_process = read("in-process");
    assert!(in_process.to_string().contains("\"/user/<username>\""));
    assert!(
        in_process == read("subprocess"),
        "the two transports disagree"
    );
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

#[test]
fn nginx_owned_locations_and_the_custom_404_page_keep_working() {
    let out = generate(&app_dir("basic"), "app");
    let site = tempfile::tempdir().expect("tempdir");
    let s = site.path();
    std::fs::create_dir_all(s.join("static")).expect("mkdir");
    std::fs::create_dir_all(s.join("acme/.well-known/acme-challenge")).expect("mkdir");
    std::fs::create_dir_all(s.join("errors")).expect("mkdir");
    std::fs::write(s.join("static/only-nginx.css"), "body {}").expect("write");
    std::fs::write(s.join("acme/.well-known/acme-challenge/token123"), "proof").expect("write");
    std::fs::write(s.join("errors/404.html"), "custom not found").expect("write");
    let (o, s) = (out.path().display(), s.display());
    let nginx = Nginx::start(
        &format!("    include {o}/http.conf;"),
        &format!(
            "        error_page 404 /404.html;
        location = /404.html {{ internal; root {s}/errors; }}
        location /static/ {{ alias {s}/static/; }}
        location ^~ /.well-known/acme-challenge/ {{ root {s}/acme; }}
        location / {{
            include {o}/location.conf;
            return 200 \"passed\\n\";
        }}"
        ),
    );
    // Served by nginx from disk, although the app's own static route has no such file.
    assert_eq!(
        get(nginx.port, "/static/only-nginx.css"),
        (200, "body {}".to_owned())
    );
    assert_eq!(
        get(nginx.port, "/.well-known/acme-challenge/token123"),
        (200, "proof".to_owned())
    );
    // Denied requests get the user's 404 page (the internal redirect is not denied again).
    assert_eq!(
        get(nginx.port, "/console"),
        (404, "custom not found".to_owned())
    );
    assert_eq!(get(nginx.port, "/user/bob").0, 200);
}

#[test]
fn every_app_spec_form_flask_accepts_works() {
    let basic = app_dir("basic");
    let repo = crate::support::repo();
    let cases: [(&std::path::Path, &str); 4] = [
        (&basic, "app"),
        (&basic, "app:app"),
        (&repo, "tests/fixtures/apps/basic/app.py"),
        (
            &repo,
            "tests/fixtures/apps/factory/app.py:create_app(\"prod\")",
        ),
    ];
    for (dir, spec) in cases {
        let result = routewall(
            dir,
            &[
                "routes", "--source", "flask", "--app", spec, "--format", "json",
            ],
        );
        assert!(result.status.success(), "{spec}: {}", stderr(&result));
        let table: serde_json::Value = serde_json::from_slice(&result.stdout).expect("json");
        assert!(
            table["routes"].as_array().is_some_and(|r| r.len() > 3),
            "{spec}"
        );
    }
}

#[test]
fn a_venv_of_another_python_is_read_by_its_own_interpreter() {
    // A venv whose pyvenv.cfg claims Python 3.10 (its bin/python is really the test venv's
    // interpreter): routewall must not import in-process, and must get the same table.
    let venv = tempfile::tempdir().expect("tempdir");
    let real = crate::support::venv();
    std::fs::create_dir_all(venv.path().join("bin")).expect("mkdir");
    std::os::unix::fs::symlink(real.join("bin/python"), venv.path().join("bin/python"))
        .expect("symlink");
    std::fs::write(
        venv.path().join("pyvenv.cfg"),
        "home = /nowhere\nversion = 3.10.0\n",
    )
    .expect("write");
    let args = [
        "routes", "--source", "flask", "--app", "app", "--format", "json",
    ];
    let direct = routewall(&app_dir("basic"), &args);
    let mut with_venv = args.to_vec();
    with_venv.extend(["--venv", venv.path().to_str().expect("utf-8")]);
    let other = routewall(&app_dir("basic"), &with_venv);
    assert!(other.status.success(), "{}", stderr(&other));
    assert!(
        stderr(&other).contains("Python 3.10"),
        "says which interpreter it used: {}",
        stderr(&other)
    );
    assert!(
        routes_of(&direct.stdout) == routes_of(&other.stdout),
        "the two transports disagree"
    );
}

/// The `routes` of a `routes --format json` answer (without `read_by`, which names the
/// transport).
fn routes_of(stdout: &[u8]) -> serde_json::Value {
    let mut table: serde_json::Value = serde_json::from_slice(stdout).expect("json");
    table["routes"].take()
}

#[test]
fn apps_are_found_on_pythonpath() {
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let result = std::process::Command::new(env!("CARGO_BIN_EXE_routewall"))
        .args(["routes", "--source", "flask", "--app", "app:create_app()"])
        .current_dir(elsewhere.path())
        .env("VIRTUAL_ENV", crate::support::venv())
        .env("PYTHONPATH", app_dir("factory"))
        .output()
        .expect("runs");
    assert!(result.status.success(), "{}", stderr(&result));
    assert!(String::from_utf8_lossy(&result.stdout).contains("/api/v1/"));
}

/// Serves basic's allowlist generated with extra `generate` arguments.
fn serve_basic_with(extra: &[&str]) -> (tempfile::TempDir, Nginx) {
    let out = generate_with(&app_dir("basic"), "app", extra);
    let nginx = Nginx::with_allowlist(out.path());
    (out, nginx)
}

#[test]
fn a_mount_prefix_moves_every_route() {
    let (_out, nginx) = serve_basic_with(&["--prefix", "/shop-app"]);
    for (path, status) in [
        ("/shop-app/about", 200),
        ("/shop-app", 200),
        ("/shop-app/", 200),
        ("/shop-app/user/ada", 200),
        ("/about", 404),
        ("/shop-app/console", 404),
        ("/shop-appabout", 404),
    ] {
        assert_eq!(get_status(nginx.port, path), status, "{path}");
    }
}

#[test]
fn operator_allowed_paths_pass_and_are_listed() {
    let (out, nginx) = serve_basic_with(&["--allow", "/socket.io/*", "--allow", "/healthz"]);
    for (path, status) in [
        ("/socket.io/?EIO=4&transport=polling", 200),
        ("/socket.io/a/b", 200),
        ("/healthz", 200),
        ("/healthz/", 404),
        ("/socket.io", 404),
    ] {
        assert_eq!(get_status(nginx.port, path), status, "{path}");
    }
    let http = std::fs::read_to_string(out.path().join("http.conf")).expect("written");
    assert!(
        http.contains("# added by the operator: /socket.io/* (from --allow)"),
        "{http}"
    );
}

#[test]
fn the_debugger_query_is_refused_unless_allowed() {
    let query = "/about?__debugger__=yes&cmd=resource&f=debugger.js";
    let (_out, nginx) = serve_basic_with(&[]);
    assert_eq!(get_status(nginx.port, query), 404);
    assert_eq!(get_status(nginx.port, "/about?q=__debugger__"), 200);
    let (_out, nginx) = serve_basic_with(&["--no-block-debugger"]);
    assert_eq!(get_status(nginx.port, query), 200);
}

#[test]
fn dot_segments_are_refused_even_when_nginx_resolves_them_to_a_route() {
    let (_out, nginx) = serve_basic_with(&[]);
    for path in [
        "/x/../about",
        "/x/%2e%2e/about",
        "/x%2F..%2Fabout",
        "/about/.",
        "/user/bob/./",
    ] {
        assert_eq!(get_status(nginx.port, path), 404, "{path}");
    }
    assert_eq!(
        get_status(nginx.port, "/.well-known-ish/../about?x=/../"),
        404
    );
    assert_eq!(
        get_status(nginx.port, "//about"),
        200,
        "`//` is merged on both sides"
    );
}

/// `routewall ARGS` for factory's `app:create_app(SPEC_ARG)`, writing to `out`.
fn factory(
    command: &str,
    factory_arg: &str,
    out: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    let app = format!("app:create_app({factory_arg})");
    let mut args = vec![
        command, "--source", "flask", "--app", &app, "--target", "nginx",
    ];
    args.extend(["--output", out.to_str().expect("utf-8")]);
    args.extend_from_slice(extra);
    routewall(&app_dir("factory"), &args)
}

#[test]
fn check_reports_drift_by_route() {
    let out = tempfile::tempdir().expect("tempdir");
    let none = factory("check", "", out.path(), &[]);
    assert_eq!(
        none.status.code(),
        Some(1),
        "nothing written yet: {}",
        stderr(&none)
    );
    assert!(factory("generate", "", out.path(), &[]).status.success());
    let same = factory("check", "", out.path(), &[]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert!(stderr(&same).contains("up to date"));
    // The "prod" app has one more route.
    let drift = factory("check", "\"prod\"", out.path(), &[]);
    assert_eq!(drift.status.code(), Some(1), "{}", stderr(&drift));
    assert!(
        stderr(&drift).contains("+ /healthz (healthz; GET,HEAD,OPTIONS)"),
        "{}",
        stderr(&drift)
    );
    assert!(!stderr(&drift).contains("\n- "), "{}", stderr(&drift));
    assert!(
        stderr(&drift).contains("out of date: http.conf"),
        "{}",
        stderr(&drift)
    );
}

#[test]
fn diff_and_dry_run_show_without_writing() {
    let out = tempfile::tempdir().expect("tempdir");
    assert!(
        factory("generate", "\"prod\"", out.path(), &[])
            .status
            .success()
    );
    let before = std::fs::read(out.path().join("http.conf")).expect("written");
    let dry = factory("generate", "", out.path(), &["--dry-run", "--diff"]);
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(stderr(&dry).contains("- /healthz"), "{}", stderr(&dry));
    let printed = String::from_utf8_lossy(&dry.stdout);
    assert!(printed.contains("# ==> http.conf <==") && printed.contains("# ==> location.conf <=="));
    assert_eq!(
        std::fs::read(out.path().join("http.conf")).expect("kept"),
        before
    );
}

#[test]
fn a_crash_before_the_rename_keeps_the_previous_files() {
    let out = tempfile::tempdir().expect("tempdir");
    assert!(factory("generate", "", out.path(), &[]).status.success());
    let before: Vec<Vec<u8>> = ["http.conf", "location.conf", "routes.json"]
        .iter()
        .map(|f| std::fs::read(out.path().join(f)).expect("written"))
        .collect();
    let app = "app:create_app(\"prod\")";
    let crashed = std::process::Command::new(env!("CARGO_BIN_EXE_routewall"))
        .args([
            "generate", "--source", "flask", "--app", app, "--target", "nginx", "--output",
        ])
        .arg(out.path())
        .current_dir(app_dir("factory"))
        .env("VIRTUAL_ENV", crate::support::venv())
        .env("ROUTEWALL_FAILPOINT", "before-rename")
        .output()
        .expect("runs");
    assert!(
        !crashed.status.success() && crashed.status.code().is_none(),
        "killed by abort"
    );
    for (name, bytes) in ["http.conf", "location.conf", "routes.json"]
        .iter()
        .zip(&before)
    {
        assert_eq!(
            &std::fs::read(out.path().join(name)).expect("still there"),
            bytes,
            "{name}"
        );
    }
    // The next run cleans up what the crash left behind.
    assert!(
        factory("generate", "\"prod\"", out.path(), &[])
            .status
            .success()
    );
    let leftovers: Vec<_> = std::fs::read_dir(out.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') && n != ".routewall.lock")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn concurrent_runs_leave_one_consistent_output() {
    let out = tempfile::tempdir().expect("tempdir");
    let runs: Vec<_> = (0..4)
        .map(|i| {
            let arg = if i % 2 == 0 { "" } else { "\"prod\"" };
            let app = format!("app:create_app({arg})");
            std::process::Command::new(env!("CARGO_BIN_EXE_routewall"))
                .args([
                    "generate", "--source", "flask", "--app", &app, "--target", "nginx", "--output",
                ])
                .arg(out.path())
                .current_dir(app_dir("factory"))
                .env("VIRTUAL_ENV", crate::support::venv())
                .spawn()
                .expect("starts")
        })
        .collect();
    for mut run in runs {
        assert!(run.wait().expect("waits").success());
    }
    // Whichever run wrote last, its http.conf and routes.json belong together.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("routes.json")).expect("written"))
            .expect("json");
    let arg = if manifest["app"] == "app:create_app()" {
        ""
    } else {
        "\"prod\""
    };
    let check = factory("check", arg, out.path(), &[]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
}

#[test]
fn monitor_mode_lets_everything_through_and_logs_what_enforce_would_refuse() {
    let logs = tempfile::tempdir().expect("tempdir");
    let log = logs.path().join("would-refuse.log");
    let (_out, nginx) = serve_basic_with(&[
        "--mode",
        "monitor",
        "--monitor-log",
        log.to_str().expect("utf-8"),
    ]);
    assert_eq!(get_status(nginx.port, "/console"), 200);
    assert_eq!(get_status(nginx.port, "/about"), 200);
    assert_eq!(get_status(nginx.port, "/about?__debugger__=yes"), 200);
    let mut text = String::new();
    for _ in 0..100 {
        text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.lines().count() >= 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        text.contains("\"GET /console HTTP/1.1\" host=localhost would_answer=404"),
        "{text}"
    );
    assert!(text.contains("GET /about?__debugger__=yes"), "{text}");
    assert!(!text.contains("\"GET /about HTTP/1.1\""), "{text}");
}

#[test]
fn converter_checks_deny_leaves_code_checked_routes_out() {
    let out = generate_with(
        &app_dir("validating"),
        "app",
        &["--converter-checks", "deny"],
    );
    let http = std::fs::read_to_string(out.path().join("http.conf")).expect("written");
    assert!(http.contains("# left out: /x/<int(max=10):n>"), "{http}");
    let nginx = Nginx::with_allowlist(out.path());
    assert_eq!(
        get_status(nginx.port, "/x/5"),
        200,
        "`/x/<word>` still matches"
    );
    assert_eq!(
        get_status(nginx.port, "/bounded/5"),
        404,
        "the checked route is gone"
    );
    let allowed = generate_with(&app_dir("validating"), "app", &[]);
    let nginx = Nginx::with_allowlist(allowed.path());
    assert_eq!(get_status(nginx.port, "/bounded/5"), 200);
}

#[test]
fn a_user_template_can_change_the_deny_action() {
    let templates = tempfile::tempdir().expect("tempdir");
    let export = routewall(
        &app_dir("basic"),
        &[
            "templates",
            "export",
            "nginx",
            templates.path().to_str().expect("utf-8"),
        ],
    );
    assert!(export.status.success(), "{}", stderr(&export));
    assert!(templates.path().join("nginx/http.conf").is_file());
    // Replace the exported location template by one that extends the built-in: close the
    // connection without an answer (444) and log the refusal to a file of its own.
    let log = templates.path().join("refused.log");
    std::fs::write(
        templates.path().join("nginx/location.conf"),
        format!(
            "{{% extends \"__routewall/nginx/location.conf\" %}}{{% block deny %}}access_log {} combined;\n    return 444;{{% endblock deny %}}\n",
            log.display()
        ),
    )
    .expect("write");
    let (out, nginx) =
        serve_basic_with(&["--templates", templates.path().to_str().expect("utf-8")]);
    let location = std::fs::read_to_string(out.path().join("location.conf")).expect("written");
    assert!(location.contains("return 444;"), "{location}");
    assert_eq!(
        get_status(nginx.port, "/console"),
        0,
        "444: the connection closes unanswered"
    );
    assert_eq!(get_status(nginx.port, "/about"), 200);
    let mut logged = String::new();
    for _ in 0..100 {
        logged = std::fs::read_to_string(&log).unwrap_or_default();
        if !logged.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        logged.contains("GET /console") && !logged.contains("GET /about"),
        "{logged}"
    );
}

#[test]
fn a_broken_user_template_is_a_one_line_error() {
    let templates = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(templates.path().join("nginx")).expect("mkdir");
    std::fs::write(
        templates.path().join("nginx/location.conf"),
        "if (\n{% if %}\n",
    )
    .expect("write");
    let out = tempfile::tempdir().expect("tempdir");
    let result = generate_to(
        &app_dir("basic"),
        "app",
        out.path(),
        &["--templates", templates.path().to_str().expect("utf-8")],
    );
    assert_eq!(result.status.code(), Some(2));
    let err = stderr(&result);
    let line = err
        .lines()
        .find(|l| l.starts_with("error:"))
        .expect("an error line");
    assert!(
        line.contains("location.conf") && line.contains("2:"),
        "{err}"
    );
    assert!(!out.path().join("http.conf").exists());
}

#[test]
fn two_apps_share_one_nginx_under_their_own_names() {
    let shop = generate_with(&app_dir("basic"), "app", &["--name", "shop"]);
    let api = generate_with(&app_dir("factory"), "app:create_app()", &["--name", "api"]);
    let (s, a) = (shop.path().display(), api.path().display());
    let nginx = Nginx::start(
        &format!("    include {s}/http.conf;\n    include {a}/http.conf;"),
        &format!(
            "        location /api/ {{\n            include {a}/location.conf;\n            return 200 \"api\\n\";\n        }}\n        location / {{\n            include {s}/location.conf;\n            return 200 \"shop\\n\";\n        }}"
        ),
    );
    assert_eq!(get(nginx.port, "/about"), (200, "shop".to_owned()));
    assert_eq!(get_status(nginx.port, "/console"), 404);
    let factory_route = factory_api_route();
    assert_eq!(
        get(nginx.port, &factory_route),
        (200, "api".to_owned()),
        "{factory_route}"
    );
    assert_eq!(get_status(nginx.port, "/api/nosuch/route/at/all"), 404);
}

/// A route of the factory app under `/api/`, read from its route table.
fn factory_api_route() -> String {
    let out = routewall(
        &app_dir("factory"),
        &[
            "routes",
            "--source",
            "flask",
            "--app",
            "app:create_app()",
            "--format",
            "json",
        ],
    );
    let table: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    table["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["rule"].as_str())
        .find(|r| r.starts_with("/api/") && !r.contains('<'))
        .expect("a static /api/ route")
        .to_owned()
}

#[test]
fn routes_shows_which_host_a_rule_answers_on() {
    let result = routewall(
        &app_dir("subdomains"),
        &["routes", "--source", "flask", "--app", "app"],
    );
    let text = String::from_utf8_lossy(&result.stdout);
    let api = text
        .lines()
        .find(|l| l.contains("api_user"))
        .unwrap_or_default();
    assert!(api.ends_with("subdomain=api"), "{text}");
    let home = text
        .lines()
        .find(|l| l.contains(" home "))
        .unwrap_or_default();
    assert!(!home.contains("subdomain="), "{text}");
}
