//! The library examples (`examples/*.rs`) build with the tests and still run.

use std::path::PathBuf;
use std::process::Command;

/// `target/debug/examples/NAME`, built (a no-op when `cargo test` already built it, as a
/// whole-workspace run does) next to this test binary.
fn example(name: &str) -> PathBuf {
    let built = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--example", name, "--manifest-path"])
        .arg(crate::support::repo().join("Cargo.toml"))
        .status()
        .expect("cargo runs");
    assert!(built.success(), "cargo build --example {name}");
    let exe = std::env::current_exe().expect("test binary");
    let debug = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/debug");
    debug.join("examples").join(name)
}

#[test]
fn the_custom_emitter_example_runs() {
    let out = Command::new(example("custom_emitter"))
        .output()
        .expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text, "^/$\n^/user/(?:\\d+)$\n");
}

#[test]
fn the_custom_source_example_feeds_the_nginx_emitter() {
    let dir = tempfile::tempdir().expect("tempdir");
    let routes = dir.path().join("routes.txt");
    std::fs::write(&routes, "GET /\nGET /user/<int:id>\nPOST /login\n").expect("write");
    let out = Command::new(example("custom_source"))
        .arg(&routes)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("3 routes -> "));
}
