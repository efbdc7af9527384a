//! The NGINX emitter: an include that lets exactly an app's routes through.
//!
//! The output is:
//! * `http.conf`, included once inside `http { }`: `map` blocks that compute
//!   `$routewall_allowed` from the request;
//! * `location.conf`, included first in every location that passes requests to the app:
//!   `if ($routewall_allowed = 0) { return 404; }`;
//! * with [`EmitContext::server_include`], `server.conf`: the same check for the top of a
//!   server block (the seed tool's layout).
//!
//! With [`EmitContext::pass_include`] (the tree layout) it is instead `tree.conf`, the
//! server's locations themselves (exact paths, `^~` prefix groups holding their regexes,
//! a catch-all 404), each allowing one including that file, plus an `http.conf` with the
//! few maps tree.conf reads. With [`EmitContext::server_module`] (the module layout) the
//! same allowlist is a `routewall_table` in `http.conf` that routewall's nginx module
//! checks, switched on by `routewall NAME;` in `location.conf`.
//!
//! This shape leaves the user's own locations alone: a generated `location /` would collide
//! with theirs, and a regex catch-all would shadow the prefix locations nginx serves itself
//! (`/static/`, the ACME challenge, a custom 404 page). Exact paths live in a hash and
//! dynamic routes in a tree of lazily evaluated maps keyed by path segments, so a request
//! runs the regexes of a few routes, not of all of them. [`conf`] reads a real nginx
//! configuration tree (for `doctor` and the server layout).
//!
//! # Example
//!
//! ```
//! use routewall_core::{Converter, EmitContext, Emitter, Param, Route, RouteTable, Segment};
//! use routewall_nginx_emitter::NginxEmitter;
//!
//! let table = RouteTable::new("flask", "app")
//!     .with_route(Route::new("index", "/", vec![Segment::text("/")]))
//!     .with_route(Route::new("user", "/user/<int:id>", vec![
//!         Segment::text("/user/"),
//!         Segment::Param(Param::new("id", Converter::new("int", r"\d+"))),
//!     ]));
//! let output = NginxEmitter.emit(&table, &EmitContext::default())?;
//! let http = &output.file("http.conf").expect("always written").contents;
//! assert!(http.contains(r#""\user" $routewall_path_n1_rest;"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod conf;
mod module;
mod pcre;
mod quote;
mod tree;
mod validate;

pub use validate::{find_nginx, nginx_reload, nginx_t_in_place};

use routewall_allowlist::{self as layout, pattern};
use routewall_core::{
    DomainBinding, EmitContext, EmitError, Emitter, EmitterEntry, Output, OutputFile, RouteTable,
    Templates,
};
use serde::Serialize;

/// Built-in templates, by name.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("nginx/http.conf", include_str!("../templates/http.conf")),
    (
        "nginx/location.conf",
        include_str!("../templates/location.conf"),
    ),
    (
        "nginx/server.conf",
        include_str!("../templates/server.conf"),
    ),
    ("nginx/tree.conf", include_str!("../templates/tree.conf")),
    (
        "nginx/tree-http.conf",
        include_str!("../templates/tree-http.conf"),
    ),
    (
        "nginx/module-http.conf",
        include_str!("../templates/module-http.conf"),
    ),
    (
        "nginx/module.conf",
        include_str!("../templates/module.conf"),
    ),
];

/// Writes NGINX allowlists (`--target nginx`).
#[derive(Debug, Default, Clone, Copy)]
pub struct NginxEmitter;

inventory::submit! {
    EmitterEntry {
        name: "nginx",
        summary: "NGINX: http.conf (maps, once in http {}) + location.conf (one line per app location)",
        make: || Box::new(NginxEmitter),
    }
}

/// What every template's context starts with: where the routes came from, what the
/// output's names start with, and the notes for the header comment.
#[derive(Serialize)]
pub(crate) struct Header<'a> {
    version: &'a str,
    source: String,
    app: String,
    framework: Option<String>,
    prefix: &'a str,
    counts: Counts,
    skipped: Vec<String>,
    warnings: Vec<String>,
    extras: Vec<String>,
}

