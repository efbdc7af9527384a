//! Reading a real nginx configuration tree, to check that the allowlist is in effect.
//!
//! Parsing is done by `nginx-lint-parser` (any directive name, quoted strings, raw lua
//! blocks, positions); this module only follows `include` (with globs, relative to the
//! main file's directory as nginx does) and answers one question per server: does every
//! location that passes requests to the app include the allowlist?

use std::path::{Path, PathBuf};

use nginx_lint_parser::ast::{ConfigItem, Directive};

/// Includes nested deeper than this are taken for a loop.
const MAX_INCLUDE_DEPTH: usize = 32;

/// Directives that hand a request to an upstream application.
const PASSES: [&str; 6] = [
    "proxy_pass",
    "fastcgi_pass",
    "uwsgi_pass",
    "scgi_pass",
    "grpc_pass",
    "memcached_pass",
];

/// A directive with its includes expanded, and where it was written.
#[derive(Debug, Clone)]
pub struct Node {
    /// Directive name (`location`).
    pub name: String,
    /// Arguments as written, quotes included (`=`, `/admin`).
    pub args: Vec<String>,
    /// The file it was written in.
    pub file: PathBuf,
    /// Its line (1-based).
    pub line: usize,
    /// The block's directives, with includes replaced by what they include.
    pub children: Vec<Node>,
}

/// The configuration could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfError {
    /// A file could not be read or parsed.
    #[error("{file}: {cause}")]
    File {
        /// The file.
        file: String,
        /// Why.
        cause: String,
    },
    /// Includes nest more than 32 levels deep.
    #[error("{0}: includes nest too deep (a loop?)")]
    IncludeLoop(String),
}

/// The main configuration file nginx was built to read (`--conf-path` in `nginx -V`).
pub fn default_conf_path(nginx: &Path) -> Option<PathBuf> {
    let out = std::process::Command::new(nginx).arg("-V").output().ok()?;
    // nginx prints its build options on stderr.
    let text = String::from_utf8_lossy(&out.stderr);
    text.split_whitespace()
        .find_map(|w| w.strip_prefix("--conf-path="))
        .map(PathBuf::from)
}

/// Reads `main` and every file it includes.
pub fn load(main: &Path) -> Result<Vec<Node>, ConfError> {
    let base = main.parent().unwrap_or(Path::new(".")).to_path_buf();
    read_file(main, &base, 0)
}

