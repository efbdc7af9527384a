//! The module layout (`--layout module`): what it refuses, how routewall's nginx module
//! behaves in a real server, and how nginx rejects a table it cannot use. Its exactness
//! is measured in `differential.rs`.

use std::process::Command;

use crate::support::{
    Nginx, app_dir, generate_to, generate_with, get, get_status, module_args, nginx_binary,
    nginx_module, refused, routewall, stderr,
};

/// The module layout's `generate` arguments, as `&str`.
fn with_module(extra: &[&str]) -> Vec<String> {
    let mut args = module_args();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn what_the_module_cannot_check_is_refused_not_widened() {
    let args = with_module(&["--methods"]);
    refused(
        "basic",
        &strs(&args),
        "the module layout supports neither --methods",
    );
    let args = with_module(&["--mode", "monitor"]);
    refused("basic", &strs(&args), "the module layout supports neither");
    refused(
        "hosts",
        &strs(&module_args()),
        "answers on some hosts only, which the tree and module layouts cannot check",
    );
    refused(
        "basic",
        &["--nginx-module", "/usr/lib/nginx/modules/x.so"],
        "--nginx-module applies to --layout module only",
    );
    let args = with_module(&["--pass", "/etc/nginx/pass.conf"]);
    refused(
        "basic",
        &strs(&args),
        "--pass applies to --layout tree only",
    );
}

#[test]
fn a_missing_module_is_named_and_nothing_is_written() {
    refused(
        "basic",
        &[
            "--layout",
            "module",
            "--nginx-module",
            "/nonexistent/routewall.so",
        ],
        "the routewall nginx module `/nonexistent/routewall.so` is not there: build it with nginx-module/build.sh",
    );
    // Without validation there is nothing to load: the files are written.
    let out = tempfile::tempdir().expect("tempdir");
    let result = generate_to(
        &app_dir("basic"),
        "app",
        out.path(),
        &["--layout", "module", "--no-validate"],
    );
    assert!(result.status.success(), "{}", stderr(&result));
    let location = std::fs::read_to_string(out.path().join("location.conf")).expect("file");
    assert!(location.ends_with("routewall routewall;\n"), "{location}");
}

#[test]
fn the_check_runs_first_wherever_the_include_stands() {
    let out = generate_with(&app_dir("basic"), "app", &strs(&module_args()));
    let o = out.path().display();
    // The include comes after the location's own `return` here, and is inherited from the
    // server level by a second location; `routewall off` switches it off.
    let nginx = Nginx::start_with_main(
        &format!("load_module {};", nginx_module().display()),
        &format!("    include {o}/http.conf;"),
        &format!(
            "        include {o}/location.conf;\n        location / {{ return 200 \"passed\\n\"; }}\n        location /late/ {{ return 200 \"late\\n\"; include {o}/location.conf; }}\n        location ^~ /static/ {{ routewall off; return 200 \"static\\n\"; }}"
        ),
    );
    assert_eq!(get(nginx.port, "/about"), (200, "passed".to_owned()));
    assert_eq!(get_status(nginx.port, "/console"), 404);
    assert_eq!(get_status(nginx.port, "/late/x"), 404);
    assert_eq!(get(nginx.port, "/static/x"), (200, "static".to_owned()));
    assert_eq!(
        get_status(nginx.port, "/about?__debugger__=yes&cmd=resource"),
        404
    );
    assert_eq!(get_status(nginx.port, "/user/../about"), 404);
    assert_eq!(get_status(nginx.port, "/%61bout"), 200);
}

/// `nginx -t` on a configuration that loads the module and holds `http`.
fn nginx_t(http: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "load_module {};\npid {d}/nginx.pid;\nevents {{}}\nhttp {{\n{http}\n}}\n",
            nginx_module().display()
        ),
    )
    .expect("write");
    let result = Command::new(nginx_binary())
        .args(["-t", "-q", "-p"])
        .arg(dir.path())
        .arg("-c")
        .arg(&conf)
        .arg("-e")
        .arg(dir.path().join("error.log"))
        .output()
        .expect("nginx -t runs");
    (result.status.success(), stderr(&result))
}

/// The bits of `[a-z]` in a `segment` run.
const LOWER: &str = "07fffffe000000000000000000000000";

