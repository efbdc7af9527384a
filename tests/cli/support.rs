//! What the CLI tests share: the built binary, the test venv, fixture apps and a real nginx.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The repository root.
pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture app's directory.
pub(crate) fn app_dir(name: &str) -> PathBuf {
    repo().join("tests/fixtures/apps").join(name)
}

/// The venv with Flask that `scripts/test.sh` creates (`ROUTEWALL_TEST_VENV` overrides).
pub(crate) fn venv() -> PathBuf {
    let venv =
        std::env::var_os("ROUTEWALL_TEST_VENV").map_or_else(|| repo().join(".venv"), PathBuf::from);
    assert!(
        venv.join("pyvenv.cfg").is_file(),
        "no test venv at {} — run scripts/test.sh, or set ROUTEWALL_TEST_VENV",
        venv.display()
    );
    venv
}

/// `routewall ARGS` run from `dir`, with the test venv and no inherited VIRTUAL_ENV.
pub(crate) fn routewall(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_routewall"))
        .args(args)
        .current_dir(dir)
        .env_remove("VIRTUAL_ENV")
        .env("VIRTUAL_ENV", venv())
        .stdin(Stdio::null())
        .output()
        .expect("routewall runs")
}

/// Text of a process's stderr.
pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Generates the nginx allowlist for `app` (run from `dir`) into a fresh directory.
pub(crate) fn generate(dir: &Path, app: &str) -> tempfile::TempDir {
    generate_with(dir, app, &[])
}

/// [`generate`] with extra `generate` arguments.
pub(crate) fn generate_with(dir: &Path, app: &str, extra: &[&str]) -> tempfile::TempDir {
    let out = tempfile::tempdir().expect("tempdir");
    let result = generate_to(dir, app, out.path(), extra);
    assert!(
        result.status.success(),
        "generate {app} failed: {}",
        stderr(&result)
    );
    out
}

/// `routewall generate --source flask --app APP --target nginx --output OUT EXTRA…`, run
/// from `dir`, whatever its outcome.
pub(crate) fn generate_to(dir: &Path, app: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "generate", "--source", "flask", "--app", app, "--target", "nginx",
    ];
    args.extend(["--output", out.to_str().expect("utf-8")]);
    args.extend_from_slice(extra);
    routewall(dir, &args)
}

/// The nginx binary (`ROUTEWALL_TEST_NGINX` overrides).
pub(crate) fn nginx_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("ROUTEWALL_TEST_NGINX") {
        return PathBuf::from(path);
    }
    [
        "/usr/sbin/nginx",
        "/usr/local/sbin/nginx",
        "/usr/local/nginx/sbin/nginx",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
    .expect("nginx is not installed (scripts/test.sh installs it with apt-get)")
}

/// A real nginx on 127.0.0.1 with its own prefix directory, stopped on drop.
pub(crate) struct Nginx {
    pub(crate) port: u16,
    child: Child,
    _prefix: tempfile::TempDir,
}

impl Nginx {
    /// Starts nginx with `http_extra` inside `http {}` and `server_body` inside the server
    /// block; `PORT` in either is replaced by the port it listens on.
    pub(crate) fn start(http_extra: &str, server_body: &str) -> Nginx {
        Nginx::start_with_main("", http_extra, server_body)
    }

    /// [`Nginx::start`] with `main` at the top of nginx.conf (`load_module`).
    pub(crate) fn start_with_main(main: &str, http_extra: &str, server_body: &str) -> Nginx {
        // A port free a moment ago may be taken by a test running in parallel; nginx then
        // exits at once, and another port is tried.
        for _ in 0..5 {
            if let Some(nginx) = Nginx::try_start(main, http_extra, server_body) {
                return nginx;
            }
        }
        panic!("nginx did not start on any of 5 ports")
    }

