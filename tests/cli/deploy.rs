//! A real deployment: a Debian-style nginx tree (nginx.conf → conf.d/*, sites-enabled/* →
//! a site with two servers, an alias location, an ACME location, a custom 404 page) in
//! front of a real Flask app, and `doctor` reading that tree.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::support::{
    app_dir, free_port, generate, generate_to, get_from, listening, nginx_binary, repo, routewall,
    stderr, venv,
};

/// The fixture tree copied to a temporary root with its placeholders filled in.
struct Site {
    root: tempfile::TempDir,
    port: u16,
    app_port: u16,
}

impl Site {
    fn new(bypass: bool) -> Site {
        Site::with(&move |text: String| {
            if bypass {
                text
            } else {
                text.replace(
                    "    location = /console { proxy_pass http://flask_app; }\n",
                    "",
                )
            }
        })
    }

    /// The seed tool's layout in the shop server: one include at the top of the server
    /// instead of one in its app location.
    fn server_layout() -> Site {
        Site::with(&|text: String| {
            text.replace("    location = /console { proxy_pass http://flask_app; }\n", "")
                .replace("    server_name shop.test;\n", "    include ROUTEWALL/server.conf;\n    server_name shop.test;\n")
                .replace(
                    "        include ROUTEWALL/location.conf;\n        proxy_pass http://flask_app;\n        proxy_set_header Host $host;",
                    "        proxy_pass http://flask_app;\n        proxy_set_header Host $host;",
                )
        })
    }

    /// The fixture tree with placeholders filled in, then `edit` applied to each file
    /// (`ROUTEWALL` stands for the allowlist's directory).
    fn with(edit: &dyn Fn(String) -> String) -> Site {
        let root = tempfile::tempdir().expect("tempdir");
        let (port, app_port) = (free_port(), free_port());
        let routewall = root.path().join("routewall").display().to_string();
        copy_tree(
            &repo().join("tests/fixtures/nginx/debian"),
            root.path(),
            &|text: String| {
                let text = text
                    .replace("@ROOT@/routewall", "ROUTEWALL")
                    .replace("@ROOT@", &root.path().display().to_string())
                    .replace("@APP_PORT@", &app_port.to_string())
                    .replace("@PORT@", &port.to_string());
                edit(text).replace("ROUTEWALL", &routewall)
            },
        );
        Site {
            root,
            port,
            app_port,
        }
    }

