//! routewall's HAProxy target, a run-time plugin: the app's routes as HAProxy pattern files,
//! and the few backend lines that refuse everything else with a 404.
//!
//! ```text
//! routewall --plugin libroutewall_haproxy_target.so generate --source flask --app app \
//!     --target haproxy --output /etc/haproxy/routewall
//! ```
//!
//! writes `backend.cfg` (the lines to paste once into the app's backend), per table a pair
//! of pattern files, `NAME-exact.lst` (exact paths, looked up in HAProxy's pattern tree) and
//! `NAME-regex.lst` (anchored byte-level regexes, from [`routewall_allowlist`]), and
//! `query.lst` (the debugger's query key). The table is `path`; with `--methods` it is
//! `ok_N` (what method N may ask for) and `known_N` (what its own rules accept, for the
//! `Allow` header of a 405) per method, and `ok_other`.
//!
//! Why this shape: HAProxy forwards the request path as it came, and the app routes it
//! percent-decoded, without merging `//` or resolving dot segments. So the check reads the
//! same thing, `path,url_dec`, after merging `//` with `set-path` (the app would answer
//! `//` with a redirect to the merged path; `normalize-uri` is experimental in 2.6): no normalization gap, and no
//! dot-segment guard to pay for. HAProxy has no `include`, so the lines that use the
//! pattern files are written once by the operator and never change; each `generate`
//! rewrites only the pattern files, which a reload picks up.
//!
//! Not supported yet (refused with an error, never widened): monitor mode, and routes that
//! answer on some hosts only.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use routewall_allowlist::{DefinitionStyle, Group, Table, pattern};
use routewall_core::{EmitContext, EmitError, Emitter, Output, OutputFile, RouteTable, Templates};
use serde::Serialize;

/// Built-in templates, by name.
pub const TEMPLATES: &[(&str, &str)] = &[(
    "haproxy/backend.cfg",
    include_str!("../templates/backend.cfg"),
)];

/// The file of blocked query-key regexes.
const QUERY: &str = "query.lst";
/// The lines for the backend.
const BACKEND: &str = "backend.cfg";

/// The HAProxy emitter.
#[derive(Debug, Default, Clone, Copy)]
pub struct HaproxyEmitter;

#[derive(Serialize)]
struct Context {
    version: &'static str,
    source: String,
    app: String,
    framework: Option<String>,
    /// Prefix of the variables the lines set (`--name`).
    prefix: String,
    counts: Counts,
    skipped: Vec<String>,
    warnings: Vec<String>,
    extras: Vec<String>,
    /// Every table's pattern files, by name.
    tables: Vec<TableFiles>,
    /// Without method enforcement: the index in `tables` of the one table, `path`.
    path: Option<usize>,
    /// With method enforcement, per method some rule names: its tables.
    methods: Vec<MethodTables>,
    /// With method enforcement: the table (index) of methods no rule names.
    other: Option<usize>,
    /// The query-key file, `None` when no key is blocked.
    query: Option<String>,
}

/// A table's two pattern files, each as a quoted HAProxy word.
#[derive(Serialize)]
struct TableFiles {
    name: String,
    exact: String,
    regex: String,
}

/// One method's tables (indexes into `tables`): `ok`, the paths it may ask for; `known`,
/// the paths whose own rules accept it (for a 405's `Allow` header).
#[derive(Serialize)]
struct MethodTables {
    name: String,
    ok: usize,
    known: usize,
}

#[derive(Serialize)]
struct Counts {
    routes: usize,
    statics: usize,
    regexes: usize,
}

impl Emitter for HaproxyEmitter {
    fn name(&self) -> &str {
        "haproxy"
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        TEMPLATES
    }

