//! The framework-neutral route model.
//!
//! A [`RouteTable`] keeps everything a framework knows about its routes, so an emitter can
//! decide exactly what to allow: each rule is split into [`Segment`]s of static text and
//! typed parameters, and every parameter carries the framework's own regex next to its
//! converter name and arguments. Sources fill it, emitters read it, and it travels as JSON
//! between processes (the Flask dump script) and, later, across the plugin ABI.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Version of the JSON schema of [`RouteTable`], bumped whenever a field is added that
/// changes what a table allows: a reader that does not know the field would read a wider
/// table, so readers refuse tables newer than their own version. 2 added
/// [`RouteTable::domain`], [`Route::domain`] and [`Route::exact`]; 3 added
/// [`RouteTable::python_classes`].
pub const SCHEMA_VERSION: u32 = 3;

/// Every route one application defines, as read by a [`crate::RouteSource`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RouteTable {
    /// [`SCHEMA_VERSION`] of the producer.
    pub schema_version: u32,
    /// Name of the source that read the table (`flask`).
    pub source: String,
    /// The application as the user named it (`app:create_app()`).
    pub app: String,
    /// Framework name and version, for reports (`Flask 3.1.3`).
    #[serde(default)]
    pub framework: Option<String>,
    /// How the table was read, for reports (`embedded Python 3.11`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_by: Option<String>,
    /// Routes match on the host name (`Map(host_matching=True)`).
    #[serde(default)]
    pub host_matching: bool,
    /// Routes with a subdomain can match (Flask's `subdomain_matching`).
    #[serde(default)]
    pub subdomain_matching: bool,
    /// How the framework turns a request's host into the domain that [`Route::domain`]
    /// patterns match.
    #[serde(default)]
    pub domain: DomainBinding,
    /// The routes, in the framework's own order.
    pub routes: Vec<Route>,
    /// Query-string keys that the framework's own middleware answers on *any* path
    /// (Werkzeug's debugger: `?__debugger__=yes&cmd=…`). A path allowlist cannot see them,
    /// so emitters refuse every request that carries one.
    #[serde(default)]
    pub blocked_query_keys: Vec<String>,
    /// Python's own `\d`, `\s` and `\w`, as the interpreter that read the routes defines
    /// them, for converter regexes in the [`RegexDialect::Python`] dialect. `None` (an older
    /// producer, a source that is not Python): translators use their own Unicode tables.
    /// Boxed: a few hundred ranges, beside a table that moves around by value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python_classes: Option<Box<PythonClasses>>,
}

impl RouteTable {
    /// An empty table for `app`, read by `source`.
    pub fn new(source: impl Into<String>, app: impl Into<String>) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            source: source.into(),
            app: app.into(),
            framework: None,
            read_by: None,
            host_matching: false,
            subdomain_matching: false,
            domain: DomainBinding::Any,
            routes: Vec::new(),
            blocked_query_keys: Vec::new(),
            python_classes: None,
        }
    }

    /// Adds a route (builder style).
    #[must_use]
    pub fn with_route(mut self, route: Route) -> Self {
        self.routes.push(route);
        self
    }

    /// Moves every route under `prefix`, for an app mounted at a sub-path (gunicorn's
    /// `SCRIPT_NAME`, a `DispatcherMiddleware` mount): the public URL is the prefix plus the
    /// rule. The app's root then answers both `/prefix` and `/prefix/`, as the WSGI server
    /// hands it an empty or `/` PATH_INFO.
    pub fn mount(&mut self, prefix: &str) -> Result<(), String> {
        let prefix = prefix.trim_end_matches('/');
        if prefix.is_empty() {
            return Ok(());
        }
        if !prefix.starts_with('/') || prefix.contains("//") {
            return Err(format!(
                "prefix `{}` must start with `/` and hold no `//`",
                prefix.escape_debug()
            ));
        }
        let mut bare_roots = Vec::new();
        for route in &mut self.routes {
            if route.origin.is_some() {
                continue;
            }
            if route.segments == [Segment::text("/")] {
                let mut bare = route.clone();
                bare.segments = vec![Segment::text(prefix)];
                bare.rule = prefix.to_owned();
                bare_roots.push(bare);
            }
            match route.segments.first_mut() {
                Some(Segment::Static { text }) => text.insert_str(0, prefix),
                _ => route.segments.insert(0, Segment::text(prefix)),
            }
            route.rule.insert_str(0, prefix);
        }
        self.routes.extend(bare_roots);
        Ok(())
    }
}

