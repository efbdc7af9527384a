//! The module layout (`generate --layout module`): the allowlist as a table
//! (`routewall_table` in `http.conf`) that routewall's nginx module checks in compiled
//! code, and `location.conf` switching the check on (`routewall NAME;`).
//!
//! Why: every map, `if` and location a request meets costs nginx about a microsecond at
//! 10,000 routes (bench/pieces.py), and every PCRE run about half of one; the module
//! answers with one hash lookup for an exact path and a walk over the routes' segments for
//! the others, where built-in converters are byte loops and PCRE is left only what they
//! cannot say (see `routewall_allowlist::build_native_tree`).
//! `nginx-module/ngx_http_routewall_module.c` reads the table.

use routewall_allowlist::tree::{self, Node, Step, Tree};
use routewall_allowlist::{NativeSegment, SegmentItem};
use routewall_core::{EmitContext, EmitError, Output, OutputFile, RouteTable, Templates};
use serde::Serialize;

use crate::tree::{RegexContext, refuse_unsupported};
use crate::{Counts, Header, blocked_query_regex, quote};

#[derive(Serialize)]
struct ModuleContext<'a> {
    #[serde(flatten)]
    header: Header<'a>,
    /// Exact paths, as quoted tokens.
    statics: Vec<String>,
    /// The segment patterns, each as its line's arguments.
    segments: Vec<String>,
    /// The routes the module walks segment by segment, each as its line's arguments.
    routes: Vec<String>,
    /// Every group of the tree, parents before their children.
    groups: Vec<GroupContext>,
    /// Regexes for paths under no group.
    top: Vec<RegexContext>,
    /// Some regex is a `*_single` one: the table needs the `single_slashes` regex.
    single_slashes: bool,
    /// One regex (a quoted token) over the query string finding any blocked key.
    blocked_query: Option<String>,
}

/// One `group` of the table and its regexes.
#[derive(Serialize)]
struct GroupContext {
    prefix: String,
    regexes: Vec<RegexContext>,
}

/// Renders the module layout.
pub(crate) fn emit(
    routes: &RouteTable,
    ctx: &EmitContext,
    templates: &Templates,
) -> Result<Output, EmitError> {
    refuse_unsupported(ctx, "module")?;
    // The operator's own locations do not say `routewall NAME;`, so none of the app's
    // routes needs leaving out for them.
    let tree = tree::build_native_tree(routes, ctx.code_checks)?;
    let context = context(routes, ctx, &tree);
    let http = templates.render("nginx/module-http.conf", &context)?;
    let location = templates.render("nginx/module.conf", &context)?;
    Ok(Output::new(vec![
        OutputFile::new("http.conf", "include once inside http { }", http),
        OutputFile::new(
            "location.conf",
            "include first in each location that passes requests to the app",
            location,
        ),
    ])
    .with_warnings(tree.warnings))
}

fn context<'a>(routes: &RouteTable, ctx: &'a EmitContext, tree: &Tree) -> ModuleContext<'a> {
    fn flatten(node: &Node, out: &mut Vec<GroupContext>) {
        out.push(GroupContext {
            prefix: quote::token(&node.prefix),
            regexes: node.regexes.iter().map(RegexContext::new).collect(),
        });
        for child in &node.children {
            flatten(child, out);
        }
    }
    let mut groups = Vec::new();
    for group in &tree.groups {
        flatten(group, &mut groups);
    }
    let counts = Counts {
        routes: routes.routes.len(),
        statics: tree.statics.len(),
        groups: groups.len(),
        regexes: tree.regex_count(),
    };
    ModuleContext {
        header: Header::new(
            routes,
            ctx,
            counts,
            [&tree.skipped, &tree.warnings, &tree.extras],
        ),
        statics: tree.statics.iter().map(|s| quote::token(s)).collect(),
        segments: tree.segments.iter().map(segment_line).collect(),
        routes: tree.routes.iter().map(|r| route_line(r)).collect(),
        groups,
        top: tree.top.iter().map(RegexContext::new).collect(),
        single_slashes: tree.needs_single_slashes(),
        blocked_query: blocked_query_regex(&routes.blocked_query_keys).map(|r| quote::token(&r)),
    }
}