impl<'a> Header<'a> {
    /// The header for `routes` emitted under `ctx`, the notes escaped for comments.
    pub(crate) fn new(
        routes: &RouteTable,
        ctx: &'a EmitContext,
        counts: Counts,
        notes: [&[String]; 3],
    ) -> Self {
        let [skipped, warnings, extras] =
            notes.map(|lines| lines.iter().map(|s| quote::comment(s)).collect::<Vec<_>>());
        Header {
            version: env!("CARGO_PKG_VERSION"),
            source: quote::comment(&routes.source),
            app: quote::comment(&routes.app),
            framework: routes.framework.as_deref().map(quote::comment),
            prefix: &ctx.name,
            counts,
            skipped,
            warnings,
            extras,
        }
    }
}

#[derive(Serialize)]
struct Context<'a> {
    #[serde(flatten)]
    header: Header<'a>,
    /// `map_hash_max_size` / `map_hash_bucket_size`, only when nginx's defaults are too
    /// small: they are `http`-level settings, and a second include setting them again
    /// (another app, or the user's own) would be a duplicate directive.
    hash_sizes: Option<(usize, usize)>,
    /// `variables_hash_max_size` (with a bucket size of 128, as the generated names are
    /// long), likewise only when the variables defined here would crowd nginx's default
    /// table (1024 for all variables of the configuration).
    variables_hash_size: Option<usize>,
    /// The map key that catches a path that is not well-formed UTF-8, before any
    /// Unicode-mode regex runs on it.
    utf8_guard: String,
    tables: Vec<TableContext>,
    /// How the request's domain is computed from `$host`, when some routes answer on some
    /// hosts only; `None` otherwise (and then `hosts` and `joins` are empty).
    domain: Option<DomainContext>,
    /// Per domain pattern (by index `j`, variable `$PREFIX_host_j`): the quoted regex key
    /// the request's domain must match.
    hosts: Vec<String>,
    /// Tables split by host pattern or slash rule, joined back into `$PREFIX_NAME_ok`.
    joins: Vec<JoinContext>,
    /// Some routes do not merge slashes: define `$PREFIX_single_slashes`, 1 when the raw
    /// path holds no empty segment.
    single_slashes: bool,
    /// Domain patterns (by index `j`) whose routes also need single slashes: define
    /// `$PREFIX_host_j_ss`, both at once.
    host_slashes: Vec<usize>,
    /// The regex (a quoted map key) that cuts the first segments into named captures.
    segment_regex: String,
    /// With method enforcement: each method some rule names, as a quoted token, by index.
    methods: Vec<String>,
    /// One regex over `$args` finding any blocked query key, if there are any.
    blocked_query: Option<String>,
    /// Monitor mode: the log file (a quoted token) for requests that would be refused.
    monitor_log: Option<String>,
}

/// The summary line's numbers.
#[derive(Serialize)]
pub(crate) struct Counts {
    pub(crate) routes: usize,
    pub(crate) statics: usize,
    pub(crate) groups: usize,
    pub(crate) regexes: usize,
}

#[derive(Serialize)]
struct TableContext {
    name: String,
    statics: Vec<String>,
    /// First-segment keys and the variable of the group each selects.
    groups: Vec<Choice>,
    /// Every group node of the segment tree, flattened.
    nodes: Vec<NodeContext>,
    fallback: Vec<String>,
    everywhere: Vec<String>,
    /// Unicode-mode regexes, tried last and only for well-formed UTF-8 (the guard).
    unicode: Vec<String>,
}

/// The `map $host $PREFIX_domain` that computes the domain routes are matched with.
#[derive(Serialize)]
struct DomainContext {
    /// The map's default value: `$host`, or a quoted constant.
    default: String,
    /// The map's other entries, tested in order: quoted key and value.
    entries: Vec<(String, String)>,
}

/// A table split by domain pattern: `steps` are tried in order until one allows.
#[derive(Serialize)]
struct JoinContext {
    name: String,
    steps: Vec<StepContext>,
}

/// One part of a [`JoinContext`]: `var` asks `host` (the part's condition, when its routes
/// answer on some hosts only or do not merge slashes) and then `hit`, which is 1 when the part's table `table_ok` allows;
/// otherwise the answer is `next` (the next step's variable, or `0`).
#[derive(Serialize)]
struct StepContext {
    var: String,
    host: Option<String>,
    hit: String,
    table_ok: String,
    next: String,
}

