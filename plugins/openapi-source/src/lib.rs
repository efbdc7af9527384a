//! Routes from an OpenAPI 3.0 or 3.1 document (`--source openapi --app openapi.yaml`).
//!
//! With `servers: [{url: https://api.example.com/v1}]`, the spec path
//! `/items/{id}` whose `get` has the path parameter `id: {type: integer, minimum: 0}`
//! becomes the route `/v1/items/{id}`: the static text `/v1/items/`, then the parameter
//! `id` with the converter regex `[0-9]+|-0+` (digits; `-0` is 0 too), methods `GET` and `HEAD`.
//!
//! ```
//! use routewall_core::Segment;
//! use routewall_openapi_source::OpenApiSource;
//!
//! let spec = r#"{
//!   "openapi": "3.1.0",
//!   "servers": [{"url": "https://api.example.com/v1"}],
//!   "paths": {"/items/{id}": {"get": {
//!     "operationId": "getItem",
//!     "parameters": [{"name": "id", "in": "path", "required": true,
//!                     "schema": {"type": "integer", "minimum": 0}}]}}}
//! }"#;
//! let table = OpenApiSource.load_str("openapi.json", spec)?;
//! let route = &table.routes[0];
//! assert_eq!((route.rule.as_str(), route.endpoint.as_str()), ("/v1/items/{id}", "getItem"));
//! assert_eq!(route.segments[0], Segment::text("/v1/items/"));
//! let Segment::Param(id) = &route.segments[1] else { unreachable!() };
//! assert_eq!(id.converter.regex, "[0-9]+|-0+");
//! assert_eq!(route.methods, Some(vec!["GET".to_owned(), "HEAD".to_owned()]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How a document becomes routes
//!
//! The allowlist must be exact: every URL the document describes passes, nothing else.
//!
//! - **Paths.** Each entry of `paths` gives one route per distinct set of path-parameter
//!   schemas among its operations (usually one); each `{name}` template expression becomes
//!   a parameter, also inside a segment (`/files/{name}.{ext}`). Paths match exactly
//!   (`exact`): `/x` does not allow `/x/`, and `/x/` does not allow `/x`. Percent-escapes in the path are decoded.
//! - **Prefix.** The path part of the first server URL (`servers[0].url`, absolute or
//!   `/`-relative, `{variables}` replaced by their `default`, trailing `/` dropped) is put
//!   in front of every path. A `servers` list on a path item or an operation overrides the
//!   document's for it. A server URL relative to the document's own location (`v1`) is
//!   refused: routewall cannot know where the document is served.
//! - **Methods.** The operations' methods, upper case. **`HEAD` comes with `GET`**, as in
//!   Express, Starlette, Spring and Go's `ServeMux`, which all answer `HEAD` for a `GET`
//!   route (unless the path item defines `head` itself). `OPTIONS` is allowed only where
//!   the document has an `options` operation (`automatic_options` is off).
//! - **Endpoint.** The operations' `operationId`s joined with `,`, or the path.
//! - **Parameters.** Path-level `parameters` apply to every operation; an operation's own
//!   parameter with the same `name` and `in` replaces it. Only `in: path` parameters shape
//!   the route. A `{name}` with no matching path parameter (many real documents omit
//!   them), or a path parameter without `schema`, is a plain string: `[^/]+`.
//! - **Schemas to regexes** (full-match, ASCII classes): `integer` `-?[0-9]+` (`[0-9]+|-0+`
//!   when the minimum is 0 or more); `number` a decimal with optional `-`, fraction and
//!   exponent; `boolean` `true|false`; `enum`/`const` the values themselves; `format: uuid`
//!   the 8-4-4-4-12 hex form; `pattern` (ECMA-262, unanchored) translated; a plain string
//!   `[^/]+` or `[^/]{min,max}` from `minLength`/`maxLength` (code points). `allOf` and a
//!   `$ref`'s siblings (3.1) are merged, `anyOf`/`oneOf` become alternations, `type` lists
//!   drop `null`. Constraints a regex cannot hold (`maximum`, `multipleOf`, a minimum
//!   other than 0, a `format` other than `uuid`, lengths next to a `pattern`) keep the
//!   regex and mark the converter [`validates`](routewall_core::Converter::validates):
//!   the server checks those in its code.
//! - **References.** Local `$ref`s (`#/components/…`, JSON pointers) are followed,
//!   through any number of steps; a cycle, an anchor or an external reference is an error.
//! - **Refused** (one-line error naming the path and parameter, no partial table): a path
//!   not starting with `/`, an unknown field in a path item, a path parameter with `style`
//!   other than `simple`, described by `content`, or of type `object` or `array`, a
//!   `pattern` with assertions or back-references, and documents other than OpenAPI 3.0 or
//!   3.1 (Swagger 2.0, OpenAPI 3.2).
//! - **Ignored:** `x-` extensions, `webhooks` (calls the API makes, not routes it
//!   serves), `deprecated` (a deprecated operation is still served), and every
//!   non-path parameter.

