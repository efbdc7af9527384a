//! The tree layout (`generate --layout tree`): `tree.conf`, the server's locations, and a
//! small `http.conf` with the variables it reads.

use std::path::Path;

use routewall_allowlist::tree::{self, Node, Regex, Tree};
use routewall_core::{EmitContext, EmitError, Output, OutputFile, RouteTable, Templates};
use serde::Serialize;

use crate::{Counts, Header, blocked_query, quote};

#[derive(Serialize)]
struct TreeContext<'a> {
    #[serde(flatten)]
    header: Header<'a>,
    /// The file each allowing location includes, as a quoted token.
    pass: String,
    /// The same, safe inside a comment.
    pass_comment: String,
    /// Exact paths, as quoted tokens.
    statics: Vec<String>,
    /// The prefix groups, flattened into opening, regex and closing lines.
    nodes: Vec<Item>,
    /// Regexes tried at the top level.
    top: Vec<RegexContext>,
    /// Some location checks `$PREFIX_single_slashes`.
    single_slashes: bool,
    /// One regex over `$args` finding any blocked query key, if there are any.
    blocked_query: Option<String>,
}

/// One line of the flattened prefix tree: a prefix location opens (`open`, with `top` for
/// the `^~` of a group), a regex location, or the closing `return 404; }` (neither).
#[derive(Serialize, Default)]
struct Item {
    indent: String,
    open: Option<String>,
    top: bool,
    regex: Option<String>,
    single_slashes: bool,
}

/// One regex of the tree, as a quoted token.
#[derive(Serialize)]
pub(crate) struct RegexContext {
    regex: String,
    single_slashes: bool,
}

impl RegexContext {
    pub(crate) fn new(r: &Regex) -> Self {
        RegexContext {
            regex: quote::token(&r.regex),
            single_slashes: r.single_slashes,
        }
    }
}

/// What neither tree-shaped layout can do: locations cannot ask for methods or log in
/// monitor mode, and the tree's own checks replace the server include.
pub(crate) fn refuse_unsupported(ctx: &EmitContext, layout: &str) -> Result<(), EmitError> {
    if ctx.enforce_methods || ctx.monitor_log.is_some() || ctx.server_include {
        return Err(EmitError::unsupported(format!(
            "the {layout} layout supports neither --methods, --mode monitor nor the server include; use the location layout"
        )));
    }
    Ok(())
}

/// Renders the tree layout, each allowing location including `pass`.
pub(crate) fn emit(
    routes: &RouteTable,
    ctx: &EmitContext,
    pass: &Path,
    templates: &Templates,
) -> Result<Output, EmitError> {
    refuse_unsupported(ctx, "tree")?;
    check_pass(pass)?;
    if let Some(bad) = ctx.served_prefixes.iter().find(|p| !p.starts_with('/')) {
        return Err(EmitError::unsupported(format!(
            "served prefix `{}` must start with `/`",
            bad.escape_debug()
        )));
    }
    let tree = tree::build_tree(routes, ctx.code_checks, &ctx.served_prefixes)?;
    let context = context(routes, ctx, pass, &tree);
    let http = templates.render("nginx/tree-http.conf", &context)?;
    let locations = templates.render("nginx/tree.conf", &context)?;
    Ok(Output::new(vec![
        OutputFile::new("http.conf", "include once inside http { }", http),
        OutputFile::new(
            "tree.conf",
            "include in the app's server block, in place of its app location",
            locations,
        ),
    ])
    .with_warnings(tree.warnings))
}

/// The pass file becomes an `include` argument: absolute (nginx reads relative ones from
/// its own prefix), one line, and no glob or variable characters.
fn check_pass(pass: &Path) -> Result<(), EmitError> {
    let text = pass.to_string_lossy();
    if pass.is_absolute() && !text.contains(|c: char| c.is_control() || "$*?[".contains(c)) {
        return Ok(());
    }
    Err(EmitError::unsupported(format!(
        "pass file `{}` must be an absolute path without `$`, `*`, `?`, `[` or control characters",
        text.escape_debug()
    )))
}