fn read_file(path: &Path, base: &Path, depth: usize) -> Result<Vec<Node>, ConfError> {
    if depth > MAX_INCLUDE_DEPTH {
        return Err(ConfError::IncludeLoop(path.display().to_string()));
    }
    let error = |cause: String| ConfError::File {
        file: path.display().to_string(),
        cause,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    let config = nginx_lint_parser::parse_string(&text).map_err(|e| error(e.to_string()))?;
    nodes(&config.items, path, base, depth)
}

fn nodes(
    items: &[ConfigItem],
    file: &Path,
    base: &Path,
    depth: usize,
) -> Result<Vec<Node>, ConfError> {
    let mut out = Vec::new();
    for item in items {
        let ConfigItem::Directive(directive) = item else {
            continue;
        };
        if directive.name == "include" {
            // A file that does not exist yet is skipped: on the first run the allowlist's
            // own files are not there (`nginx -t` is what reports a missing include).
            for path in include_targets(directive, base)
                .into_iter()
                .filter(|p| p.exists())
            {
                out.extend(read_file(&path, base, depth + 1)?);
            }
            continue;
        }
        let children = match &directive.block {
            Some(block) if !block.is_raw() => nodes(&block.items, file, base, depth)?,
            _ => Vec::new(),
        };
        out.push(Node {
            name: directive.name.clone(),
            args: directive.args.iter().map(|a| a.raw.clone()).collect(),
            file: file.to_path_buf(),
            line: directive.span.start.line,
            children,
        });
    }
    Ok(out)
}

/// The files an `include` names: relative paths start at the main file's directory,
/// globs expand in sorted order, and a glob that matches nothing is fine (as in nginx).
fn include_targets(directive: &Directive, base: &Path) -> Vec<PathBuf> {
    let Some(pattern) = directive.first_arg() else {
        return Vec::new();
    };
    let full = if Path::new(pattern).is_absolute() {
        PathBuf::from(pattern)
    } else {
        base.join(pattern)
    };
    let full = full.to_string_lossy().into_owned();
    if !full.contains(['*', '?', '[']) {
        return vec![PathBuf::from(full)];
    }
    let mut paths: Vec<PathBuf> = glob::glob(&full)
        .map(|g| g.flatten().collect())
        .unwrap_or_default();
    paths.sort();
    paths
}

/// What `doctor` found for one server block.
#[derive(Debug, Clone)]
pub struct ServerReport {
    /// `server_name` values, or `_`.
    pub names: Vec<String>,
    /// Where the block starts (`file:line`).
    pub at: String,
    /// Locations that pass requests to the app, and whether each is protected.
    pub app_locations: Vec<LocationReport>,
}

/// One location that passes requests to the app.
#[derive(Debug, Clone)]
pub struct LocationReport {
    /// `location = /admin`.
    pub location: String,
    /// Where it is (`file:line`).
    pub at: String,
    /// It includes the allowlist's location file.
    pub protected: bool,
    /// For `proxy_pass`: whether the client's `Host` reaches the app (`proxy_set_header Host
    /// $host` or `$http_host`, here or inherited). Without it the app sees the upstream's
    /// name, so Werkzeug's trusted-host check and any host-based routing are blind.
    pub forwards_host: Option<bool>,
    /// For `proxy_pass`: the value sent as `Host` (`$host`, `$http_host`, …), if any.
    pub host_header: Option<String>,
}

/// The whole answer of `doctor`.
#[derive(Debug, Clone)]
pub struct Report {
    /// Where the http-level include's `map … $NAME_allowed` was found, if anywhere.
    pub http_include: Option<String>,
    /// The loaded allowlist checks hosts (`map … $NAME_domain`): the app must then get
    /// `Host: $host`, the value the check reads.
    pub checks_hosts: bool,
    /// The location-level include file seen in the configuration, if any.
    pub location_include: Option<PathBuf>,
    /// Some server holds the tree layout's `tree.conf`: its app locations are routewall's
    /// own, so an unchecked one is fixed by removing it, not by an include.
    pub tree_layout: bool,
    /// Every server block of every http block.
    pub servers: Vec<ServerReport>,
}

impl Report {
    /// Everything that passes to the app is protected, and the maps are loaded.
    pub fn is_protected(&self) -> bool {
        self.http_include.is_some()
            && self
                .servers
                .iter()
                .flat_map(|s| &s.app_locations)
                .any(|l| l.protected)
            && self
                .servers
                .iter()
                .flat_map(|s| &s.app_locations)
                .all(|l| l.protected)
    }
}

/// Checks every server of `tree` for the allowlist named `name` (its variables are
/// `$NAME_allowed`, …).
pub fn doctor(tree: &[Node], name: &str) -> Report {
    let allowed = format!("${name}_allowed");
    let mut report = Report {
        http_include: None,
        checks_hosts: false,
        location_include: None,
        tree_layout: false,
        servers: Vec::new(),
    };
    for http in tree.iter().filter(|n| n.name == "http") {
        // The tree layout's http.conf has no `$NAME_allowed`; its first map is this one.
        let tree_map = format!("${name}_dot_segments");
        // The module layout's http.conf holds no map: its table is `routewall_table NAME`.
        if let Some(map) = http.children.iter().find(|n| {
            (n.name == "map"
                && (n.args.get(1) == Some(&allowed) || n.args.get(1) == Some(&tree_map)))
                || (n.name == "routewall_table" && n.args.first().map(String::as_str) == Some(name))
        }) {
            report.http_include = Some(format!("{}:{}", map.file.display(), map.line));
        }
        let domain = format!("${name}_domain");
        report.checks_hosts |= http
            .children
            .iter()
            .any(|n| n.name == "map" && n.args.get(1) == Some(&domain));
        for server in http.children.iter().filter(|n| n.name == "server") {
            let names = server
                .children
                .iter()
                .filter(|n| n.name == "server_name")
                .flat_map(|n| n.args.clone())
                .collect::<Vec<_>>();
            let mut app_locations = Vec::new();
            let headers = Headers::default().enter(http).enter(server);
            // The seed-compatible layout checks every request at the top of the server.
            let server_guard = server
                .children
                .iter()
                .any(|n| n.name == "if" && n.args.iter().any(|a| a.contains(&allowed)));
            // The tree layout: the locations of the file that sets `$NAME_dots` at server
            // level are routewall's own.
            let dots = format!("${name}_dots");
            let tree_file = server
                .children
                .iter()
                .find(|n| n.name == "set" && n.args.first() == Some(&dots))
                .map(|n| n.file.clone());
            report.tree_layout |= tree_file.is_some();
            let guards = Guards {
                allowed: &allowed,
                name,
                server_guard,
                tree_file: tree_file.as_deref(),
            };
            let module = module_switch(server)
                .or_else(|| module_switch(http))
                .map(|n| n.args.first().map(String::as_str) == Some(name));
            collect_locations(
                server,
                server,
                &headers,
                module.unwrap_or(false),
                &guards,
                &mut app_locations,
                &mut report.location_include,
            );
            report.servers.push(ServerReport {
                names: if names.is_empty() {
                    vec!["_".to_owned()]
                } else {
                    names
                },
                at: format!("{}:{}", server.file.display(), server.line),
                app_locations,
            });
        }
    }
    report
}

/// The `proxy_set_header` directives in effect: nginx inherits them from the enclosing
/// level only when a level sets none of its own.
#[derive(Debug, Clone, Default)]
struct Headers {
    host: Option<String>,
}

impl Headers {
    fn enter(&self, node: &Node) -> Headers {
        let own: Vec<&Node> = node
            .children
            .iter()
            .filter(|n| n.name == "proxy_set_header")
            .collect();
        if own.is_empty() {
            return self.clone();
        }
        let host = own
            .iter()
            .find(|n| {
                n.args
                    .first()
                    .is_some_and(|h| h.trim_matches('"').eq_ignore_ascii_case("host"))
            })
            .and_then(|n| n.args.get(1).cloned());
        Headers { host }
    }

    fn forwards_host(&self) -> bool {
        self.host
            .as_deref()
            .is_some_and(|v| matches!(v.trim_matches('"'), "$host" | "$http_host"))
    }
}

/// What makes a location checked: the location layout's `if ($NAME_allowed …)` in it, the
/// server layout's at the top of the server, being one of the tree layout's locations, or
/// the module layout's `routewall NAME;` in effect there (nginx inherits it).
struct Guards<'a> {
    allowed: &'a str,
    name: &'a str,
    server_guard: bool,
    tree_file: Option<&'a Path>,
}