    fn emit(&self, routes: &RouteTable, ctx: &EmitContext) -> Result<Output, EmitError> {
        if ctx.monitor_log.is_some() {
            return Err(EmitError::unsupported(
                "the haproxy target has no monitor mode yet (leave out --mode monitor)",
            ));
        }
        ctx.check_name()?;
        // HAProxy compiles pattern regexes without automatic capture numbering.
        let layout = routewall_allowlist::build_with(
            routes,
            ctx.enforce_methods,
            ctx.code_checks,
            DefinitionStyle::Named,
        )?;
        if layout
            .joins
            .iter()
            .flat_map(|j| &j.parts)
            .any(|p| p.domain.is_some())
        {
            return Err(EmitError::unsupported(
                "some routes answer on some hosts only, and the haproxy target does not check hosts yet",
            ));
        }

        let dir = ctx.output_dir.clone();
        let file = |name: &str| -> Result<String, EmitError> {
            let path = dir
                .as_ref()
                .map_or_else(|| PathBuf::from(name), |d| d.join(name));
            quoted_path(&path)
        };
        let mut files = Vec::new();
        let mut tables = Vec::new();
        let mut counts = Counts {
            routes: routes.routes.len(),
            statics: 0,
            regexes: 0,
        };
        for (name, parts) in logical_tables(&layout) {
            let (statics, regexes) = pattern_lines(&parts);
            counts.statics += statics.len();
            counts.regexes += regexes.len();
            let (exact, regex) = (format!("{name}-exact.lst"), format!("{name}-regex.lst"));
            tables.push(TableFiles {
                name: name.clone(),
                exact: file(&exact)?,
                regex: file(&regex)?,
            });
            files.push(OutputFile::new(
                exact,
                format!("table `{name}`: exact paths"),
                lines(&statics),
            ));
            files.push(OutputFile::new(
                regex,
                format!("table `{name}`: regexes of the paths with parameters"),
                lines(&regexes),
            ));
        }
        let index = |name: &str| tables.iter().position(|t| t.name == name);
        let table = |name: String| {
            index(&name)
                .ok_or_else(|| EmitError::unsupported(format!("no table `{name}` in the layout")))
        };
        let methods = layout
            .methods
            .iter()
            .enumerate()
            .map(|(i, method)| {
                Ok(MethodTables {
                    name: method.clone(),
                    ok: table(format!("ok_{i}"))?,
                    known: table(format!("known_{i}"))?,
                })
            })
            .collect::<Result<Vec<_>, EmitError>>()?;
        let query: Vec<String> = routes
            .blocked_query_keys
            .iter()
            .map(|k| pattern::query_key(k))
            .collect();
        if !query.is_empty() {
            files.push(OutputFile::new(
                QUERY,
                "query keys refused on every path",
                lines(&query),
            ));
        }
        let mut warnings = layout.warnings.clone();
        if dir.is_none() {
            warnings.push(
                "the output directory is unknown: the lines name the pattern files relative to HAProxy's working directory".to_owned(),
            );
        }
        let context = Context {
            version: env!("CARGO_PKG_VERSION"),
            source: comment(&routes.source),
            app: comment(&routes.app),
            framework: routes.framework.as_deref().map(comment),
            prefix: ctx.name.clone(),
            counts,
            skipped: layout.skipped.iter().map(|s| comment(s)).collect(),
            warnings: warnings.iter().map(|s| comment(s)).collect(),
            extras: layout.extras.iter().map(|s| comment(s)).collect(),
            path: index("path"),
            other: index("ok_other"),
            methods,
            tables,
            query: if query.is_empty() {
                None
            } else {
                Some(file(QUERY)?)
            },
        };
        let templates = Templates::with_overrides(TEMPLATES, ctx.templates_dir.as_deref())?;
        let backend = templates.render("haproxy/backend.cfg", &context)?;
        files.insert(
            0,
            OutputFile::new(
                BACKEND,
                "paste once into the backend that passes requests to the app",
                backend,
            ),
        );
        Ok(Output::new(files).with_warnings(warnings))
    }

    fn validate(&self, output: &Output, ctx: &EmitContext) -> Result<(), EmitError> {
        haproxy_check(output, ctx)
    }
}