/// The classes `\d`, `\s` and `\w` of Python's `re` (for `str` patterns), as one interpreter
/// defines them: they follow its own Unicode database, and they are not Unicode's
/// properties (`\s` holds `\x1c`–`\x1f`, which are not White_Space; `\w` is `str.isalnum()`
/// plus `_`, without the combining marks that Unicode's word characters have). `\D`, `\S`
/// and `\W` are their complements.
///
/// Each class is a list of inclusive code point ranges, ascending and disjoint, or `None`
/// when the producer did not compute it (no converter regex uses it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PythonClasses {
    /// Version of the interpreter's Unicode database, for reports (`14.0.0`).
    #[serde(default)]
    pub unicode_version: Option<String>,
    /// `\d`: the decimal digits (`str.isdecimal()`).
    #[serde(default)]
    pub digit: Option<Vec<(u32, u32)>>,
    /// `\s`: the whitespace characters (`str.isspace()`).
    #[serde(default)]
    pub space: Option<Vec<(u32, u32)>>,
    /// `\w`: the word characters (`str.isalnum()`, and `_`).
    #[serde(default)]
    pub word: Option<Vec<(u32, u32)>>,
}

/// How a framework derives the domain it matches [`Route::domain`] patterns against from
/// the request's host (lower case, without port: what nginx's `$host` holds and forwards).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DomainBinding {
    /// The framework ignores the host: routes match on every host.
    #[default]
    Any,
    /// Every request gets the same domain, whatever its host (Flask without
    /// `subdomain_matching` binds subdomain `""`): a route whose domain pattern does not
    /// match `value` never matches.
    Fixed {
        /// The domain every request is matched with.
        value: String,
    },
    /// The domain is the host itself (Werkzeug's `host_matching`).
    Host,
    /// The domain is the part of the host before `server_name` (`api` of
    /// `api.example.com`), empty labels dropped; a host that does not end in
    /// `server_name` gets `otherwise` (Werkzeug's `<invalid>`).
    Subdomain {
        /// The configured server name (`SERVER_NAME`), lower case.
        server_name: String,
        /// The domain of a host outside `server_name`.
        otherwise: String,
    },
}

/// One rule of the application: a path pattern plus the options that decide how it matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Route {
    /// The handler's name (Flask's endpoint, `admin.index`).
    pub endpoint: String,
    /// The rule text exactly as the framework holds it (`/user/<int:id>`).
    pub rule: String,
    /// The rule split into static text and parameters, after the framework's own rewriting
    /// of the rule text (Werkzeug merges `//` when `merge_slashes` is on).
    pub segments: Vec<Segment>,
    /// Accepted methods, upper case; `None` means any method.
    #[serde(default)]
    pub methods: Option<Vec<String>>,
    /// A rule ending in `/` redirects the slash-less path to itself; a rule without one
    /// does not match with a trailing slash. `false` makes both forms match.
    #[serde(default = "yes")]
    pub strict_slashes: bool,
    /// Runs of `/` in the request are merged (with a redirect) before matching this rule.
    #[serde(default = "yes")]
    pub merge_slashes: bool,
    /// The rule matches its own path only: no trailing-slash twin (for frameworks that do
    /// not answer `/x` for a rule `/x/`, such as an OpenAPI document's servers).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exact: bool,
    /// Host pattern when the framework matches on host names.
    #[serde(default)]
    pub host: Option<String>,
    /// Subdomain pattern when the framework matches on subdomains.
    #[serde(default)]
    pub subdomain: Option<String>,
    /// The pattern the request's domain (see [`DomainBinding`]) must match, split like
    /// [`Route::segments`]; `None` when the route matches on any host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<Vec<Segment>>,
    /// The route only answers WebSocket upgrades.
    #[serde(default)]
    pub websocket: bool,
    /// The route answers with a redirect to this target instead of calling a handler.
    #[serde(default)]
    pub redirect_to: Option<String>,
    /// Default values the framework fills in for parameters the rule does not contain.
    #[serde(default)]
    pub defaults: BTreeMap<String, serde_json::Value>,
    /// The framework answers `OPTIONS` itself for this route.
    #[serde(default)]
    pub automatic_options: Option<bool>,
    /// The route's methods join the `Allow` header of a 405 for its paths, as Werkzeug
    /// lists every matching rule's. `false` when an earlier route with the same path
    /// answers that 405 alone (Starlette's router lists the first matching route's
    /// methods); the route still lets its own methods through.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub joins_allow: bool,
    /// Where the route comes from when the framework does not know it: the operator
    /// added it (`--allow /socket.io/*`). `None` for the framework's own routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

fn yes() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

impl Route {
    /// A route with the framework defaults (strict and merged slashes, any method).
    pub fn new(
        endpoint: impl Into<String>,
        rule: impl Into<String>,
        segments: Vec<Segment>,
    ) -> Self {
        Self {
            endpoint: endpoint.into(),
            rule: rule.into(),
            segments,
            methods: None,
            strict_slashes: true,
            merge_slashes: true,
            exact: false,
            host: None,
            subdomain: None,
            domain: None,
            websocket: false,
            redirect_to: None,
            defaults: BTreeMap::new(),
            automatic_options: None,
            joins_allow: true,
            origin: None,
        }
    }