/// The module layout's `routewall NAME;` or `routewall off;` directly in `node`.
fn module_switch(node: &Node) -> Option<&Node> {
    node.children.iter().find(|n| n.name == "routewall")
}

fn collect_locations(
    server: &Node,
    parent: &Node,
    inherited: &Headers,
    module_on: bool,
    guards: &Guards<'_>,
    out: &mut Vec<LocationReport>,
    include_file: &mut Option<PathBuf>,
) {
    for location in parent.children.iter().filter(|n| n.name == "location") {
        let headers = inherited.enter(location);
        let switch = module_switch(location);
        let module_on = switch.map_or(module_on, |n| {
            n.args.first().map(String::as_str) == Some(guards.name)
        });
        let named = location.args.first().is_some_and(|a| a.starts_with('@'));
        // Named locations are only reached internally, from a location that is checked.
        if !named && passes_to_app(server, location) {
            let guard = location
                .children
                .iter()
                .find(|n| n.name == "if" && n.args.iter().any(|a| a.contains(guards.allowed)));
            let in_tree = guards.tree_file == Some(location.file.as_path());
            if let Some(guard) = guard.or(switch.filter(|_| module_on)) {
                include_file.get_or_insert_with(|| guard.file.clone());
            }
            let proxies = location.children.iter().any(|n| n.name == "proxy_pass");
            out.push(LocationReport {
                location: format!("location {}", location.args.join(" ")),
                at: format!("{}:{}", location.file.display(), location.line),
                protected: guards.server_guard || guard.is_some() || in_tree || module_on,
                forwards_host: proxies.then(|| headers.forwards_host()),
                host_header: proxies
                    .then(|| {
                        headers
                            .host
                            .as_deref()
                            .map(|h| h.trim_matches('"').to_owned())
                    })
                    .flatten(),
            });
        }
        // Nested locations inherit no `if`: each is checked on its own.
        collect_locations(
            server,
            location,
            &headers,
            module_on,
            guards,
            out,
            include_file,
        );
    }
}