mod document;
mod ecma;
mod schema;

use std::path::Path;

use routewall_core::{
    Converter, Param, Route, RouteSource, RouteTable, Segment, SourceContext, SourceError,
};
use serde_norway::{Mapping, Value};

use crate::document::{Doc, as_map, as_str, field, key_text, percent_decode};

/// Operation fields of a Path Item Object, in the order the specification lists them.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
/// The other fields a Path Item Object may have.
const PATH_ITEM_FIELDS: [&str; 5] = ["$ref", "summary", "description", "servers", "parameters"];

/// Reads an OpenAPI 3.0/3.1 document (`--source openapi`): `--app` names the JSON or YAML
/// file, relative to the working directory.
#[derive(Debug, Default, Clone, Copy)]
pub struct OpenApiSource;

impl RouteSource for OpenApiSource {
    fn name(&self) -> &str {
        "openapi"
    }

    fn load(&self, ctx: &SourceContext) -> Result<RouteTable, SourceError> {
        let path = ctx.working_dir.join(Path::new(&ctx.app));
        let text = std::fs::read_to_string(&path).map_err(|e| SourceError::App {
            app: ctx.app.clone(),
            cause: format!("cannot read `{}`: {e}", path.display()),
        })?;
        self.load_str(&ctx.app, &text)
    }
}

impl OpenApiSource {
    /// Reads the document `text` (JSON or YAML) of the application named `app`.
    pub fn load_str(&self, app: &str, text: &str) -> Result<RouteTable, SourceError> {
        translate(app, text).map_err(|cause| SourceError::App {
            app: app.to_owned(),
            cause,
        })
    }
}

fn translate(app: &str, text: &str) -> Result<RouteTable, String> {
    let root = document::parse(text)?;
    let top = as_map(&root).ok_or("not an OpenAPI document: the top level is not a mapping")?;
    if field(top, "swagger").is_some() {
        return Err(
            "Swagger 2.0 documents are not supported: convert it to OpenAPI 3 first".into(),
        );
    }
    let version = match field(top, "openapi") {
        Some(v) => key_text(v).ok_or("the `openapi` field is not a version number")?,
        None => return Err("not an OpenAPI document: it has no `openapi` field".into()),
    };
    let v31 = match version.split('.').take(2).collect::<Vec<_>>().as_slice() {
        ["3", "0"] => false,
        ["3", "1"] => true,
        _ => {
            return Err(format!(
                "OpenAPI {version} is not supported (3.0 and 3.1 are)"
            ));
        }
    };
    let doc = Doc { root: &root, v31 };
    let root_prefix = servers_prefix(field(top, "servers"))
        .map_err(|e| format!("`servers`: {e}"))?
        .unwrap_or_default();
    let mut table = RouteTable::new("openapi", app);
    table.framework = Some(format!("OpenAPI {version}"));
    let Some(paths) = field(top, "paths") else {
        // 3.1 allows a document with webhooks or components only.
        return Ok(table);
    };
    let paths = match document::untag(paths) {
        Value::Null => return Ok(table),
        _ => as_map(paths).ok_or("`paths` is not a mapping")?,
    };
    for (key, item) in paths {
        let path = key_text(key).ok_or("`paths` has a key that is not text")?;
        if path.starts_with("x-") {
            continue;
        }
        let routes = path_routes(&doc, &path, item, &root_prefix)
            .map_err(|e| format!("path `{path}`{e}"))?;
        table.routes.extend(routes);
    }
    Ok(table)
}

/// A piece of a path template.
enum Piece {
    Text(String),
    Param(String),
}

/// Splits `/files/{name}.{ext}` into text and parameter names.
fn template(path: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = path;
    let mut names: Vec<&str> = Vec::new();
    let text = |t: &str| {
        percent_decode(t)
            .map(Piece::Text)
            .ok_or_else(|| ": has a percent-escape that is not UTF-8".to_owned())
    };
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err(": has a `}` without `{`".into());
        }
        let close = rest[open..].find('}').ok_or(": has a `{` without `}`")? + open;
        let name = &rest[open + 1..close];
        if name.is_empty() || name.contains('{') {
            return Err(format!(": has an invalid template expression `{{{name}}}`"));
        }
        if names.contains(&name) {
            return Err(format!(": uses `{{{name}}}` twice"));
        }
        names.push(name);
        if open > 0 {
            pieces.push(text(&rest[..open])?);
        }
        pieces.push(Piece::Param(name.to_owned()));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(text(rest)?);
    }
    Ok(pieces)
}

