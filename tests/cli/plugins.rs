//! Run-time plugins: built as cdylibs by the test, loaded with `--plugin` or
//! `ROUTEWALL_PLUGINS`, refused when they speak another ABI.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::support::{app_dir, routewall, stderr};

/// Builds workspace package `package` (a cdylib) and returns its library file. It builds
/// into a target directory of its own: a `cargo build -p` resolves features for that one
/// package, and its rlibs in the test run's own directory would give the doctests two
/// copies of `routewall-core` to choose from. Cargo's lock serializes builds; the mutex
/// keeps this process from asking twice.
pub(crate) fn plugin_library(package: &str) -> PathBuf {
    // Each package is built once per test run; the lock also keeps two builds apart.
    static BUILT: Mutex<Vec<(String, PathBuf)>> = Mutex::new(Vec::new());
    let mut built_so_far = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, file)) = built_so_far.iter().find(|(p, _)| p == package) {
        return file.clone();
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target = PathBuf::from(env!("CARGO_BIN_EXE_routewall"))
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("plugins");
    let built = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--locked",
            "-p",
            package,
            "--target-dir",
        ])
        .arg(&target)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        built.status.success(),
        "building {package}: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let file = target
        .join("debug")
        .join(format!("lib{}.so", package.replace('-', "_")));
    assert!(file.is_file(), "{} was not built", file.display());
    built_so_far.push((package.to_owned(), file.clone()));
    file
}

/// `routewall --plugin LIBRARY generate --source S --app A --target T --output OUT FLAGS…`
/// in `dir`, for `[S, A, T]`.
pub(crate) fn generate_with_plugin(
    dir: &Path,
    library: &Path,
    [source, app, target]: [&str; 3],
    out: &Path,
    flags: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "--plugin",
        library.to_str().expect("utf-8"),
        "generate",
        "--source",
        source,
        "--app",
        app,
        "--target",
        target,
        "--output",
        out.to_str().expect("utf-8"),
    ];
    args.extend(flags);
    routewall(dir, &args)
}

#[test]
fn a_plugin_built_for_another_abi_is_refused_with_a_message() {
    let library = plugin_library("routewall-test-wrong-abi");
    let out = tempfile::tempdir().expect("tempdir");
    let result = generate_with_plugin(
        &app_dir("basic"),
        &library,
        ["flask", "app", "nginx"],
        out.path(),
        &[],
    );
    assert_eq!(result.status.code(), Some(2), "{}", stderr(&result));
    let message = stderr(&result);
    assert!(
        message.contains("was built for plugin ABI 2; this routewall speaks ABI 1"),
        "{message}"
    );
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert_eq!(
        std::fs::read_dir(out.path()).expect("read").count(),
        0,
        "nothing is written"
    );
}

#[test]
fn a_library_that_is_not_a_plugin_is_refused() {
    // Any shared library without the entry point: libc will do.
    let libc = [
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists());
    let Some(libc) = libc else {
        panic!("no libc.so.6 where Debian keeps it");
    };
    let result = routewall(&app_dir("basic"), &["--plugin", libc, "plugins", "list"]);
    assert_eq!(result.status.code(), Some(2));
    assert!(
        stderr(&result).contains("exports no `routewall_plugin_v1`"),
        "{}",
        stderr(&result)
    );
    let result = Command::new(env!("CARGO_BIN_EXE_routewall"))
        .args(["plugins", "list"])
        .env("ROUTEWALL_PLUGINS", "/nonexistent/plugin.so")
        .output()
        .expect("runs");
    assert_eq!(result.status.code(), Some(2));
    assert!(
        stderr(&result).contains("cannot load plugin /nonexistent/plugin.so"),
        "{}",
        stderr(&result)
    );
}

#[test]
fn a_panic_inside_a_plugin_is_an_error_naming_it() {
    let library = plugin_library("routewall-test-panicking");
    let listed = routewall(
        &app_dir("basic"),
        &[
            "--plugin",
            library.to_str().expect("utf-8"),
            "plugins",
            "list",
        ],
    );
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.contains("source  panicking 0.0.2") && text.contains(library.to_str().expect("utf-8")),
        "{text}"
    );
    let out = tempfile::tempdir().expect("tempdir");
    let result = generate_with_plugin(
        &app_dir("basic"),
        &library,
        ["panicking", "spec.yaml", "nginx"],
        out.path(),
        &[],
    );
    assert_eq!(result.status.code(), Some(2), "{}", stderr(&result));
    assert!(
        stderr(&result).contains("plugin `panicking`: panicked: cannot read spec.yaml"),
        "{}",
        stderr(&result)
    );
    // The same plugin twice: the second is refused, naming both files.
    let twice = routewall(
        &app_dir("basic"),
        &[
            "--plugin",
            library.to_str().expect("utf-8"),
            "--plugin",
            library.to_str().expect("utf-8"),
            "plugins",
            "list",
        ],
    );
    assert_eq!(twice.status.code(), Some(2));
    assert!(
        stderr(&twice).contains("two sources are registered as `panicking`"),
        "{}",
        stderr(&twice)
    );
}

#[test]
fn a_config_file_names_plugins_and_extra_paths() {
    let library = plugin_library("routewall-haproxy-target");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("routewall.toml");
    std::fs::write(
        &config,
        format!(
            "plugins = [{:?}]\nallow = [\"/socket.io/*\"]\n",
            library.to_str().expect("utf-8")
        ),
    )
    .expect("write");
    let listed = routewall(
        &app_dir("basic"),
        &[
            "--config",
            config.to_str().expect("utf-8"),
            "plugins",
            "list",
        ],
    );
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.contains("target  haproxy"),
        "{text}{}",
        stderr(&listed)
    );
    let out = dir.path().join("out");
    let result = Command::new(env!("CARGO_BIN_EXE_routewall"))
        .args([
            "generate", "--source", "flask", "--app", "app", "--target", "haproxy",
        ])
        .arg("--output")
        .arg(&out)
        .current_dir(app_dir("basic"))
        .env("VIRTUAL_ENV", crate::support::venv())
        .env("ROUTEWALL_CONFIG", &config)
        .output()
        .expect("runs");
    assert!(result.status.success(), "{}", stderr(&result));
    let backend = std::fs::read_to_string(out.join("backend.cfg")).expect("written");
    let origin = format!("/socket.io/* (from config {})", config.display());
    assert!(backend.contains(&origin), "{backend}");
    // A misspelt key is an error, not a silently ignored line.
    std::fs::write(&config, "plugin = []\n").expect("write");
    let typo = routewall(
        &app_dir("basic"),
        &[
            "--config",
            config.to_str().expect("utf-8"),
            "plugins",
            "list",
        ],
    );
    assert_eq!(typo.status.code(), Some(2));
    assert!(
        stderr(&typo).contains("unknown field `plugin`"),
        "{}",
        stderr(&typo)
    );
}