/// A path nginx serves itself, which a server-level allowlist must let through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    /// `/404.html` (exact) or `/static/*` (prefix), as `--allow` takes it.
    pub pattern: String,
    /// Where the location is (`file:line`).
    pub at: String,
}

/// The paths of every location that does not pass requests to the app, for the
/// seed-compatible layout (one check at the top of the server, before nginx picks a
/// location). Refuses, naming the location, where such exemptions could not be exact:
/// regex locations (their matches cannot be listed), and app locations under an exempted
/// prefix (nginx would pick the longer, app prefix for paths the exemption lets through).
pub fn nginx_owned(tree: &[Node]) -> Result<Vec<Owned>, String> {
    let mut owned = Vec::new();
    let mut app = Vec::new();
    for http in tree.iter().filter(|n| n.name == "http") {
        for server in http.children.iter().filter(|n| n.name == "server") {
            walk_locations(server, server, &mut owned, &mut app)?;
        }
    }
    for (app_path, app_at) in &app {
        if let Some(prefix) = owned.iter().find(|o| {
            o.pattern
                .strip_suffix('*')
                .is_some_and(|p| app_path.starts_with(p) && app_path.len() > p.len())
        }) {
            return Err(format!(
                "the app location at {app_at} lies under `{}` served by nginx ({}): a server-level check cannot tell them apart; use the location layout",
                prefix.pattern, prefix.at
            ));
        }
    }
    owned.sort_by(|a, b| a.pattern.cmp(&b.pattern));
    owned.dedup_by(|a, b| a.pattern == b.pattern);
    Ok(owned)
}

fn walk_locations(
    server: &Node,
    parent: &Node,
    owned: &mut Vec<Owned>,
    app: &mut Vec<(String, String)>,
) -> Result<(), String> {
    for location in parent.children.iter().filter(|n| n.name == "location") {
        let at = format!("{}:{}", location.file.display(), location.line);
        let args: Vec<&str> = location
            .args
            .iter()
            .map(|a| a.trim_matches(|c| c == '"' || c == '\''))
            .collect();
        let (modifier, path) = match args.as_slice() {
            [path] => ("", *path),
            [modifier, path] => (*modifier, *path),
            _ => return Err(format!("cannot read the location at {at}")),
        };
        if path.starts_with('@') {
            continue;
        }
        let regex = matches!(modifier, "~" | "~*");
        if passes_to_app(server, location) {
            if regex {
                return Err(format!(
                    "the regex location at {at} passes to the app: a server-level check cannot follow nginx's choice of location; use the location layout"
                ));
            }
            app.push((path.to_owned(), at));
        } else if regex {
            return Err(format!(
                "the regex location at {at} is served by nginx and cannot be listed as paths; use the location layout"
            ));
        } else if modifier == "=" {
            owned.push(Owned {
                pattern: path.to_owned(),
                at,
            });
        } else {
            owned.push(Owned {
                pattern: format!("{path}*"),
                at,
            });
        }
        walk_locations(server, location, owned, app)?;
    }
    Ok(())
}