/// A resolved Parameter Object.
struct Parameter<'v> {
    name: String,
    location: String,
    object: &'v Mapping,
}

fn parameters<'a>(doc: &Doc<'a>, list: Option<&'a Value>) -> Result<Vec<Parameter<'a>>, String> {
    let items = match list.map(document::untag) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Sequence(items)) => items,
        Some(_) => return Err(" is not a list".into()),
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let object = doc
            .follow(item)
            .map_err(|e| format!(" #{}: {e}", i + 1))
            .and_then(|v| as_map(v).ok_or_else(|| format!(" #{} is not an object", i + 1)))?;
        let text = |key: &str| {
            field(object, key)
                .and_then(as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!(" #{} has no `{key}`", i + 1))
        };
        out.push(Parameter {
            name: text("name")?,
            location: text("in")?,
            object,
        });
    }
    Ok(out)
}

/// The path prefix of the first server of `servers`; `None` when there is no server.
fn servers_prefix(servers: Option<&Value>) -> Result<Option<String>, String> {
    let first = match servers.map(document::untag) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Sequence(list)) => match list.first() {
            None => return Ok(None),
            Some(first) => first,
        },
        Some(_) => return Err("not a list".into()),
    };
    let server = as_map(first).ok_or("the first server is not an object")?;
    let url = field(server, "url")
        .and_then(as_str)
        .ok_or("the first server has no `url`")?;
    server_path(url, field(server, "variables").and_then(as_map)).map(Some)
}