#[test]
fn nginx_refuses_a_table_the_module_cannot_use() {
    let clean = r#"clean "^[^.]*$";"#;
    let cases = [
        ("routewall_table t { exact /a; }", "has no \"clean\" regex"),
        (
            &*format!("routewall_table t {{ {clean} regex \"^/a$\"; }}"),
            "\"regex\" before any \"group\"",
        ),
        (
            &*format!("routewall_table t {{ {clean} top \"(\"; }}"),
            "pcre2_compile() failed",
        ),
        (
            &*format!("routewall_table t {{ {clean} group a/; }}"),
            "must start and end with \"/\"",
        ),
        (
            &*format!("routewall_table t {{ {clean} exact /a /b; }}"),
            "takes one argument",
        ),
        (
            &*format!("routewall_table t {{ {clean} allow /a; }}"),
            "unknown routewall_table entry \"allow\"",
        ),
        (
            &*format!("routewall_table t {{ {clean} }}\nroutewall_table t {{ {clean} }}"),
            "is duplicate",
        ),
        (
            "server { listen 127.0.0.1:9; location / { routewall nope; } }",
            "no routewall_table \"nope\"",
        ),
        // The module keeps the prefixes of a path's first 64 slashes on its stack.
        (
            &*format!(
                "routewall_table t {{ {clean} group {}/; }}",
                "/a".repeat(66)
            ),
            "is deeper than 64 segments",
        ),
        (
            &*format!("routewall_table t {{ {clean} segment \"^/x\" ~zz:1:-; }}"),
            "is neither \"=TEXT\" without \"/\" nor \"~BITS:MIN:MAX\"",
        ),
        // A run of [a-z] before `abc` could end anywhere: greedy matching would miss.
        (
            &*format!("routewall_table t {{ {clean} segment \"^/x\" ~{LOWER}:1:- =abc; }}"),
            "can take what follows it",
        ),
        (
            &*format!("routewall_table t {{ {clean} route =a @0; }}"),
            "names no segment defined before it",
        ),
        (
            &*format!("routewall_table t {{ {clean} route \"*^/a\" =b; }}"),
            "is neither \"=TEXT\" without \"/\", \"@N\" nor, last, \"*^REGEX\"",
        ),
        // An unanchored tail would allow every path under /admin/.
        (
            &*format!("routewall_table t {{ {clean} route =admin \"*\"; }}"),
            "nor, last, \"*^REGEX\"",
        ),
        (
            &*format!("routewall_table t {{ {clean} segment \"=abc\"; }}"),
            "must start with \"^\"",
        ),
        (
            &*format!(
                "routewall_table t {{ {clean} segment \"^/x\" =x; route =a; segment \"^/y\" =y; }}"
            ),
            "segment after a route",
        ),
        (
            &*format!("routewall_table t {{ {clean} route; }}"),
            "takes arguments",
        ),
        (
            &*format!("routewall_table t {{ {clean} route =a/b; }}"),
            "is neither \"=TEXT\"",
        ),
        (
            &*format!(
                "routewall_table t {{ {clean} route{}; }}",
                " =a".repeat(257)
            ),
            "takes more than 256 steps",
        ),
    ];
    for (http, expected) in cases {
        let (ok, err) = nginx_t(http);
        assert!(!ok, "nginx -t accepted {http}");
        assert!(err.contains(expected), "{http}: {err}");
    }
    let (ok, err) = nginx_t(&format!(
        "routewall_table t {{ {clean} exact /a; segment \"^/x\" ~{LOWER}:1:- =.json; route =a @0 \"*^/.\"; route =; group /a/; regex_single \"^/a/b$\"; top_single \"^/c$\"; }}\nserver {{ listen 127.0.0.1:9; location / {{ routewall t; }} }}"
    ));
    assert!(ok, "{err}");
}

#[test]
fn check_knows_the_module_layouts_files() {
    let out = tempfile::tempdir().expect("tempdir");
    let o = out.path().to_str().expect("utf-8");
    let module = ["--layout", "module", "--no-validate"];
    let generated = generate_to(&app_dir("basic"), "app", out.path(), &module);
    assert!(generated.status.success(), "{}", stderr(&generated));
    let base = [
        "check", "--source", "flask", "--app", "app", "--target", "nginx", "--output", o,
    ];
    let same = routewall(&app_dir("basic"), &[&base[..], &module[..]].concat());
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    let other = routewall(
        &app_dir("basic"),
        &[&base[..], &["--no-validate"][..]].concat(),
    );
    assert_eq!(other.status.code(), Some(1), "{}", stderr(&other));
}