    /// Starts basic's app (on the app port) and nginx with the site's configuration, and
    /// checks that both are the processes listening.
    fn serve(&self) -> (Running, Running) {
        let mut app = Running(
            Command::new(venv().join("bin/python"))
                .args([
                    "-m",
                    "flask",
                    "--app",
                    "app",
                    "run",
                    "--port",
                    &self.app_port.to_string(),
                ])
                .current_dir(app_dir("basic"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("the app starts"),
        );
        let mut nginx = Running(
            Command::new(nginx_binary())
                .arg("-c")
                .arg(self.conf())
                .arg("-e")
                .arg(self.root.path().join("error.log"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("nginx starts"),
        );
        assert!(
            listening(&mut app.0, self.app_port),
            "the app could not listen on port {}",
            self.app_port
        );
        assert!(
            listening(&mut nginx.0, self.port),
            "nginx could not listen on port {}",
            self.port
        );
        (app, nginx)
    }

    fn conf(&self) -> PathBuf {
        self.root.path().join("nginx.conf")
    }

    fn routewall_dir(&self) -> PathBuf {
        self.root.path().join("routewall")
    }
}

fn copy_tree(from: &Path, to: &Path, fill: &dyn Fn(String) -> String) {
    for entry in std::fs::read_dir(from).expect("fixture dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target, fill);
        } else {
            let text = std::fs::read_to_string(entry.path()).expect("read");
            std::fs::write(target, fill(text)).expect("write");
        }
    }
}

/// A process killed on drop.
struct Running(Child);

impl Running {
    /// Waits (10 s at most) for the process to end by itself; drop kills it otherwise.
    fn wait_for_exit(mut self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The shop's own locations answer, and a refused path gets its 404 page.
fn assert_nginx_locations_work(site: &Site) {
    let at = |path| get(site.port, "shop.test", path);
    assert_eq!(at("/console"), (404, "the shop's own 404 page".to_owned()));
    assert_eq!(
        at("/static/nginx-only.txt"),
        (200, "served by nginx".to_owned())
    );
    assert_eq!(
        at("/.well-known/acme-challenge/token42"),
        (200, "acme-proof".to_owned())
    );
}

/// `GET path` with a Host header; status and body.
fn get(port: u16, host: &str, path: &str) -> (u16, String) {
    let (status, body) = get_from(port, host, path);
    (status, body.trim().to_owned())
}

fn doctor(site: &Site) -> std::process::Output {
    routewall(
        &app_dir("basic"),
        &[
            "doctor",
            "--nginx-conf",
            site.conf().to_str().expect("utf-8"),
        ],
    )
}

#[test]
fn doctor_finds_the_bypassing_location_and_names_the_line_to_add() {
    let site = Site::new(true);
    let out = generate(&app_dir("basic"), "app");
    std::fs::create_dir_all(site.routewall_dir()).expect("mkdir");
    for file in ["http.conf", "location.conf"] {
        std::fs::copy(out.path().join(file), site.routewall_dir().join(file)).expect("copy");
    }
    let report = doctor(&site);
    let text = String::from_utf8_lossy(&report.stdout);
    assert_eq!(report.status.code(), Some(1), "{text}{}", stderr(&report));
    assert!(text.contains("BYPASS  location = /console"), "{text}");
    let line = format!("include {}/location.conf;", site.routewall_dir().display());
    assert!(text.contains(&line), "{text}");
    assert!(
        text.contains("server shop.test") && text.contains("ok      location /"),
        "{text}"
    );
    // admin.test's `location /` does not forward the Host header.
    assert_eq!(
        text.matches("proxy_pass without `proxy_set_header Host $host`")
            .count(),
        2,
        "{text}"
    );

    let fixed = Site::new(false);
    std::fs::create_dir_all(fixed.routewall_dir()).expect("mkdir");
    for file in ["http.conf", "location.conf"] {
        std::fs::copy(out.path().join(file), fixed.routewall_dir().join(file)).expect("copy");
    }
    let report = doctor(&fixed);
    assert_eq!(
        report.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&report.stdout)
    );
}

#[test]
fn doctor_without_the_maps_says_what_is_missing() {
    let site = Site::new(false);
    std::fs::create_dir_all(site.routewall_dir()).expect("mkdir");
    std::fs::write(site.routewall_dir().join("http.conf"), "").expect("write");
    std::fs::write(site.routewall_dir().join("location.conf"), "").expect("write");
    let report = doctor(&site);
    let text = String::from_utf8_lossy(&report.stdout);
    assert_eq!(report.status.code(), Some(1), "{text}");
    assert!(
        text.contains("http: MISSING") && text.contains("BYPASS  location /"),
        "{text}"
    );
}

#[test]
fn a_debian_site_serves_app_routes_and_its_own_locations() {
    let site = Site::new(false);
    let generated = generate_to(&app_dir("basic"), "app", &site.routewall_dir(), &[]);
    assert!(generated.status.success(), "{}", stderr(&generated));
    let (app, nginx) = site.serve();
    // The app itself serves its debugger console (DebuggedApplication); nginx must not.
    assert_eq!(get(site.app_port, "localhost", "/console").0, 200);
    for host in ["shop.test", "admin.test"] {
        let (status, body) = get(site.port, host, "/user/ada");
        assert_eq!(status, 200, "{host}: {body}");
        assert!(body.contains("ada"), "the app answered: {body}");
        assert_eq!(get(site.port, host, "/console").0, 404, "{host}");
        assert_eq!(get(site.port, host, "/.env").0, 404, "{host}");
    }
    assert_nginx_locations_work(&site);
    drop(nginx);
    drop(app);
}

/// `generate` for basic's app into the site's routewall directory, testing the whole site
/// configuration in place.
fn generate_in_place(site: &Site, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "generate", "--source", "flask", "--app", "app", "--target", "nginx",
    ];
    let (output, conf) = (site.routewall_dir(), site.conf());
    args.extend(["--output", output.to_str().expect("utf-8")]);
    args.extend(["--nginx-conf", conf.to_str().expect("utf-8")]);
    args.extend_from_slice(extra);
    routewall(&app_dir("basic"), &args)
}

#[test]
fn a_broken_site_file_keeps_the_previous_include_byte_for_byte() {
    let site = Site::new(false);
    let first = generate_in_place(&site, &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let before: Vec<Vec<u8>> = ["http.conf", "location.conf", "routes.json"]
        .iter()
        .map(|f| std::fs::read(site.routewall_dir().join(f)).expect("written"))
        .collect();
    // Someone deploys a broken site file; the next run must not replace anything.
    let shop = site.root.path().join("sites-enabled/shop");
    let text = std::fs::read_to_string(&shop).expect("read");
    std::fs::write(
        &shop,
        text.replace(
            "proxy_pass http://flask_app;\n        proxy_set_header",
            "proxy_pass http://flask_app\n        proxy_set_header",
        ),
    )
    .expect("write");
    let second = generate_in_place(&site, &["--allow", "/healthz"]);
    assert_eq!(second.status.code(), Some(2), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("nginx") && stderr(&second).contains("[emerg]"),
        "{}",
        stderr(&second)
    );
    for (name, bytes) in ["http.conf", "location.conf", "routes.json"]
        .iter()
        .zip(&before)
    {
        assert_eq!(
            &std::fs::read(site.routewall_dir().join(name)).expect("kept"),
            bytes,
            "{name}"
        );
    }
}

#[test]
fn reload_applies_a_new_allowlist_to_the_running_nginx() {
    let site = Site::new(false);
    // A master process, so that `nginx -s reload` has something to signal; its workers run
    // as root to read the temporary tree.
    let conf = std::fs::read_to_string(site.conf())
        .expect("read")
        .replace("master_process off;", "user root;")
        .replace("error.log warn;", "error.log notice;");
    std::fs::write(site.conf(), conf).expect("write");
    assert!(generate_in_place(&site, &[]).status.success());
    let mut nginx = Running(
        Command::new(nginx_binary())
            .arg("-c")
            .arg(site.conf())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts"),
    );
    assert!(
        listening(&mut nginx.0, site.port),
        "nginx could not listen on port {}",
        site.port
    );
    // The app's port is held for this test by a one-line stand-in app, so that nothing a
    // test running in parallel starts can answer there instead.
    let upstream =
        std::net::TcpListener::bind(("127.0.0.1", site.app_port)).expect("the app port is free");
    std::thread::spawn(move || {
        for mut stream in upstream.incoming().flatten() {
            use std::io::{Read, Write};
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nhealthy",
            );
        }
    });
    assert_eq!(
        get(site.port, "shop.test", "/healthz"),
        (404, "the shop's own 404 page".to_owned())
    );
    let reloaded = generate_in_place(&site, &["--allow", "/healthz", "--reload"]);
    assert!(reloaded.status.success(), "{}", stderr(&reloaded));
    // Until the old worker has exited it still accepts connections beside the new one, and
    // answers them from the old configuration: wait for the master to report its exit (up to
    // 30 s under a full parallel test run) before asking.
    let log_path = site.root.path().join("error.log");
    let started = std::time::Instant::now();
    while !std::fs::read_to_string(&log_path)
        .unwrap_or_default()
        .contains("exited with code")
        && started.elapsed() < std::time::Duration::from_secs(30)
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let http = std::fs::read_to_string(site.routewall_dir().join("http.conf")).unwrap_or_default();
    assert_eq!(
        get(site.port, "shop.test", "/healthz"),
        (200, "healthy".to_owned()),
        "reloaded and allowed; has healthz: {}; error.log:\n{log}",
        http.contains("healthz")
    );
    // Killing a master would orphan its workers: ask it to quit, and wait for it.
    let _ = Command::new(nginx_binary())
        .args(["-s", "quit", "-c"])
        .arg(site.conf())
        .status();
    nginx.wait_for_exit();
}

#[test]
fn the_seed_layout_checks_at_the_top_of_the_server_and_keeps_nginx_locations() {
    let site = Site::server_layout();
    let generated = generate_in_place(&site, &["--layout", "server"]);
    assert!(generated.status.success(), "{}", stderr(&generated));
    let http = std::fs::read_to_string(site.routewall_dir().join("http.conf")).expect("written");
    assert!(
        http.contains("# added by the operator: /static/* (from the nginx location at"),
        "{http}"
    );
    let (app, nginx) = site.serve();
    let (status, body) = get(site.port, "shop.test", "/user/ada");
    assert_eq!(status, 200, "{body}");
    assert_nginx_locations_work(&site);
    assert_eq!(get(site.port, "shop.test", "/.env").0, 404);
    // doctor sees the server-level check.
    let report = doctor(&site);
    assert_eq!(
        report.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&report.stdout)
    );
    drop(nginx);
    drop(app);
}

#[test]
fn the_seed_layout_refuses_what_it_cannot_exempt_exactly() {
    let site = Site::with(&|text: String| {
        text.replace(
            "    location /static/ {",
            "    location ~* \\.css$ { root /srv; }\n    location /static/ {",
        )
    });
    let refused = generate_in_place(&site, &["--layout", "server"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("regex location"),
        "{}",
        stderr(&refused)
    );
}
