//! The module layout (`--layout module`): what it refuses, how routewall's nginx module
//! behaves in a real server, and how nginx rejects a table it cannot use. Its exactness
//! is measured in `differential.rs`.

use std::process::Command;
use std::time::{Duration, Instant};

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
            &*format!("routewall_table t {{ {clean} top \"^(\"; }}"),
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
            "routewall_table \"t\" is duplicate",
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
    let strict = strict_reader_cases(clean);
    let all = cases.iter().copied().chain(
        strict
            .iter()
            .map(|(http, expected)| (http.as_str(), *expected)),
    );
    for (http, expected) in all {
        let (ok, err) = nginx_t(http);
        assert!(!ok, "nginx -t accepted {http}");
        let emerg: Vec<&str> = err.lines().filter(|l| l.contains("[emerg]")).collect();
        assert_eq!(emerg.len(), 1, "one error line expected: {http}: {err}");
        assert!(emerg[0].contains(expected), "{http}: {err}");
    }
    // `query` is searched for, so it need not be anchored (routewall writes `(?:^|&)KEY`).
    let (ok, err) = nginx_t(&format!(
        "routewall_table t {{ {clean} query \"(?:^|&)k=\"; single_slashes \"^[^/]\"; exact /a; segment \"^/x\" ~{LOWER}:1:- =.json; route =a @0 \"*^/.\"; route =; group /a/; regex_single \"^/a/b$\"; group /a/b/; top_single \"^/c$\"; }}\nserver {{ listen 127.0.0.1:9; location / {{ routewall t; }} }}"
    ));
    assert!(ok, "{err}");
}

