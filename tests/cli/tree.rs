//! The tree layout (`--layout tree`): what it refuses, and how it sits in a real server
//! next to the operator's own locations. Its exactness is measured in `differential.rs`.

use crate::support::{
    Nginx, TreePass, app_dir, generate_to, get, get_status, refused, routewall, stderr,
};

#[test]
fn the_tree_layout_needs_a_pass_file_and_the_pass_file_the_tree() {
    refused(
        "basic",
        &["--layout", "tree"],
        "--layout tree needs --pass FILE",
    );
    refused(
        "basic",
        &["--pass", "/etc/nginx/app-pass.conf"],
        "--pass applies to --layout tree only",
    );
    refused(
        "basic",
        &["--nginx-serves", "/static/"],
        "--nginx-serves applies to --layout tree only",
    );
    refused(
        "basic",
        &[
            "--layout",
            "tree",
            "--pass",
            "/etc/x.conf",
            "--nginx-serves",
            "static/",
        ],
        "served prefix `static/` must start with `/`",
    );
    refused(
        "basic",
        &["--layout", "tree", "--pass", "relative/pass.conf"],
        "must be an absolute path",
    );
    refused(
        "basic",
        &["--layout", "tree", "--pass", "/etc/nginx/*.conf"],
        "must be an absolute path without `$`, `*`",
    );
}

#[test]
fn what_locations_cannot_check_is_refused_not_widened() {
    let pass = "/etc/nginx/app-pass.conf";
    refused(
        "basic",
        &["--layout", "tree", "--pass", pass, "--methods"],
        "the tree layout supports neither --methods",
    );
    refused(
        "basic",
        &["--layout", "tree", "--pass", pass, "--mode", "monitor"],
        "the tree layout supports neither",
    );
    refused(
        "hosts",
        &["--layout", "tree", "--pass", pass],
        "answers on some hosts only, which the tree and module layouts cannot check",
    );
}

#[test]
fn the_pass_file_may_name_upstreams_of_the_operators_own_configuration() {
    // The scratch `nginx -t` swaps the pass file for a stand-in: `app_backend` is only
    // defined in the operator's nginx.conf.
    let pass = TreePass::holding("proxy_pass http://app_backend;\n");
    let out = tempfile::tempdir().expect("tempdir");
    let result = generate_to(&app_dir("basic"), "app", out.path(), &pass.args());
    assert!(result.status.success(), "{}", stderr(&result));
    let tree = std::fs::read_to_string(out.path().join("tree.conf")).expect("tree.conf");
    assert!(tree.contains(&format!("include \"{}\";", pass.file())));
    assert!(!out.path().join("location.conf").exists());
}

#[test]
fn the_operators_own_locations_keep_working_beside_the_tree() {
    let pass = TreePass::new();
    let out = tempfile::tempdir().expect("tempdir");
    let result = generate_to(
        &app_dir("basic"),
        "app",
        out.path(),
        &[&pass.args()[..], &["--nginx-serves", "/static/"]].concat(),
    );
    assert!(result.status.success(), "{}", stderr(&result));
    let tree = std::fs::read_to_string(out.path().join("tree.conf")).expect("tree.conf");
    assert!(
        tree.contains(
            "# left out: /static/<path:filename> (static): under /static/, which the server serves itself"
        ),
        "{tree}"
    );
    let o = out.path().display();
    let nginx = Nginx::start(
        &format!("    include {o}/http.conf;"),
        &format!(
            "        include {o}/tree.conf;\n        location ^~ /static/ {{ return 200 \"static\\n\"; }}"
        ),
    );
    assert_eq!(
        get(nginx.port, "/static/app.css"),
        (200, "static".to_owned())
    );
    assert_eq!(get(nginx.port, "/about"), (200, "passed".to_owned()));
    assert_eq!(get_status(nginx.port, "/console"), 404);
    assert_eq!(
        get_status(nginx.port, "/about?__debugger__=yes&cmd=resource"),
        404
    );
    // Dot segments are refused for the whole server: nginx would resolve them, the app not.
    assert_eq!(get_status(nginx.port, "/static/../about"), 404);
    assert_eq!(get_status(nginx.port, "/static/%2e%2e/about"), 404);
    // An escape nginx decodes is not a dot segment: the slow check lets it through.
    assert_eq!(get_status(nginx.port, "/%61bout"), 200);
}

#[test]
fn check_knows_the_tree_layouts_files() {
    let out = tempfile::tempdir().expect("tempdir");
    let o = out.path().to_str().expect("utf-8");
    let tree = [
        "--layout",
        "tree",
        "--pass",
        "/etc/nginx/app-pass.conf",
        "--nginx-serves",
        "/static/",
        "--no-validate",
    ];
    let generated = generate_to(&app_dir("basic"), "app", out.path(), &tree);
    assert!(generated.status.success(), "{}", stderr(&generated));
    let base = [
        "check", "--source", "flask", "--app", "app", "--target", "nginx", "--output", o,
    ];
    let same = routewall(&app_dir("basic"), &[&base[..], &tree[..]].concat());
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    // Without the tree's options, check expects the location layout's files.
    let other = routewall(
        &app_dir("basic"),
        &[&base[..], &["--no-validate"][..]].concat(),
    );
    assert_eq!(other.status.code(), Some(1), "{}", stderr(&other));
    assert!(
        stderr(&other).contains("location.conf"),
        "{}",
        stderr(&other)
    );
}

#[test]
fn doctor_tells_to_remove_an_app_location_beside_the_tree() {
    let pass = TreePass::holding("proxy_pass http://127.0.0.1:9;\nproxy_set_header Host $host;\n");
    let out = tempfile::tempdir().expect("tempdir");
    let result = generate_to(&app_dir("basic"), "app", out.path(), &pass.args());
    assert!(result.status.success(), "{}", stderr(&result));
    let o = out.path().display();
    let conf = out.path().join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "events {{}}\nhttp {{\n    include {o}/http.conf;\n    server {{\n        server_name shop.test;\n        include {o}/tree.conf;\n        location = /internal-admin {{ proxy_pass http://127.0.0.1:9; proxy_set_header Host $host; }}\n    }}\n}}\n"
        ),
    )
    .expect("write");
    let report = routewall(
        &app_dir("basic"),
        &["doctor", "--nginx-conf", conf.to_str().expect("utf-8")],
    );
    let text = String::from_utf8_lossy(&report.stdout);
    assert_eq!(report.status.code(), Some(1), "{text}{}", stderr(&report));
    assert!(
        text.contains("BYPASS  location = /internal-admin")
            && text.contains("outside the tree layout's locations; remove it"),
        "{text}"
    );
    assert!(!text.contains("location.conf"), "{text}");
    assert!(text.contains("ok      location = \"/about\""), "{text}");
}