/// The location hands requests to an upstream itself, or through `try_files … @name` to a
/// named location that does.
fn passes_to_app(server: &Node, location: &Node) -> bool {
    if location
        .children
        .iter()
        .any(|n| PASSES.contains(&n.name.as_str()))
    {
        return true;
    }
    let named_targets = location
        .children
        .iter()
        .filter(|n| n.name == "try_files")
        .filter_map(|n| n.args.last())
        .filter(|a| a.starts_with('@'));
    named_targets.into_iter().any(|target| {
        server
            .children
            .iter()
            .filter(|n| n.name == "location" && n.args.first() == Some(target))
            .any(|named| {
                named
                    .children
                    .iter()
                    .any(|n| PASSES.contains(&n.name.as_str()))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> (tempfile::TempDir, Vec<Node>) {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        let nodes = load(&dir.path().join("nginx.conf")).expect("loads");
        (dir, nodes)
    }

    #[test]
    fn includes_and_globs_are_followed_and_bypasses_found() {
        let (_dir, nodes) = tree(&[
            (
                "nginx.conf",
                "events {}\nhttp {\n  include rw/http.conf;\n  include sites/*;\n}\n",
            ),
            (
                "rw/http.conf",
                "map $uri $routewall_allowed { default 0; }\n",
            ),
            (
                "rw/location.conf",
                "if ($routewall_allowed = 0) { return 404; }\n",
            ),
            (
                "sites/a",
                "server {\n  server_name a.test;\n  location / { include rw/location.conf; proxy_pass http://app; }\n  location = /admin { proxy_pass http://app; }\n  location /static/ { alias /srv/static/; }\n  location /x { try_files $uri @app; }\n  location @app { proxy_pass http://app; }\n}\n",
            ),
        ]);
        let report = doctor(&nodes, "routewall");
        assert!(
            report
                .http_include
                .as_ref()
                .is_some_and(|at| at.ends_with("rw/http.conf:1"))
        );
        let server = &report.servers[0];
        assert_eq!(server.names, ["a.test"]);
        let seen: Vec<(&str, bool)> = server
            .app_locations
            .iter()
            .map(|l| (l.location.as_str(), l.protected))
            .collect();
        assert_eq!(
            seen,
            [
                ("location /", true),
                ("location = /admin", false),
                ("location /x", false)
            ]
        );
        // Neither the server nor `location /` sets Host: the app sees the upstream's name.
        assert_eq!(server.app_locations[0].forwards_host, Some(false));
        assert_eq!(
            server.app_locations[2].forwards_host, None,
            "try_files, not proxy_pass"
        );
        assert!(!report.is_protected());
        assert!(
            report
                .location_include
                .is_some_and(|p| p.ends_with("rw/location.conf"))
        );
    }

    #[test]
    fn the_module_layouts_switch_is_inherited_and_can_be_turned_off() {
        let (_dir, nodes) = tree(&[
            (
                "nginx.conf",
                "http {\n  include rw/http.conf;\n  server {\n    include rw/location.conf;\n    location / { proxy_pass http://app; }\n    location /api/ {\n      location /api/raw/ { routewall off; proxy_pass http://app; }\n      proxy_pass http://app;\n    }\n  }\n  server {\n    location / { include rw/location.conf; proxy_pass http://app; }\n    location /other/ { routewall other; proxy_pass http://app; }\n  }\n}\n",
            ),
            (
                "rw/http.conf",
                "routewall_table routewall {\n  clean \"^\";\n}\n",
            ),
            ("rw/location.conf", "routewall routewall;\n"),
        ]);
        let report = doctor(&nodes, "routewall");
        assert!(
            report
                .http_include
                .as_ref()
                .is_some_and(|at| at.contains("rw/http.conf"))
        );
        let checked: Vec<Vec<(String, bool)>> = report
            .servers
            .iter()
            .map(|s| {
                s.app_locations
                    .iter()
                    .map(|l| (l.location.clone(), l.protected))
                    .collect()
            })
            .collect();
        assert_eq!(
            checked,
            [
                vec![
                    ("location /".to_owned(), true),
                    ("location /api/".to_owned(), true),
                    ("location /api/raw/".to_owned(), false),
                ],
                vec![
                    ("location /".to_owned(), true),
                    ("location /other/".to_owned(), false),
                ],
            ]
        );
        assert!(!report.is_protected());
    }

    #[test]
    fn the_tree_layouts_own_locations_are_checked_and_the_others_not() {
        let (_dir, nodes) = tree(&[
            (
                "nginx.conf",
                "http {\n  include rw/http.conf;\n  server {\n    include rw/tree.conf;\n    location = /admin { proxy_pass http://app; }\n  }\n}\n",
            ),
            (
                "rw/http.conf",
                "map $request_uri $routewall_dot_segments { default 1; }\n",
            ),
            (
                "rw/tree.conf",
                "set $routewall_dots 0;\nlocation = /b { include rw/pass.conf; }\nlocation ^~ /a/ {\n  location ~ ^/a/x$ { include rw/pass.conf; }\n  return 404;\n}\nlocation / { return 404; }\n",
            ),
            (
                "rw/pass.conf",
                "proxy_pass http://app;\nproxy_set_header Host $host;\n",
            ),
        ]);
        let report = doctor(&nodes, "routewall");
        assert!(report.http_include.is_some());
        assert!(report.tree_layout);
        let seen: Vec<(&str, bool)> = report.servers[0]
            .app_locations
            .iter()
            .map(|l| (l.location.as_str(), l.protected))
            .collect();
        assert_eq!(
            seen,
            [
                ("location = /b", true),
                ("location ~ ^/a/x$", true),
                ("location = /admin", false)
            ]
        );
    }

    #[test]
    fn proxy_headers_are_inherited_only_by_levels_that_set_none() {
        let (_dir, nodes) = tree(&[(
            "nginx.conf",
            "http {\n  proxy_set_header Host $host;\n  server {\n    location /a { proxy_pass http://app; }\n    location /b { proxy_set_header X-Real-IP $remote_addr; proxy_pass http://app; }\n  }\n}\n",
        )]);
        let report = doctor(&nodes, "routewall");
        let hosts: Vec<Option<bool>> = report.servers[0]
            .app_locations
            .iter()
            .map(|l| l.forwards_host)
            .collect();
        assert_eq!(hosts, [Some(true), Some(false)]);
    }

    #[test]
    fn host_checks_and_the_forwarded_host_are_reported() {
        let (_dir, nodes) = tree(&[(
            "nginx.conf",
            "http {\n  map $host $routewall_domain { default $host; }\n  server {\n    location / { proxy_set_header Host $http_host; proxy_pass http://app; }\n  }\n}\n",
        )]);
        let report = doctor(&nodes, "routewall");
        assert!(report.checks_hosts);
        let location = &report.servers[0].app_locations[0];
        assert_eq!(location.host_header.as_deref(), Some("$http_host"));
        assert!(!doctor(&nodes, "other").checks_hosts);
    }

    #[test]
    fn an_include_loop_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("nginx.conf"), "include nginx.conf;\n").expect("write");
        let err = load(&dir.path().join("nginx.conf")).expect_err("loop");
        assert!(err.to_string().contains("too deep"), "{err}");
    }
}