/// A `map` entry: a literal key and the variable it selects.
#[derive(Serialize)]
struct Choice {
    key: String,
    var: String,
}

/// One node of a table's segment tree, with its variables already named.
#[derive(Serialize)]
struct NodeContext {
    /// The node's variable, when it selects a child by the next segment; `None` when it
    /// has no children and its parent selects `rest_var` directly.
    select_var: Option<String>,
    /// Index of the segment whose variable selects the child (`$PREFIX_segmentN`).
    child_segment: usize,
    children: Vec<Choice>,
    /// The node's own routes: `rest_var` is 1 when they match, else it asks `on_miss`.
    rest: Vec<String>,
    rest_var: String,
    on_miss: String,
}

impl Emitter for NginxEmitter {
    fn name(&self) -> &str {
        "nginx"
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        TEMPLATES
    }

    fn emit(&self, routes: &RouteTable, ctx: &EmitContext) -> Result<Output, EmitError> {
        ctx.check_name()?;
        let binding_texts: &[&String] = match &routes.domain {
            DomainBinding::Fixed { value } => &[value],
            DomainBinding::Subdomain {
                server_name,
                otherwise,
            } => &[server_name, otherwise],
            _ => &[],
        };
        if let Some(bad) = binding_texts
            .iter()
            .find(|t| t.contains('$') || t.chars().any(char::is_control))
        {
            // They become map values, where nginx would expand `$`.
            return Err(EmitError::unsupported(format!(
                "the app's domain setting `{}` holds `$` or a control character",
                bad.escape_debug()
            )));
        }
        if let Some(log) = &ctx.monitor_log {
            let text = log.to_string_lossy();
            // access_log paths expand variables; keep the path literal and on one line.
            if !log.is_absolute() || text.contains(['$', '\n', '\r', '\0']) {
                return Err(EmitError::unsupported(format!(
                    "monitor log `{}` must be an absolute path without `$`",
                    text.escape_debug()
                )));
            }
        }
        let mut templates = Templates::with_overrides(TEMPLATES, ctx.templates_dir.as_deref())?;
        // For user templates that build their own lines: a value as one nginx token, and
        // text safe inside a `#` comment.
        templates.register_filter(
            "nginx_token",
            |value: &tera::Value, _: &std::collections::HashMap<String, tera::Value>| {
                Ok(tera::Value::String(quote::token(&text_of(value))))
            },
        );
        templates.register_filter(
            "nginx_comment",
            |value: &tera::Value, _: &std::collections::HashMap<String, tera::Value>| {
                Ok(tera::Value::String(quote::comment(&text_of(value))))
            },
        );
        match (&ctx.pass_include, &ctx.server_module) {
            (Some(pass), None) => return tree::emit(routes, ctx, pass, &templates),
            (None, Some(_)) => return module::emit(routes, ctx, &templates),
            (Some(_), Some(_)) => {
                return Err(EmitError::unsupported(
                    "the tree layout and the module layout exclude each other",
                ));
            }
            (None, None) => {}
        }
        // Routes that need Python's `\w` (too big as bytes) use PCRE's own class where
        // this machine's PCRE matches it exactly (see `pcre`).
        let pcre = || pcre::agreement(routes.python_classes.as_deref());
        let layout = layout::build_unicode(routes, ctx.enforce_methods, ctx.code_checks, &pcre)?;
        let context = context(routes, ctx, &layout);
        let http = templates.render("nginx/http.conf", &context)?;
        let location = templates.render("nginx/location.conf", &context)?;
        let mut files = vec![
            OutputFile::new("http.conf", "include once inside http { }", http),
            OutputFile::new(
                "location.conf",
                "include first in each location that passes requests to the app",
                location,
            ),
        ];
        if ctx.server_include {
            if ctx.enforce_methods || ctx.monitor_log.is_some() {
                // nginx allows neither `add_header` nor a conditional `access_log` in an
                // `if` at server level.
                return Err(EmitError::unsupported(
                    "the server layout supports neither --methods nor --mode monitor; use the location layout",
                ));
            }
            let server = templates.render("nginx/server.conf", &context)?;
            files.push(OutputFile::new(
                "server.conf",
                "include first in each server block (the seed's layout)",
                server,
            ));
        }
        Ok(Output::new(files).with_warnings(layout.warnings))
    }