    fn try_start(main: &str, http_extra: &str, server_body: &str) -> Option<Nginx> {
        let prefix = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let p = prefix.path().display();
        let conf = format!(
            "{main}\ndaemon off;\nmaster_process off;\npid {p}/nginx.pid;\nerror_log {p}/error.log warn;\nevents {{ worker_connections 512; }}\nhttp {{\n    access_log off;\n    client_body_temp_path {p}/body;\n    proxy_temp_path {p}/proxy;\n{http_extra}\n    server {{\n        listen 127.0.0.1:{port};\n        server_name localhost;\n{server_body}\n    }}\n}}\n"
        )
        .replace("PORT", &port.to_string());
        let conf_path = prefix.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("write nginx.conf");
        let test = Command::new(nginx_binary())
            .args(["-t", "-p"])
            .arg(prefix.path())
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(prefix.path().join("error.log"))
            .output()
            .expect("nginx -t runs");
        assert!(test.status.success(), "nginx -t failed: {}", stderr(&test));
        let child = Command::new(nginx_binary())
            .arg("-p")
            .arg(prefix.path())
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(prefix.path().join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        let mut nginx = Nginx {
            port,
            child,
            _prefix: prefix,
        };
        listening(&mut nginx.child, port).then_some(nginx)
    }

    /// nginx serving the allowlist in `out` in front of `location / { return 200 }`.
    pub(crate) fn with_allowlist(out: &Path) -> Nginx {
        Nginx::with_allowlist_and(out, "")
    }

    /// [`Nginx::with_allowlist`] with `server_extra` in the server ([`UNMERGED`], say).
    pub(crate) fn with_allowlist_and(out: &Path, server_extra: &str) -> Nginx {
        let o = out.display();
        Nginx::start(
            &format!("    include {o}/http.conf;"),
            &format!(
                "        location / {{\n            include {o}/location.conf;\n            return 200 \"passed\\n\";\n        }}\n{server_extra}"
            ),
        )
    }
}

/// The reference deployment of an app that does not merge slashes (Django): nginx keeps
/// `//` in `$uri` (the test server is its socket's default server, whose setting counts),
/// so that the allowlist matches the path the app routes.
pub(crate) const UNMERGED: &str = "        merge_slashes off;";

/// A pass file for the tree layout in a temporary directory, and the `generate` arguments
/// that name it.
pub(crate) struct TreePass {
    _dir: tempfile::TempDir,
    file: String,
}

impl TreePass {
    /// A pass file answering like the location layout's test server.
    pub(crate) fn new() -> TreePass {
        TreePass::holding("return 200 \"passed\\n\";\n")
    }

    /// A pass file holding `text`.
    pub(crate) fn holding(text: &str) -> TreePass {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pass.conf");
        std::fs::write(&file, text).expect("write");
        TreePass {
            file: file.to_str().expect("utf-8").to_owned(),
            _dir: dir,
        }
    }

    /// The pass file's path.
    pub(crate) fn file(&self) -> &str {
        &self.file
    }

    /// `--layout tree --pass FILE`.
    pub(crate) fn args(&self) -> [&str; 4] {
        ["--layout", "tree", "--pass", &self.file]
    }
}

/// `result` is a refusal: exit code 2, one `error:` line holding `expected`, and nothing
/// written at `target`.
pub(crate) fn assert_refused(result: &Output, target: &Path, expected: &str) {
    let err = stderr(result);
    assert_eq!(result.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "one error line expected: {err}");
    assert!(lines[0].contains(expected), "{err}");
    assert!(!target.exists(), "nothing may be written on failure");
}

/// `generate` for fixture `app` with `extra`, expected to fail with exit code 2 and one
/// error line holding `expected`, writing nothing.
pub(crate) fn refused(app: &str, extra: &[&str], expected: &str) {
    let out = tempfile::tempdir().expect("tempdir");
    let target = out.path().join("allowlist");
    let result = generate_to(&app_dir(app), "app", &target, extra);
    assert_refused(&result, &target, expected);
}

impl Nginx {
    /// nginx whose server is the tree layout in `out` (generated with a [`TreePass`]).
    pub(crate) fn with_tree(out: &Path) -> Nginx {
        Nginx::with_tree_and(out, "")
    }

    /// [`Nginx::with_tree`] with `server_extra` in the server ([`UNMERGED`], say).
    pub(crate) fn with_tree_and(out: &Path, server_extra: &str) -> Nginx {
        let o = out.display();
        Nginx::start(
            &format!("    include {o}/http.conf;"),
            &format!("        include {o}/tree.conf;\n{server_extra}"),
        )
    }
}

impl Nginx {
    /// nginx with routewall's module loaded, serving the module layout in `out` in front
    /// of `location / { return 200 }` and `server_extra`.
    pub(crate) fn with_module_and(out: &Path, server_extra: &str) -> Nginx {
        let o = out.display();
        Nginx::start_with_main(
            &format!("load_module {};", nginx_module().display()),
            &format!("    include {o}/http.conf;"),
            &format!(
                "        location / {{\n            include {o}/location.conf;\n            return 200 \"passed\\n\";\n        }}\n{server_extra}"
            ),
        )
    }