/// The layout's tables by the name the lines use (`path`, or `ok_i`, `known_i` and
/// `ok_other` with methods), each with the physical tables it is made of: parts of a
/// [`routewall_allowlist::Join`] that only split off routes needing single slashes are
/// merged back, as these lines merge `//` before checking and forward the merged path.
fn logical_tables(layout: &routewall_allowlist::Layout) -> Vec<(String, Vec<&Table>)> {
    let mut out: Vec<(String, Vec<&Table>)> = Vec::new();
    for table in &layout.tables {
        let logical = layout
            .joins
            .iter()
            .find(|j| j.parts.iter().any(|p| p.table == table.name))
            .map_or(table.name.as_str(), |j| j.name.as_str());
        match out.iter_mut().find(|(name, _)| name == logical) {
            Some((_, parts)) => parts.push(table),
            None => out.push((logical.to_owned(), vec![table])),
        }
    }
    out
}

/// The lines of a table's two pattern files: exact paths, and regexes.
fn pattern_lines(parts: &[&Table]) -> (Vec<String>, Vec<String>) {
    let mut statics = Vec::new();
    let mut regexes = Vec::new();
    for table in parts {
        for path in &table.statics {
            if pattern_file_line(path) {
                statics.push(path.clone());
            } else {
                // Not representable as a line of a pattern file: matched by regex.
                regexes.push(format!("^{}\\z", pattern::literal(path)));
            }
        }
        for group in table.groups.values() {
            collect(group, &mut regexes);
        }
        regexes.extend(table.fallback.iter().cloned());
        regexes.extend(table.everywhere.iter().cloned());
    }
    statics.sort();
    statics.dedup();
    (statics, regexes)
}

fn lines(items: &[String]) -> String {
    items.iter().map(|i| format!("{i}\n")).collect()
}

/// Every regex of a group tree (each is anchored and whole: the tree only picks which ones
/// nginx tries, and HAProxy tries them all).
fn collect(group: &Group, out: &mut Vec<String>) {
    out.extend(group.rest.iter().cloned());
    for child in group.children.values() {
        collect(child, out);
    }
}

/// Whether `path` survives as one line of a pattern file: HAProxy strips leading blanks,
/// skips lines starting with `#`, and splits at line ends.
fn pattern_file_line(path: &str) -> bool {
    path.starts_with('/')
        && !path.ends_with([' ', '\t'])
        && !path.bytes().any(|b| b < 0x20 || b == 0x7f)
}

/// A path as one single-quoted HAProxy word (no escapes or variables inside single quotes),
/// or an error for the paths that cannot be one.
fn quoted_path(path: &Path) -> Result<String, EmitError> {
    let text = path.to_str().ok_or_else(|| {
        EmitError::unsupported(format!("the output path {} is not UTF-8", path.display()))
    })?;
    if text.contains('\'') || text.chars().any(char::is_control) {
        return Err(EmitError::unsupported(format!(
            "the output path `{}` holds a quote or a control character",
            text.escape_debug()
        )));
    }
    Ok(format!("'{text}'"))
}

/// Text safe in a `#` comment: one line.
fn comment(text: &str) -> String {
    text.escape_debug().to_string()
}

/// `haproxy` on `PATH`, else Debian's `/usr/sbin/haproxy` (not on a user's `PATH`).
pub fn find_haproxy() -> PathBuf {
    routewall_core::find_program("haproxy", &["/usr/sbin/haproxy"])
}