    fn validate(&self, output: &Output, ctx: &EmitContext) -> Result<(), EmitError> {
        validate::nginx_t(output, ctx)
    }
}

fn context<'a>(routes: &RouteTable, ctx: &'a EmitContext, layout: &layout::Layout) -> Context<'a> {
    let regex_token = |r: &String| quote::token(&format!("~{r}"));
    let tables: Vec<TableContext> = layout
        .tables
        .iter()
        .map(|t| TableContext {
            name: t.name.clone(),
            statics: t.statics.iter().map(|s| quote::token(s)).collect(),
            groups: Vec::new(),
            nodes: Vec::new(),
            fallback: t.fallback.iter().map(regex_token).collect(),
            everywhere: t.everywhere.iter().map(regex_token).collect(),
            unicode: t.unicode.iter().map(regex_token).collect(),
        })
        .collect();
    let mut tables = tables;
    for (context, table) in tables.iter_mut().zip(&layout.tables) {
        let prefix = format!("{}_{}", ctx.name, table.name);
        let everywhere = format!("{prefix}_everywhere");
        for (key, group) in &table.groups {
            let var = flatten(group, &prefix, 1, &everywhere, &mut context.nodes);
            context.groups.push(Choice {
                key: literal_key(key),
                var,
            });
        }
    }
    let segments = layout
        .tables
        .iter()
        .flat_map(|t| t.groups.values())
        .map(depth)
        .max()
        .unwrap_or(0);
    // The first table holds every path (without methods) or the most common method's.
    let main = layout.tables.first();
    let counts = Counts {
        routes: routes.routes.len(),
        statics: main.map_or(0, |t| t.statics.len()),
        groups: main.map_or(0, |t| t.groups.len()),
        regexes: main.map_or(0, |t| {
            t.fallback.len()
                + t.everywhere.len()
                + t.groups.values().map(regex_count).sum::<usize>()
        }),
    };
    let keys = layout
        .tables
        .iter()
        .map(|t| t.statics.len().max(t.groups.len()))
        .max()
        .unwrap_or(0);
    let longest = layout
        .tables
        .iter()
        .flat_map(|t| t.statics.iter().chain(t.groups.keys()))
        .map(String::len)
        .max()
        .unwrap_or(0);
    let joins: Vec<JoinContext> = layout
        .joins
        .iter()
        .map(|join| join_context(&ctx.name, join))
        .collect();
    let parts = || layout.joins.iter().flat_map(|j| &j.parts);
    let host_vars =
        1 + layout.domains.len() + joins.iter().map(|j| 2 * j.steps.len()).sum::<usize>();
    Context {
        header: Header::new(
            routes,
            ctx,
            counts,
            [&layout.skipped, &layout.warnings, &layout.extras],
        ),
        hash_sizes: hash_sizes(keys, longest),
        variables_hash_size: variables_hash_size(&tables, layout.methods.len(), host_vars),
        tables,
        domain: (!layout.domains.is_empty()).then(|| domain_context(&routes.domain)),
        hosts: layout.domains.iter().map(regex_token).collect(),
        joins,
        single_slashes: parts().any(|p| p.single_slashes),
        host_slashes: parts()
            .filter(|p| p.single_slashes)
            .filter_map(|p| p.domain)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
        segment_regex: segment_regex(&ctx.name, segments),
        methods: layout.methods.iter().map(|m| quote::token(m)).collect(),
        blocked_query: blocked_query(&routes.blocked_query_keys),
        utf8_guard: quote::token(&format!("~{}", layout::VALID_UTF8_GUARD)),
        monitor_log: ctx
            .monitor_log
            .as_ref()
            .map(|p| quote::token(&p.to_string_lossy())),
    }
}