/// The pass file as it appears in `tree.conf`, for [`crate::validate`] to swap.
pub(crate) fn pass_token(pass: &Path) -> String {
    quote::token(&pass.to_string_lossy())
}

fn context<'a>(
    routes: &RouteTable,
    ctx: &'a EmitContext,
    pass: &Path,
    tree: &Tree,
) -> TreeContext<'a> {
    let mut nodes = Vec::new();
    for group in &tree.groups {
        flatten(group, 0, &mut nodes);
    }
    let counts = Counts {
        routes: routes.routes.len(),
        statics: tree.statics.len(),
        groups: tree.groups.len(),
        regexes: tree.regex_count(),
    };
    TreeContext {
        header: Header::new(
            routes,
            ctx,
            counts,
            [&tree.skipped, &tree.warnings, &tree.extras],
        ),
        pass: pass_token(pass),
        pass_comment: quote::comment(&pass.to_string_lossy()),
        statics: tree.statics.iter().map(|s| quote::token(s)).collect(),
        nodes,
        top: tree.top.iter().map(RegexContext::new).collect(),
        single_slashes: tree.needs_single_slashes(),
        blocked_query: blocked_query(&routes.blocked_query_keys),
    }
}

fn flatten(node: &Node, depth: usize, out: &mut Vec<Item>) {
    let indent = "    ".repeat(depth);
    out.push(Item {
        indent: indent.clone(),
        open: Some(quote::token(&node.prefix)),
        top: depth == 0,
        ..Item::default()
    });
    for child in &node.children {
        flatten(child, depth + 1, out);
    }
    for r in &node.regexes {
        out.push(Item {
            indent: format!("{indent}    "),
            regex: Some(quote::token(&r.regex)),
            single_slashes: r.single_slashes,
            ..Item::default()
        });
    }
    out.push(Item {
        indent,
        ..Item::default()
    });
}

#[cfg(test)]
mod tests {
    use routewall_core::{Converter, Emitter, Param, Route, Segment};

    use super::*;
    use crate::NginxEmitter;

    fn emit_tree(table: &RouteTable) -> Result<Output, EmitError> {
        let ctx = EmitContext::default().with_pass_include(Some("/etc/nginx/app pass.conf".into()));
        NginxEmitter.emit(table, &ctx)
    }

    #[test]
    fn exact_paths_groups_and_the_catch_all_are_locations() {
        let table = RouteTable::new("flask", "app")
            .with_route(Route::new("about", "/about", vec![Segment::text("/about")]))
            .with_route(Route::new(
                "user",
                "/user/<int:id>",
                vec![
                    Segment::text("/user/"),
                    Segment::Param(Param::new("id", Converter::new("int", r"\d+"))),
                ],
            ));
        let output = emit_tree(&table).expect("emits");
        let tree = &output.file("tree.conf").expect("tree.conf").contents;
        let pass = "    include \"/etc/nginx/app pass.conf\";\n";
        assert!(
            tree.contains(&format!("location = \"/about\" {{\n{pass}}}")),
            "{tree}"
        );
        assert!(
            tree.contains("location ^~ \"/user/\" {\n    location ~ \"^(?(DEFINE)"),
            "{tree}"
        );
        assert!(
            tree.ends_with("location / {\n    return 404;\n}\n"),
            "{tree}"
        );
        assert!(output.file("location.conf").is_none());
        let http = &output.file("http.conf").expect("http.conf").contents;
        assert!(
            http.contains("map $request_uri $routewall_dot_segments {"),
            "{http}"
        );
    }

    #[test]
    fn a_pass_file_that_nginx_would_read_differently_is_refused() {
        let table = RouteTable::new("flask", "app").with_route(Route::new(
            "about",
            "/about",
            vec![Segment::text("/about")],
        ));
        for bad in [
            "pass.conf",
            "/etc/nginx/$x.conf",
            "/etc/nginx/*.conf",
            "/a\nb",
        ] {
            let ctx = EmitContext::default().with_pass_include(Some(bad.into()));
            let err = NginxEmitter.emit(&table, &ctx).expect_err(bad);
            assert!(
                err.to_string().contains("must be an absolute path"),
                "{err}"
            );
        }
    }
}