    /// A route the framework cannot see, added by the operator. `PATH` allows that path
    /// exactly; `PATH*` allows every path that starts with `PATH`.
    pub fn extra(pattern: &str, origin: impl Into<String>) -> Result<Self, String> {
        if !pattern.starts_with('/') {
            return Err(format!("`{}` must start with `/`", pattern.escape_debug()));
        }
        let segments = match pattern.strip_suffix('*') {
            Some(prefix) => vec![
                Segment::text(prefix),
                Segment::Param(Param::new(
                    "rest",
                    Converter::new("rest", r"(?s:.*)").part_isolating(false),
                )),
            ],
            None => vec![Segment::text(pattern)],
        };
        let mut route = Route::new(pattern, pattern, segments);
        route.origin = Some(origin.into());
        Ok(route)
    }

    /// Whether the route has no parameters.
    pub fn is_static(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, Segment::Static { .. }))
    }
}

/// A piece of a rule: a run of literal text (it may contain `/`) or one parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Segment {
    /// Literal text, compared byte for byte after percent-decoding.
    Static {
        /// The text, as Unicode.
        text: String,
    },
    /// A typed parameter.
    Param(Param),
}

impl Segment {
    /// A literal piece of text.
    pub fn text(text: impl Into<String>) -> Self {
        Segment::Static { text: text.into() }
    }
}

/// A named parameter and the converter that decides which text it accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Param {
    /// The parameter's name in the rule (`id`).
    pub name: String,
    /// How the framework recognises and converts the value.
    pub converter: Converter,
}

impl Param {
    /// A parameter named `name` using `converter`.
    pub fn new(name: impl Into<String>, converter: Converter) -> Self {
        Self {
            name: name.into(),
            converter,
        }
    }
}

/// A framework converter, with the regex the framework itself matches values against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Converter {
    /// Converter name as written in the rule (`int`, `path`, `default`, a custom name).
    pub name: String,
    /// Name of the implementing class, for reports (`IntegerConverter`).
    #[serde(default)]
    pub class: Option<String>,
    /// Positional arguments from the rule (`any(a, b)` → `["a", "b"]`).
    #[serde(default)]
    pub args: Vec<serde_json::Value>,
    /// Keyword arguments from the rule (`int(fixed_digits=4)`).
    #[serde(default)]
    pub kwargs: BTreeMap<String, serde_json::Value>,
    /// The regex a value must match entirely, in [`Converter::dialect`].
    pub regex: String,
    /// Regex dialect of [`Converter::regex`].
    #[serde(default)]
    pub dialect: RegexDialect,
    /// The value never contains `/` (Werkzeug's `part_isolating`); `false` for `path`.
    #[serde(default = "yes")]
    pub part_isolating: bool,
    /// Match priority among dynamic rules (Werkzeug's `weight`), lower first.
    #[serde(default)]
    pub weight: Option<i64>,
    /// The framework's own `to_python` may reject values the regex accepts, beyond what
    /// the model can express (e.g. `int(max=10)`, or custom code).
    #[serde(default)]
    pub validates: bool,
}

impl Converter {
    /// A converter named `name` that accepts `regex` (Python dialect, part-isolating).
    pub fn new(name: impl Into<String>, regex: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            class: None,
            args: Vec::new(),
            kwargs: BTreeMap::new(),
            regex: regex.into(),
            dialect: RegexDialect::Python,
            part_isolating: true,
            weight: None,
            validates: false,
        }
    }

    /// Marks whether the value may contain `/` (builder style).
    #[must_use]
    pub fn part_isolating(mut self, yes: bool) -> Self {
        self.part_isolating = yes;
        self
    }
}

/// The syntax and semantics a converter regex was written for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RegexDialect {
    /// Python's `re` on `str`: Unicode-aware classes (`\d` is any decimal digit).
    #[default]
    Python,
    /// ECMAScript (OpenAPI `pattern`).
    Ecmascript,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_table_round_trips_through_json() {
        let table = RouteTable::new("flask", "app").with_route(Route::new(
            "user",
            "/user/<int:id>",
            vec![
                Segment::text("/user/"),
                Segment::Param(Param::new("id", Converter::new("int", r"\d+"))),
            ],
        ));
        let json = serde_json::to_string(&table).expect("serialize");
        let back: RouteTable = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(table, back);
        assert!(json.contains(r#""kind":"param""#), "{json}");
    }

    #[test]
    fn missing_options_take_framework_defaults() {
        let route: Route = serde_json::from_str(
            r#"{"endpoint":"i","rule":"/","segments":[{"kind":"static","text":"/"}]}"#,
        )
        .expect("deserialize");
        assert!(route.strict_slashes && route.merge_slashes && route.methods.is_none());
        assert!(route.is_static());
    }
}