fn domain_context(binding: &DomainBinding) -> DomainContext {
    // Werkzeug (3.1.7 on) reads a host with anything but letters, digits, `.` and `-` as
    // no host at all; nginx's `$host` is lower case and without port.
    let invalid = || quote::token("~[^a-z0-9.\\-]");
    match binding {
        DomainBinding::Subdomain {
            server_name,
            otherwise,
        } => DomainContext {
            default: quote::value(otherwise),
            entries: vec![
                (invalid(), quote::value(otherwise)),
                // Werkzeug drops empty labels; nginx refuses hosts with `..`, so a leading
                // dot is the only one a request can have.
                (
                    quote::token(&format!(
                        "~^\\.?(?:(.+)\\.)?{}\\z",
                        pattern::literal(server_name)
                    )),
                    "$1".to_owned(),
                ),
            ],
        },
        DomainBinding::Fixed { value } => DomainContext {
            default: quote::value(value),
            entries: Vec::new(),
        },
        // `Any` has no domain patterns, so it never gets here.
        _ => DomainContext {
            default: "$host".to_owned(),
            entries: vec![
                // No Host header (HTTP/1.0) and no server_name: nginx forwards none, and
                // the app sees its server's own address, which no pattern here matches.
                (quote::token(""), quote::value("*")),
                (invalid(), quote::value("")),
            ],
        },
    }
}

fn join_context(prefix: &str, join: &layout::Join) -> JoinContext {
    let name = &join.name;
    let var = |k: usize| {
        if k == 0 {
            format!("{prefix}_{name}_ok")
        } else {
            format!("{prefix}_{name}_try{k}")
        }
    };
    let steps = join
        .parts
        .iter()
        .enumerate()
        .map(|(k, part)| {
            let next = if k + 1 < join.parts.len() {
                format!("${}", var(k + 1))
            } else {
                "0".to_owned()
            };
            let condition = match (part.domain, part.single_slashes) {
                (None, false) => None,
                (None, true) => Some(format!("{prefix}_single_slashes")),
                (Some(j), false) => Some(format!("{prefix}_host_{j}")),
                (Some(j), true) => Some(format!("{prefix}_host_{j}_ss")),
            };
            let table = &part.table;
            StepContext {
                var: var(k),
                hit: if condition.is_some() {
                    format!("{prefix}_{name}_hit{k}")
                } else {
                    var(k)
                },
                host: condition,
                table_ok: format!("{prefix}_{table}_ok"),
                next,
            }
        })
        .collect();
    JoinContext {
        name: name.clone(),
        steps,
    }
}

/// The variables the output defines, plus room for nginx's own (about 150) and the
/// user's; `None` while nginx's default fits. The default table (1024 slots of 64 bytes)
/// holds one long name per bucket, so with a hundred or so generated names nginx warns
/// ("could not build optimal variables_hash"; measured on the real apps with `--methods`).
/// Below that the directive is left out: a second allowlist on the same nginx setting it
/// again would be a fatal duplicate.
fn variables_hash_size(tables: &[TableContext], methods: usize, hosts: usize) -> Option<usize> {
    let per_table = |t: &TableContext| 12 + t.groups.len() + 3 * t.nodes.len();
    let ours = 14 + 2 * methods + hosts + tables.iter().map(per_table).sum::<usize>();
    (ours > 100).then(|| (4 * (ours + 300)).next_power_of_two())
}

/// Names the variables of `group` (at segment `depth`) and its children, appends their
/// nodes, and returns the variable that answers for the group.
fn flatten(
    group: &layout::Group,
    prefix: &str,
    depth: usize,
    on_miss: &str,
    nodes: &mut Vec<NodeContext>,
) -> String {
    let id = nodes.len() + 1;
    let var = format!("{prefix}_n{id}");
    let rest_var = if group.rest.is_empty() {
        on_miss.to_owned()
    } else {
        format!("{var}_rest")
    };
    nodes.push(NodeContext {
        select_var: None,
        child_segment: depth,
        children: Vec::new(),
        rest: group
            .rest
            .iter()
            .map(|r| quote::token(&format!("~{r}")))
            .collect(),
        rest_var: rest_var.clone(),
        on_miss: on_miss.to_owned(),
    });
    if group.children.is_empty() {
        return rest_var;
    }
    let children: Vec<Choice> = group
        .children
        .iter()
        .map(|(key, child)| Choice {
            key: literal_key(key),
            var: flatten(child, prefix, depth + 1, &rest_var, nodes),
        })
        .collect();
    if let Some(node) = nodes.get_mut(id - 1) {
        node.select_var = Some(var.clone());
        node.children = children;
    }
    var
}