/// `segment REGEX ITEM...`: `=TEXT`, or `~BITS:MIN:MAX` (32 hex digits of the ASCII
/// members, bit `b` for byte `b`; `-` for no maximum).
fn segment_line(segment: &NativeSegment) -> String {
    let mut args = vec![quote::token(&segment.regex)];
    for item in &segment.items {
        args.push(match item {
            SegmentItem::Text(text) => quote::token(&format!("={text}")),
            SegmentItem::Run { ascii, min, max } => {
                let max = max.map_or("-".to_owned(), |m| m.to_string());
                format!("~{ascii:032x}:{min}:{max}")
            }
        });
    }
    args.join(" ")
}

/// `route STEP...`: `=TEXT` a segment, `@N` the Nth `segment` pattern, `*REGEX` the rest.
fn route_line(steps: &[Step]) -> String {
    let args: Vec<String> = steps
        .iter()
        .map(|step| match step {
            Step::Text(text) => quote::token(&format!("={text}")),
            Step::Segment(id) => format!("@{id}"),
            Step::Tail(regex) => quote::token(&format!("*{regex}")),
        })
        .collect();
    args.join(" ")
}

#[cfg(test)]
mod tests {
    use routewall_core::{Converter, Emitter, Param, Route, Segment};

    use super::*;
    use crate::NginxEmitter;

    fn module_ctx() -> EmitContext {
        EmitContext::default().with_server_module(Some("/usr/lib/nginx/modules/x.so".into()))
    }

    #[test]
    fn the_table_lists_exact_paths_groups_and_their_regexes() {
        let table = RouteTable::new("flask", "app")
            .with_route(Route::new("odd", "/a;b\"c", vec![Segment::text("/a;b\"c")]))
            .with_route(Route::new(
                "user",
                "/user/<int:id>",
                vec![
                    Segment::text("/user/"),
                    Segment::Param(Param::new("id", Converter::new("int", r"\d+"))),
                ],
            ));
        let output = NginxEmitter.emit(&table, &module_ctx()).expect("emits");
        let http = &output.file("http.conf").expect("http.conf").contents;
        assert!(http.contains("routewall_table routewall {\n"), "{http}");
        assert!(http.contains("    exact \"/a;b\\\"c\";\n"), "{http}");
        assert!(
            http.contains("    segment \"^(?(DEFINE)"),
            "the int converter's pattern: {http}"
        );
        assert!(
            http.contains(" ~000000000000000003ff000000000000:1:-;\n"),
            "{http}"
        );
        assert!(http.contains("    route \"=user\" @0;\n"), "{http}");
        assert!(!http.contains("    group "), "{http}");
        assert!(!http.contains("single_slashes \""), "{http}");
        assert!(http.trim_end().ends_with('}'), "{http}");
        let location = &output
            .file("location.conf")
            .expect("location.conf")
            .contents;
        assert!(location.ends_with("\nroutewall routewall;\n"), "{location}");
        assert!(output.file("tree.conf").is_none());
    }

    #[test]
    fn what_the_module_cannot_check_is_refused() {
        let table = RouteTable::new("flask", "app").with_route(Route::new(
            "about",
            "/about",
            vec![Segment::text("/about")],
        ));
        let err = NginxEmitter
            .emit(&table, &module_ctx().with_methods(true))
            .expect_err("methods");
        assert!(
            err.to_string()
                .contains("the module layout supports neither --methods"),
            "{err}"
        );
        let both = module_ctx().with_pass_include(Some("/etc/nginx/pass.conf".into()));
        let err = NginxEmitter.emit(&table, &both).expect_err("two layouts");
        assert!(err.to_string().contains("exclude each other"), "{err}");
    }
}