    /// [`Nginx::with_module_and`] with nothing else in the server.
    pub(crate) fn with_module(out: &Path) -> Nginx {
        Nginx::with_module_and(out, "")
    }
}

/// routewall's nginx module, built once per test run by `nginx-module/build.sh` into
/// `target/nginx-module` (`ROUTEWALL_TEST_NGINX_MODULE` names a built one instead).
pub(crate) fn nginx_module() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            if let Some(path) = std::env::var_os("ROUTEWALL_TEST_NGINX_MODULE") {
                return PathBuf::from(path);
            }
            let out = repo().join("target/nginx-module");
            let built = Command::new(repo().join("nginx-module/build.sh"))
                .arg(&out)
                .output()
                .expect("nginx-module/build.sh runs");
            assert!(
                built.status.success(),
                "nginx-module/build.sh failed (scripts/setup.sh installs nginx-dev): {}",
                stderr(&built)
            );
            out.join("ngx_http_routewall_module.so")
        })
        .clone()
}

/// `--layout module --nginx-module FILE` with the test run's module.
pub(crate) fn module_args() -> Vec<String> {
    vec![
        "--layout".into(),
        "module".into(),
        "--nginx-module".into(),
        nginx_module().display().to_string(),
    ]
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real HAProxy (`haproxy -db`) serving the HAProxy target's output in front of a
/// backend that answers 200 to whatever passes; killed on drop.
pub(crate) struct Haproxy {
    pub(crate) port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Haproxy {
    /// HAProxy with `out/backend.cfg` pasted into its backend, as the README says.
    pub(crate) fn with_allowlist(out: &Path) -> Haproxy {
        let lines = std::fs::read_to_string(out.join("backend.cfg")).expect("backend.cfg");
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("tempdir");
            let port = free_port();
            let conf = format!(
                "global\n    maxconn 512\ndefaults\n    mode http\n    timeout client 10s\n    timeout server 10s\n    timeout connect 10s\nfrontend fe\n    bind 127.0.0.1:{port}\n    default_backend app\nbackend app\n{lines}\n    http-request return status 200 content-type text/plain string passed\n"
            );
            let path = dir.path().join("haproxy.cfg");
            std::fs::write(&path, conf).expect("write haproxy.cfg");
            let child = Command::new(routewall_core::find_program(
                "haproxy",
                &["/usr/sbin/haproxy"],
            ))
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy starts (scripts/setup.sh installs it)");
            let mut haproxy = Haproxy {
                port,
                child,
                _dir: dir,
            };
            if listening(&mut haproxy.child, port) {
                return haproxy;
            }
        }
        panic!("haproxy did not start on any of 5 ports")
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind")
        .port()
}

/// Waits until `child` listens on `port`: false when it exited first (the port was taken),
/// or when it still runs once something answers there but a moment later has gone.
pub(crate) fn listening(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return false;
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            std::thread::sleep(Duration::from_millis(20));
            return matches!(child.try_wait(), Ok(None));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Status code of `GET path` (raw request target) on 127.0.0.1:port.
pub(crate) fn get_status(port: u16, path: &str) -> u16 {
    get(port, path).0
}

/// Status code and body of `GET path` (raw request target) on 127.0.0.1:port.
pub(crate) fn get(port: u16, path: &str) -> (u16, String) {
    get_from(port, "localhost", path)
}

/// [`get`] with a `Host` header.
pub(crate) fn get_from(port: u16, host: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .trim_end()
        .to_owned();
    (status, body)
}

impl Nginx {
    /// What nginx has written to its error log so far, read lossily: nginx logs request
    /// paths as they were decoded, so a line may hold invalid UTF-8 (a strict read would
    /// fail and hide every line).
    pub(crate) fn error_log(&self) -> String {
        let log = std::fs::read(self._prefix.path().join("error.log")).unwrap_or_default();
        String::from_utf8_lossy(&log).into_owned()
    }
}