/// Runs `haproxy -c` on a scratch configuration whose backend holds the generated lines,
/// pointed at a scratch copy of the pattern files.
fn haproxy_check(output: &Output, ctx: &EmitContext) -> Result<(), EmitError> {
    let program = ctx.server_binary.clone().unwrap_or_else(find_haproxy);
    let validator = |cause: String| EmitError::Validator {
        program: program.display().to_string(),
        cause,
    };
    let scratch = tempfile::tempdir()
        .map_err(|e| validator(format!("cannot create a scratch directory: {e}")))?;
    let dir = scratch.path();
    output
        .write_into(dir)
        .map_err(|e| validator(e.to_string()))?;
    let mut backend = output
        .file(BACKEND)
        .map(|f| f.contents.clone())
        .unwrap_or_default();
    // Point the lines at the scratch copies: they name the files as `quoted_path` wrote them.
    let names = output.files.iter().map(|f| f.name.as_str());
    for name in names.filter(|n| *n != BACKEND) {
        let target = ctx
            .output_dir
            .as_ref()
            .map_or_else(|| PathBuf::from(name), |d| d.join(name));
        let (Ok(from), Ok(to)) = (quoted_path(&target), quoted_path(&dir.join(name))) else {
            continue;
        };
        backend = backend.replace(&from, &to);
    }
    let conf = dir.join("haproxy.cfg");
    let config = format!(
        "defaults\n    mode http\n    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\n\nfrontend routewall_check\n    bind 127.0.0.1:9\n    default_backend routewall_check\n\nbackend routewall_check\n{backend}\n    server app 127.0.0.1:9\n"
    );
    std::fs::write(&conf, config).map_err(|e| validator(e.to_string()))?;
    let result = Command::new(&program)
        .arg("-c")
        .arg("-f")
        .arg(&conf)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| validator(e.to_string()))?;
    if result.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&result.stderr).into_owned()
        + &String::from_utf8_lossy(&result.stdout);
    let message = text
        .lines()
        .find(|l| l.contains("[ALERT]"))
        .or_else(|| text.lines().find(|l| !l.trim().is_empty()))
        .unwrap_or("no message")
        .replace(&format!("{}/", dir.display()), "");
    Err(EmitError::Rejected {
        server: "haproxy -c".to_owned(),
        message,
    })
}

routewall_core::export_plugin!(
    target,
    HaproxyEmitter,
    "HAProxy: pattern files + the backend lines that use them (run-time plugin)"
);

#[cfg(test)]
mod tests {
    use routewall_core::{Converter, Param, Route, Segment};

    use super::*;

    fn table() -> RouteTable {
        RouteTable::new("flask", "app")
            .with_route(Route::new("about", "/about", vec![Segment::text("/about")]))
            .with_route(Route::new(
                "user",
                "/user/<int:id>",
                vec![
                    Segment::text("/user/"),
                    Segment::Param(Param::new("id", Converter::new("int", "[0-9]+"))),
                ],
            ))
            .with_route(Route::new("odd", "/a\nb", vec![Segment::text("/a\nb")]))
    }

    #[test]
    fn exact_paths_go_to_the_tree_and_the_rest_to_regexes() {
        let ctx = EmitContext::default().with_output_dir(Some("/etc/haproxy/rw".into()));
        let output = HaproxyEmitter.emit(&table(), &ctx).expect("emits");
        let file = |n: &str| output.file(n).expect(n).contents.clone();
        assert_eq!(file("path-exact.lst"), "/about\n");
        let regexes = file("path-regex.lst");
        assert!(regexes.contains(r"^/a\x0ab\z"), "{regexes}");
        assert!(regexes.contains(r"^/user/"), "{regexes}");
        assert!(
            file(BACKEND).contains("-m str -f '/etc/haproxy/rw/path-exact.lst'"),
            "{}",
            file(BACKEND)
        );
    }

    #[test]
    fn what_it_cannot_check_is_refused() {
        let monitor = EmitContext::default().with_monitor_log(Some("/var/log/x.log".into()));
        assert!(HaproxyEmitter.emit(&table(), &monitor).is_err());
        let quote = EmitContext::default().with_output_dir(Some("/tmp/it's".into()));
        let err = HaproxyEmitter
            .emit(&table(), &quote)
            .expect_err("a quote in the path");
        assert!(err.to_string().contains("quote"), "{err}");
    }
}