/// The path part of a server URL, variables substituted, without trailing `/`.
fn server_path(url: &str, variables: Option<&Mapping>) -> Result<String, String> {
    let mut expanded = String::new();
    let mut rest = url;
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| format!("server URL `{url}` has a `{{` without `}}`"))?
            + open;
        let name = &rest[open + 1..close];
        let default = variables
            .and_then(|vars| field(vars, name))
            .and_then(as_map)
            .and_then(|var| field(var, "default"))
            .and_then(key_text)
            .ok_or_else(|| format!("server URL `{url}`: variable `{name}` has no `default`"))?;
        expanded.push_str(&rest[..open]);
        expanded.push_str(&default);
        rest = &rest[close + 1..];
    }
    expanded.push_str(rest);
    let mut text = expanded.as_str();
    if let Some(end) = text.find(['?', '#']) {
        text = &text[..end];
    }
    let scheme_end = text.find("://").filter(|&i| {
        i > 0
            && text[..i]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    let path = if let Some(i) = scheme_end {
        let after = &text[i + 3..];
        after.find('/').map_or("", |slash| &after[slash..])
    } else if let Some(after) = text.strip_prefix("//") {
        after.find('/').map_or("", |slash| &after[slash..])
    } else if text.is_empty() || text.starts_with('/') {
        text
    } else {
        return Err(format!(
            "server URL `{url}` is relative to where the document is served, which routewall does not know"
        ));
    };
    let path = percent_decode(path)
        .ok_or_else(|| format!("server URL `{url}` has a percent-escape that is not UTF-8"))?;
    Ok(path.trim_end_matches('/').to_owned())
}

/// One operation's contribution to a path's routes.
struct Operation {
    method: String,
    id: Option<String>,
    prefix: String,
    converters: Vec<Converter>,
}

/// The routes of one entry of `paths`. Errors start with `:` or ` ` to follow
/// "path `/x`".
fn path_routes(
    doc: &Doc<'_>,
    path: &str,
    item: &Value,
    root_prefix: &str,
) -> Result<Vec<Route>, String> {
    if !path.starts_with('/') {
        return Err(" does not start with `/`".into());
    }
    let pieces = template(path)?;
    let original = as_map(item).ok_or(": is not an object")?;
    // Sibling fields of a path item's `$ref` are merged with the target's.
    let merged;
    let item = match field(original, "$ref") {
        None => original,
        Some(_) => {
            let target = doc.follow(item).map_err(|e| format!(": {e}"))?;
            let target = as_map(target).ok_or(": `$ref` does not point at an object")?;
            let mut fields = target.clone();
            for (key, value) in original {
                let name = key_text(key).unwrap_or_default();
                if name == "$ref" {
                    continue;
                }
                if fields.contains_key(key) {
                    return Err(format!(": field `{name}` is both beside and behind `$ref`"));
                }
                fields.insert(key.clone(), value.clone());
            }
            merged = fields;
            &merged
        }
    };
    for key in item.keys() {
        let key = key_text(key).unwrap_or_default();
        if !(key.starts_with("x-")
            || METHODS.contains(&key.as_str())
            || PATH_ITEM_FIELDS.contains(&key.as_str()))
        {
            return Err(format!(
                " has unknown field `{key}` (routewall cannot tell whether it is an operation)"
            ));
        }
    }
    let path_params =
        parameters(doc, field(item, "parameters")).map_err(|e| format!(": `parameters`{e}"))?;
    let path_prefix =
        servers_prefix(field(item, "servers")).map_err(|e| format!(": `servers`: {e}"))?;
    let mut operations = Vec::new();
    for (key, op) in item {
        let method = key_text(key).unwrap_or_default();
        if !METHODS.contains(&method.as_str()) {
            continue;
        }
        let op = as_map(op).ok_or_else(|| format!(": `{method}` is not an object"))?;
        let op_params = parameters(doc, field(op, "parameters"))
            .map_err(|e| format!(": `{method}` `parameters`{e}"))?;
        let prefix = match servers_prefix(field(op, "servers"))
            .map_err(|e| format!(": `{method}` `servers`: {e}"))?
        {
            Some(prefix) => prefix,
            None => path_prefix
                .clone()
                .unwrap_or_else(|| root_prefix.to_owned()),
        };
        let mut converters = Vec::new();
        for piece in &pieces {
            let Piece::Param(name) = piece else { continue };
            // The operation's own parameter wins over the path item's.
            let declared = op_params
                .iter()
                .chain(&path_params)
                .find(|p| p.location == "path" && p.name == *name);
            let converter = match declared {
                None => schema::plain(),
                Some(param) => schema::path_parameter(doc, param.object)
                    .map_err(|e| format!(": parameter `{name}`{e}"))?,
            };
            converters.push(converter);
        }
        let id = field(op, "operationId").and_then(as_str).map(str::to_owned);
        operations.push(Operation {
            method: method.to_ascii_uppercase(),
            id,
            prefix,
            converters,
        });
    }
    // One route per (prefix, parameter converters), in the order operations come.
    let mut groups: Vec<(&str, &[Converter], Vec<&Operation>)> = Vec::new();
    for op in &operations {
        match groups.iter_mut().find(|(prefix, converters, _)| {
            *prefix == op.prefix && *converters == op.converters.as_slice()
        }) {
            Some(group) => group.2.push(op),
            None => groups.push((&op.prefix, &op.converters, vec![op])),
        }
    }
    let mut routes = Vec::new();
    for (prefix, converters, ops) in groups {
        let mut methods: Vec<String> = ops.iter().map(|op| op.method.clone()).collect();
        let explicit_head = operations
            .iter()
            .any(|op| op.method == "HEAD" && op.prefix == prefix);
        if methods.iter().any(|m| m == "GET") && !explicit_head {
            methods.push("HEAD".to_owned());
        }
        methods.sort();
        methods.dedup();
        let ids: Vec<&str> = ops.iter().filter_map(|op| op.id.as_deref()).collect();
        let endpoint = if ids.is_empty() {
            path.to_owned()
        } else {
            ids.join(",")
        };
        let mut segments = Vec::new();
        let mut text = prefix.to_owned();
        let mut converters = converters.iter();
        for piece in &pieces {
            match piece {
                Piece::Text(t) => text.push_str(t),
                Piece::Param(name) => {
                    if !text.is_empty() {
                        segments.push(Segment::text(std::mem::take(&mut text)));
                    }
                    let converter = converters.next().cloned().unwrap_or_else(schema::plain);
                    segments.push(Segment::Param(Param::new(name.clone(), converter)));
                }
            }
        }
        if !text.is_empty() {
            segments.push(Segment::text(text));
        }
        let mut route = Route::new(endpoint, format!("{prefix}{path}"), segments);
        route.methods = Some(methods);
        route.strict_slashes = true;
        route.exact = true;
        // Servers behind an OpenAPI document route `//x` as its own (unknown) path.
        route.merge_slashes = false;
        route.automatic_options = Some(false);
        routes.push(route);
    }
    Ok(routes)
}

routewall_core::export_plugin!(
    source,
    OpenApiSource,
    "OpenAPI 3.0/3.1 documents, JSON or YAML (run-time plugin): --app SPEC_FILE"
);