/// `^/(?<P_seg0>[^/]*)/(?:(?<P_seg1>[^/]*)/(?:…)?)?`: every segment a group tree selects
/// on, in one match (nginx sets a variable per named capture).
fn segment_regex(prefix: &str, depth: usize) -> String {
    let mut regex = format!("~^/(?<{prefix}_seg0>[^/]*)/");
    for d in 1..=depth {
        regex.push_str(&format!("(?:(?<{prefix}_seg{d}>[^/]*)/"));
    }
    regex.push_str(&")?".repeat(depth));
    quote::token(&regex)
}

/// How many segments deep a group's tree selects.
fn depth(group: &layout::Group) -> usize {
    group
        .children
        .values()
        .map(|c| 1 + depth(c))
        .max()
        .unwrap_or(0)
}

fn regex_count(group: &layout::Group) -> usize {
    group.rest.len() + group.children.values().map(regex_count).sum::<usize>()
}

fn text_of(value: &tera::Value) -> String {
    match value {
        tera::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A `map` key read literally: a leading backslash stops map from taking `default`, `~x`
/// or `include` as keywords.
fn literal_key(key: &str) -> String {
    quote::token(&format!("\\{key}"))
}

pub(crate) fn blocked_query(keys: &[String]) -> Option<String> {
    blocked_query_regex(keys).map(|r| quote::token(&format!("~{r}")))
}

/// One regex over a query string finding any of `keys`, if there are any.
pub(crate) fn blocked_query_regex(keys: &[String]) -> Option<String> {
    if keys.is_empty() {
        return None;
    }
    let alternatives: Vec<String> = keys.iter().map(|k| pattern::query_key(k)).collect();
    Some(format!("(?:{})", alternatives.join("|")))
}

/// nginx's hash needs a bucket to hold one element (a pointer, the key padded to 8) plus
/// a terminating pointer; twice that leaves it room to pick a small table. The defaults
/// (bucket 64 on x86-64, max size 2048) fit small apps; `nginx-bench.md` §6 has the sizing.
fn hash_sizes(keys: usize, longest_key: usize) -> Option<(usize, usize)> {
    let element = 8 + (longest_key + 2).div_ceil(8) * 8;
    let bucket = (2 * element + 8).next_power_of_two().max(64);
    let max_size = (4 * keys).next_power_of_two().max(2048);
    (bucket > 64 || max_size > 2048).then_some((max_size, bucket))
}

#[cfg(test)]
mod tests {
    use routewall_core::{Converter, Param, Route, Segment};

    use super::*;

    /// The template context is the interface of user templates: this pins its shape (the
    /// README documents the fields). Update with `ROUTEWALL_UPDATE_SNAPSHOTS=1`.
    #[test]
    fn the_template_context_is_pinned() {
        let int = || Segment::Param(Param::new("id", Converter::new("int", r"\d+")));
        let mut post = Route::new("login", "/login", vec![Segment::text("/login")]);
        post.methods = Some(vec!["POST".to_owned(), "OPTIONS".to_owned()]);
        post.merge_slashes = false;
        let table = RouteTable::new("flask", "app")
            .with_route(Route::new("index", "/", vec![Segment::text("/")]))
            .with_route(post)
            .with_route(Route::new(
                "user",
                "/user/<int:id>",
                vec![Segment::text("/user/"), int()],
            ))
            .with_route(Route::new(
                "org",
                "/<org>/settings",
                vec![
                    Segment::text("/"),
                    Segment::Param(Param::new("org", Converter::new("default", "[^/]{1,}"))),
                    Segment::text("/settings"),
                ],
            ));
        // Subdomain matching, with `/<org>/settings` on `api.` only.
        let mut table = table;
        table.domain = DomainBinding::Subdomain {
            server_name: "example.test".to_owned(),
            otherwise: "<invalid>".to_owned(),
        };
        for route in &mut table.routes {
            let api = route.endpoint == "org";
            route.domain = Some(if api {
                vec![Segment::text("api")]
            } else {
                vec![]
            });
        }
        let ctx = EmitContext::default().with_methods(true);
        let layout = layout::build(&table, true, ctx.code_checks).expect("builds");
        let json =
            serde_json::to_string_pretty(&context(&table, &ctx, &layout)).expect("json") + "\n";
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/context.json");
        if std::env::var_os("ROUTEWALL_UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, &json).expect("write snapshot");
        }
        let pinned = std::fs::read_to_string(&path).expect("snapshot exists");
        assert_eq!(
            json, pinned,
            "the template context changed: review, document, update"
        );
    }
}