/// Tables the module once took, wrongly or silently, that `nginx -t` now refuses with one
/// line naming the entry (issue #16).
fn strict_reader_cases(clean: &str) -> Vec<(String, &'static str)> {
    let table = |entries: &str| format!("routewall_table t {{ {clean} {entries} }}");
    vec![
        // A second group of one prefix was never looked up: its regexes were left out.
        (
            table("group /a/; regex \"^/a/b$\"; group /a/; regex \"^/a/c$\";"),
            "routewall_table group \"/a/\" is duplicate",
        ),
        (
            "routewall_table t { clean \"\"; }".to_owned(),
            "clean regex \"\" must start with \"^\"",
        ),
        (
            "routewall_table t { clean \"[^.]*\"; }".to_owned(),
            "clean regex \"[^.]*\" must start with \"^\"",
        ),
        // A leading `^` anchors the first branch only.
        (
            "routewall_table t { clean \"^/a|/b\"; }".to_owned(),
            "clean regex \"^/a|/b\" is not anchored",
        ),
        (table("query \"\";"), "query regex must not be empty"),
        (table(clean), "routewall_table entry \"clean\" is duplicate"),
        (
            table("query \"a\"; query \"b\";"),
            "routewall_table entry \"query\" is duplicate",
        ),
        (
            table("single_slashes \"^a\"; single_slashes \"^b\";"),
            "routewall_table entry \"single_slashes\" is duplicate",
        ),
        (
            table("single_slashes \"[^/]\";"),
            "single_slashes regex \"[^/]\" must start with \"^\"",
        ),
        (
            table("top \"/a\";"),
            "top regex \"/a\" must start with \"^\"",
        ),
        (
            table("group /a/; regex_single \"^/a/b|/c\";"),
            "regex_single regex \"^/a/b|/c\" is not anchored",
        ),
        (
            table("route =a \"*^/b|/c\";"),
            "route tail regex \"^/b|/c\" is not anchored",
        ),
        (
            table("segment \"^/x|y\" =x;"),
            "segment regex \"^/x|y\" is not anchored",
        ),
        // Without items an ASCII segment would match nothing but an empty one.
        (
            table("segment \"^/x\\\\z\";"),
            "segment \"^/x\\z\" has no items",
        ),
        // Tokens are compared as C strings: `route\0x` would pass for `route`.
        (
            table("route \"=a\0b\";"),
            "routewall_table entry \"route\" holds a NUL byte",
        ),
        (
            table("exact\0x /a;"),
            "routewall_table entry \"exact\" holds a NUL byte",
        ),
        (
            format!("routewall_table \"t\0x\" {{ {clean} }}"),
            "\"routewall_table\" directive name holds a NUL byte",
        ),
        (
            format!(
                "routewall_table t {{ {clean} }}\nserver {{ listen 127.0.0.1:9; location / {{ routewall \"t\0\"; }} }}"
            ),
            "\"routewall\" directive holds a NUL byte",
        ),
        // `routewall off;` means no check: a table of that name could never be used.
        (
            format!("routewall_table off {{ {clean} }}"),
            "name \"off\" is reserved",
        ),
    ]
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

/// nginx with the module checking the whole server against `table` (hand-made, named
/// `t`), in front of `location / { return 200 }` and `server_extra`.
fn serve_table(table: &str, server_extra: &str) -> Nginx {
    Nginx::start_with_main(
        &format!("load_module {};", nginx_module().display()),
        table,
        &format!(
            "        routewall t;\n        location / {{ return 200 \"passed\\n\"; }}\n{server_extra}"
        ),
    )
}

/// The module's lines in the error log.
fn refusals(nginx: &Nginx) -> Vec<String> {
    nginx
        .error_log()
        .lines()
        .filter(|line| line.contains("routewall_table"))
        .map(str::to_owned)
        .collect()
}

/// `GET path`'s status, and how long it took.
fn timed_status(port: u16, path: &str) -> (u16, Duration) {
    let start = Instant::now();
    let status = get_status(port, path);
    (status, start.elapsed())
}

/// The one refusal the log holds: at `warn`, naming `reason`.
fn one_refusal(nginx: &Nginx, reason: &str) -> String {
    let log = nginx.error_log();
    let lines = refusals(nginx);
    assert_eq!(lines.len(), 1, "one line expected: {log}");
    assert!(lines[0].contains(" [warn] "), "{log}");
    assert!(lines[0].contains(reason), "{log}");
    assert!(lines[0].contains("request refused"), "{log}");
    assert!(!log.contains("[alert]"), "{log}");
    lines[0].clone()
}

/// A path part that decodes to a newline and then text shaped like a log line.
const FORGED: &str = "%0A2099/01/01%2000:00:00%20[emerg]%20forged";

/// Issue #16: a regex that PCRE cannot finish used to count as no match, logged at
/// `alert` with the decoded path (whose newline forged a log line), and the walk went on
/// to the next regex. Now the request is refused there and then, and logged once.
#[test]
fn a_regex_that_fails_refuses_the_request_at_once_and_logs_it_once() {
    // Each tail backtracks over a run of `a`s nested in a repetition: PCRE2 hits the
    // module's depth limit on 2,000 of them followed by a byte that no tail takes (the
    // first tail fails; the others, whose errors the old module logged too, never run).
    // The named location checks the refused request again, as `error_page` does.
    let table = r#"    routewall_table t {
        clean "^[^.]*\z";
        query "(?:^|&)debug=";
        exact /ok;
        route =slow "*^/[^a]*(?:a|a)*\z";
        route =slow "*^/[^a]*(a+)+\z";
        route =slow "*^/[^a]*(a|aa)+\z";
    }"#;
    let nginx = serve_table(
        table,
        "        error_page 404 @again;\n        location @again { return 404 \"again\\n\"; }",
    );
    let attack = format!("/slow/{FORGED}/{}!", "a".repeat(2000));
    let (status, took) = timed_status(nginx.port, &attack);
    assert_eq!(status, 404);
    assert!(took < Duration::from_secs(2), "{took:?}");
    let line = one_refusal(
        &nginx,
        "its route tail regex failed (pcre2_match() returned",
    );
    // The path is there, escaped: the newline and spaces as `\xHH`, on the one line.
    assert!(
        line.contains(r#"path "/slow/\x0A2099/01/01\x2000:00:00\x20[emerg]\x20forged/aaa"#),
        "{line}"
    );
    let log = nginx.error_log();
    assert!(!log.lines().any(|l| l.starts_with("2099/")), "{log}");
    assert!(!log.contains("\n2099"), "{log}");
    // The abort is the request's own: the table still works.
    assert_eq!(get(nginx.port, "/ok"), (200, "passed".to_owned()));
    assert_eq!(get_status(nginx.port, "/slow/xyz/aaa"), 200);
    assert_eq!(get_status(nginx.port, "/ok?x=1"), 200);
    assert_eq!(get_status(nginx.port, "/ok?nodebug=1"), 200);
    assert_eq!(get_status(nginx.port, "/ok?x=1&debug=1"), 404);
    assert_eq!(get_status(nginx.port, "/ok?debug=1"), 404);
    assert_eq!(get_status(nginx.port, "/nothing"), 404);
    assert_eq!(refusals(&nginx).len(), 1, "{}", nginx.error_log());
}

/// Every regex run draws on one budget of PCRE2 match() calls per request: 300 regexes
/// that each scan a long path lazily (about 6,000 calls apiece, none failing) spend it,
/// and the request is refused once it is spent instead of running the rest.
#[test]
fn a_request_that_spends_its_regex_calls_is_refused_and_logged_once() {
    // `[ab]*?` and `[bc]` overlap, so PCRE2 cannot make the repetition possessive.
    let tops = r#"top "^/[ab]*?[bc]\z"; "#.repeat(300);
    let table = format!("    routewall_table t {{ clean \"^[^.]*\\z\"; {tops} }}");
    let nginx = serve_table(&table, "");
    let (status, took) = timed_status(nginx.port, &format!("/{}e", "a".repeat(6000)));
    assert_eq!(status, 404);
    assert!(took < Duration::from_secs(2), "{took:?}");
    one_refusal(
        &nginx,
        "the request spent its budget of 4000000 regex calls",
    );
    assert_eq!(get_status(nginx.port, "/aab"), 200);
    assert_eq!(
        get_status(nginx.port, &format!("/{}c", "a".repeat(6000))),
        200
    );
    assert_eq!(refusals(&nginx).len(), 1, "{}", nginx.error_log());
}

/// The walk's reading draws on a budget of bytes per request: a segment pattern is
/// charged the segment it reads, so 2,200 patterns at one node over an 8 KB segment spend
/// it, where a short segment passes them all.
#[test]
fn a_request_that_spends_its_bytes_is_refused_and_logged_once() {
    let mut table = String::from("    routewall_table t {\n        clean \"^[^.]*\\z\";\n");
    for i in 0..2200 {
        table.push_str(&format!(
            "        segment \"^/[a-z]*!{i}\\\\z\" ~{LOWER}:0:- =!{i};\n"
        ));
    }
    for i in 0..2200 {
        table.push_str(&format!("        route @{i};\n"));
    }
    table.push_str("    }");
    let nginx = serve_table(&table, "");
    let (status, took) = timed_status(nginx.port, &format!("/{}", "a".repeat(8000)));
    assert_eq!(status, 404);
    assert!(took < Duration::from_secs(2), "{took:?}");
    one_refusal(
        &nginx,
        "the request spent its budget of 16777216 bytes read",
    );
    assert_eq!(get_status(nginx.port, "/abc!5"), 200);
    assert_eq!(get_status(nginx.port, "/x!2199"), 200);
    assert_eq!(refusals(&nginx).len(), 1, "{}", nginx.error_log());
}
