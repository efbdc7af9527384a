//! Turning a route table into the allowlist's structure: exact paths for a hash, and
//! anchored regexes grouped by first path segment.
//!
//! Why this shape (measured in `shared/nginx-bench.md`): nginx tries regexes one after
//! another, but looks up exact `map` keys in a hash. So every static path goes into one
//! hash, and dynamic routes are split by their first literal segment, which a second hash
//! turns into the name of a per-group `map`. nginx evaluates `map` variables lazily, so a
//! request only runs the regexes of its own group: the per-request cost stays flat as the
//! app grows, instead of growing with the number of routes as a list of regex locations
//! does. Within a group, routes are factored into one trie-shaped regex per ≤ 4000 bytes.

use std::collections::{BTreeMap, BTreeSet};

use routewall_core::{CodeChecks, DomainBinding, Route, RouteTable, Segment};

use crate::pattern::{self, DefinitionStyle, Definitions, Fragment, Untranslatable};
use crate::unicode::{self, PcreUnicode};
use linear::{Atom, Piece};

mod linear;
pub mod tree;

/// nginx rejects a directive parameter over 4094 bytes; keep well below it.
pub const MAX_REGEX_BYTES: usize = 4000;

/// The allowlist, ready to print: one or more [`Table`]s of paths.
#[derive(Debug, Default)]
pub struct Layout {
    /// Without method enforcement one table, `path`. With it, per method `M` of
    /// [`Layout::methods`] (by index `i`): `ok_i` (paths `M` may request), `known_i` (paths
    /// whose own rules accept `M`, for the `Allow` header of a 405), and `ok_other` for any
    /// other method.
    pub tables: Vec<Table>,
    /// Every method some rule names, sorted; empty without method enforcement.
    pub methods: Vec<String>,
    /// Routes left out on purpose, with the reason.
    pub skipped: Vec<String>,
    /// Things the user should know about (over-approximations).
    pub warnings: Vec<String>,
    /// Routes the operator added, as `PATH (from ORIGIN)`.
    pub extras: Vec<String>,
    /// Anchored regexes over the request's domain (see [`DomainBinding`]), one per
    /// distinct domain pattern of the routes, by index.
    pub domains: Vec<String>,
    /// Tables whose routes answer on some hosts only: each is split into one table per
    /// domain pattern, joined back here.
    pub joins: Vec<Join>,
}

/// A table split by what its routes need besides the path: its paths are allowed when one
/// part's conditions hold and the part's table holds the path.
#[derive(Debug)]
pub struct Join {
    /// The name the joined table answers under (`path`, `ok_0`, …).
    pub name: String,
    /// The parts, unconditional ones first.
    pub parts: Vec<Part>,
}

/// One part of a [`Join`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Index into [`Layout::domains`] the request's domain must match; `None`: any host.
    pub domain: Option<usize>,
    /// The raw request path must hold no empty segment (`//`, in any spelling): the
    /// routes do not merge slashes (Werkzeug's `merge_slashes=False`, OpenAPI servers),
    /// while a server that merges them before matching would let `//x` through as `/x`.
    pub single_slashes: bool,
    /// The name of the part's own [`Table`].
    pub table: String,
}

/// A set of paths, split for nginx: a hash of exact paths and regex groups.
#[derive(Debug, Default)]
pub struct Table {
    /// Names the table's variables.
    pub name: String,
    /// Exact paths, for the hash.
    pub statics: BTreeSet<String>,
    /// Groups keyed by the ASCII-lowercased first segment (nginx's hash ignores case; the
    /// group's regexes do not).
    pub groups: BTreeMap<String, Group>,
    /// Regexes for URIs whose first segment names no group (or that have one segment).
    pub fallback: Vec<String>,
    /// Regexes of routes whose first segment is a parameter: they can match under any
    /// group, so they are tried after the group's own (or the fallback) missed.
    pub everywhere: Vec<String>,
    /// Unicode-mode regexes (`(*UTF)(*UCP)^…\z`, see [`crate::PcreUnicode`]) of routes
    /// with no byte-level form that fits (only from [`build_unicode`]): tried last, and
    /// only for a path that is well-formed UTF-8 ([`crate::VALID_UTF8_GUARD`]).
    pub unicode: Vec<String>,
}

/// The dynamic routes under one literal path prefix: a node of a tree keyed by segments.
#[derive(Debug, Default)]
pub struct Group {
    /// Routes of a big group split once more by their next literal segment (lowercased),
    /// for URIs with a segment after it; a child is tried before the group's own routes.
    pub children: BTreeMap<String, Group>,
    /// The group's other routes, tried after a child missed.
    pub rest: Vec<String>,
}

/// A group with more variants than this is split by its next segment, and so on down: a
/// request then runs the regexes of a few dozen routes, not of thousands.
const SPLIT_ABOVE: usize = 32;

/// One path a route accepts, as segment tokens (`/users`, `/\d+`). A token that holds a
/// slash-crossing parameter runs to the end of the path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Variant {
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Token {
    /// The token's regex; for a slash-crossing token in linear form, up to its last
    /// slash-crossing parameter's run (see [`linear::crossing`]).
    regex: Fragment,
    /// A slash-crossing token's rest in linear form, matched after `regex` and before the
    /// end of the path.
    tail: Option<Vec<Atom>>,
    /// The token's text when it holds no parameter.
    literal: Option<String>,
    /// Holds a parameter that may contain `/` (Werkzeug's `path`), so the token runs to
    /// the end of the rule.
    crosses: bool,
    /// What follows the token's leading `/` as items the nginx module can match without
    /// PCRE, when every parameter in it allows that (see [`pattern::segment_items`]).
    native: Option<Vec<pattern::SegmentItem>>,
}

/// How Werkzeug answers a variant's path for a method the rule does not accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The rule's own path (or, without strict slashes, its slash-added form): the rule
    /// joins the 405's `Allow` list.
    Own,
    /// The form Werkzeug only redirects or matches for accepted methods (`/docs` for
    /// `/docs/`): other methods get 404.
    Twin,
}

/// A variant with what decides which tables it belongs to.
struct Candidate {
    variant: Variant,
    kind: Kind,
    /// The rule's methods; `None` means any.
    methods: Option<BTreeSet<String>>,
    /// Index of the rule's domain pattern in [`Layout::domains`]; `None` means any host.
    domain: Option<usize>,
    /// The rule does not merge slashes (see [`Part::single_slashes`]).
    single_slashes: bool,
    /// Index of the route in the table (for error messages).
    route: usize,
    /// The route's methods join the 405's `Allow` list ([`Route::joins_allow`]).
    joins_allow: bool,
    /// The variant as one Unicode-mode regex (see [`crate::unicode`]), for a route with no
    /// byte-level form that fits; `variant` is then empty.
    unicode: Option<String>,
}

impl Candidate {
    fn accepts(&self, method: &str) -> bool {
        self.methods.as_ref().is_none_or(|m| m.contains(method))
    }
}

/// Where a variant can match, by the first segment of the request path.
enum Placement {
    /// Only paths with exactly one segment (no group key).
    Fallback,
    /// Only paths whose first segment is this literal.
    Group(String),
    /// Any path: the first segment is a parameter.
    Everywhere,
}

/// Builds the layout, or names the first rule that cannot be translated exactly. With
/// `methods`, one table per method (see [`Layout`]).
pub fn build(
    table: &RouteTable,
    methods: bool,
    code_checks: CodeChecks,
) -> Result<Layout, crate::Untranslatable> {
    build_with(table, methods, code_checks, DefinitionStyle::Numbered)
}

/// [`build`], with the regexes' shared definitions written in `style`.
pub fn build_with(
    table: &RouteTable,
    methods: bool,
    code_checks: CodeChecks,
    style: DefinitionStyle,
) -> Result<Layout, crate::Untranslatable> {
    build_inner(table, methods, code_checks, style, None).map_err(untranslatable)
}

/// [`build`] for a server whose PCRE has Unicode support: a route whose byte-level regex
/// does not fit in one nginx regex (Python's `\w`) becomes one Unicode-mode regex, in
/// [`Table::unicode`], using PCRE's own classes where `pcre` (asked at most once, and only
/// when a route needs it) says they are Python's.
pub fn build_unicode(
    table: &RouteTable,
    methods: bool,
    code_checks: CodeChecks,
    pcre: &dyn Fn() -> PcreUnicode,
) -> Result<Layout, crate::Untranslatable> {
    build_inner(
        table,
        methods,
        code_checks,
        DefinitionStyle::Numbered,
        Some(pcre),
    )
    .map_err(untranslatable)
}

fn untranslatable((rule, endpoint, reason): (String, String, String)) -> crate::Untranslatable {
    crate::Untranslatable {
        rule,
        endpoint,
        reason,
    }
}

fn build_inner(
    table: &RouteTable,
    methods: bool,
    code_checks: CodeChecks,
    style: DefinitionStyle,
    pcre: Option<&dyn Fn() -> PcreUnicode>,
) -> Result<Layout, (String, String, String)> {
    let Collected {
        mut layout,
        candidates,
        defs,
    } = collect(table, code_checks, style, pcre)?;
    if !methods {
        push_table(&mut layout, "path", candidates.iter().collect(), &defs);
        return Ok(layout);
    }
    layout.methods = candidates
        .iter()
        .flat_map(|c| c.methods.iter().flatten().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if layout.methods.is_empty() {
        // No rule names a method (a Django project whose views do not say): every method
        // may ask for the same paths, one table as without enforcement.
        let any_method = candidates.iter().filter(|c| c.methods.is_none()).collect();
        push_table(&mut layout, "path", any_method, &defs);
        return Ok(layout);
    }
    for (i, method) in layout.methods.clone().iter().enumerate() {
        let ok = candidates.iter().filter(|c| c.accepts(method)).collect();
        push_table(&mut layout, &format!("ok_{i}"), ok, &defs);
        let known = candidates
            .iter()
            .filter(|c| c.kind == Kind::Own && c.joins_allow && c.accepts(method))
            .collect();
        push_table(&mut layout, &format!("known_{i}"), known, &defs);
    }
    let any_method = candidates.iter().filter(|c| c.methods.is_none()).collect();
    push_table(&mut layout, "ok_other", any_method, &defs);
    Ok(layout)
}

/// What every layout starts from: each route's variants with what decides where they go,
/// plus the notes (skipped routes, warnings, extras, domain patterns) in a [`Layout`]
/// without tables.
struct Collected {
    layout: Layout,
    candidates: Vec<Candidate>,
    defs: Definitions,
}

fn collect(
    table: &RouteTable,
    code_checks: CodeChecks,
    style: DefinitionStyle,
    pcre: Option<&dyn Fn() -> PcreUnicode>,
) -> Result<Collected, (String, String, String)> {
    // Asked once, and only when a route needs it (it reads the server's PCRE).
    let mut agreed: Option<PcreUnicode> = None;
    let mut layout = Layout::default();
    let mut defs = Definitions::for_table(table);
    defs.style = style;
    let mut candidates = Vec::new();
    let mut domain_index: BTreeMap<String, usize> = BTreeMap::new();

    for (route_index, route) in table.routes.iter().enumerate() {
        if let Some(reason) = dead_reason(table, route) {
            layout.skipped.push(format!(
                "{} ({}): {reason}",
                route.rule.escape_debug(),
                route.endpoint.escape_debug()
            ));
            continue;
        }
        let domain = match domain_pattern(table, route, &mut defs) {
            Ok(domain) => domain,
            Err(DomainProblem::Dead(reason)) => {
                layout.skipped.push(format!(
                    "{} ({}): {reason}",
                    route.rule.escape_debug(),
                    route.endpoint.escape_debug()
                ));
                continue;
            }
            Err(DomainProblem::Untranslatable(reason)) => {
                return Err((route.rule.clone(), route.endpoint.clone(), reason));
            }
        };
        let domain = domain.map(|regex| {
            let next = domain_index.len();
            *domain_index.entry(regex).or_insert(next)
        });
        let host_specific = table.host_matching
            || (table.subdomain_matching && route.subdomain.is_some())
            || route.host.is_some();
        if host_specific && route.domain.is_none() {
            layout.warnings.push(format!(
                "rule `{}` only matches some hosts; it is allowed on every host the include serves",
                route.rule.escape_debug()
            ));
        }
        let checked: Vec<_> = route
            .segments
            .iter()
            .chain(route.domain.iter().flatten())
            .filter_map(|s| match s {
                Segment::Param(p) if p.converter.validates => Some(p),
                _ => None,
            })
            .collect();
        if !checked.is_empty() && code_checks == CodeChecks::Deny {
            layout.skipped.push(format!(
                "{} ({}): a converter checks values in code (--converter-checks deny)",
                route.rule.escape_debug(),
                route.endpoint.escape_debug()
            ));
            continue;
        }
        for param in checked {
            // Werkzeug's to_python may refuse values the regex admits (`int(max=10)`,
            // custom code), but only after the method check: for another method the app
            // still answers (405), so at path level the regex is the exact boundary. With
            // method enforcement the accepted methods of such values pass nginx and get
            // the app's 404.
            layout.warnings.push(format!(
                "rule `{}`: converter `{}` of `{}` checks values in code; values its regex matches pass nginx and may be refused by the app",
                route.rule.escape_debug(),
                param.converter.name,
                param.name
            ));
        }
        if let Some(origin) = &route.origin {
            layout
                .extras
                .push(format!("{} (from {origin})", route.rule.escape_debug()));
        }
        let unsupported = |reason: String| (route.rule.clone(), route.endpoint.clone(), reason);
        let variants =
            variants(route, &mut defs).map_err(|Untranslatable(reason)| unsupported(reason))?;
        let longest = variants
            .iter()
            .map(|(v, _)| finish(std::slice::from_ref(v), &defs).len())
            .max();
        let mut unicode_regexes = None;
        if let Some(len) = longest.filter(|&len| len > MAX_REGEX_BYTES) {
            let too_long = format!(
                "its pattern needs {len} bytes, over the {MAX_REGEX_BYTES} nginx allows in one regex"
            );
            let Some(ask) = pcre else {
                return Err(unsupported(too_long));
            };
            let pcre = *agreed.get_or_insert_with(ask);
            // Python's big classes (`\w`) as PCRE's own, in Unicode mode (see `unicode`).
            let regexes = unicode_variants(route, &defs, pcre).map_err(|Untranslatable(why)| {
                unsupported(format!("{too_long}, and in Unicode mode: {why}"))
            })?;
            if let Some(long) = regexes.iter().find(|(r, _)| r.len() > MAX_REGEX_BYTES) {
                return Err(unsupported(format!(
                    "{too_long}, and {} in Unicode mode",
                    long.0.len()
                )));
            }
            unicode_regexes = Some(regexes);
        }
        let route_methods = route.methods.as_ref().map(|m| {
            m.iter()
                .map(|s| s.to_ascii_uppercase())
                .collect::<BTreeSet<_>>()
        });
        if let Some(odd) = route_methods.iter().flatten().find(|m| {
            m.is_empty()
                || !m
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        }) {
            // Method names end up in map keys and in the Allow header's value.
            return Err(unsupported(format!(
                "method `{}` is not a plain token",
                odd.escape_debug()
            )));
        }
        let variants: Vec<(Variant, Kind, Option<String>)> = match unicode_regexes {
            Some(regexes) => regexes
                .into_iter()
                .map(|(regex, kind)| (Variant { tokens: Vec::new() }, kind, Some(regex)))
                .collect(),
            None => variants.into_iter().map(|(v, k)| (v, k, None)).collect(),
        };
        for (variant, kind, unicode) in variants {
            candidates.push(Candidate {
                variant,
                kind,
                methods: route_methods.clone(),
                domain,
                single_slashes: !route.merge_slashes && route.origin.is_none(),
                route: route_index,
                joins_allow: route.joins_allow,
                unicode,
            });
        }
    }

    let mut domains: Vec<(usize, String)> = domain_index.into_iter().map(|(r, i)| (i, r)).collect();
    domains.sort();
    layout.domains = domains.into_iter().map(|(_, regex)| regex).collect();
    Ok(Collected {
        layout,
        candidates,
        defs,
    })
}

/// Adds the table `name` of `members`: one table when none of them needs more than its
/// path, else one per set of conditions (host pattern, single slashes) and a [`Join`].
fn push_table(layout: &mut Layout, name: &str, members: Vec<&Candidate>, defs: &Definitions) {
    let classes: BTreeSet<(Option<usize>, bool)> = members
        .iter()
        .map(|c| (c.domain, c.single_slashes))
        .collect();
    if classes.iter().all(|&class| class == (None, false)) {
        layout
            .tables
            .push(table_of(name, members.into_iter(), defs));
        return;
    }
    let mut join = Join {
        name: name.to_owned(),
        parts: Vec::new(),
    };
    for (domain, single_slashes) in classes {
        let mut table = match domain {
            None => format!("{name}_dany"),
            Some(j) => format!("{name}_d{j}"),
        };
        if single_slashes {
            table.push_str("_ss");
        }
        let own = members
            .iter()
            .copied()
            .filter(|c| (c.domain, c.single_slashes) == (domain, single_slashes));
        layout.tables.push(table_of(&table, own, defs));
        join.parts.push(Part {
            domain,
            single_slashes,
            table,
        });
    }
    layout.joins.push(join);
}

/// Why a route's domain pattern cannot become a check.
enum DomainProblem {
    /// No request's domain can match it: the route is left out.
    Dead(String),
    /// A converter regex in it has no exact PCRE translation.
    Untranslatable(String),
}

/// The anchored regex (finished, with its definitions) the request's domain must match for
/// `route`, or `None` when the route matches on any host.
fn domain_pattern(
    table: &RouteTable,
    route: &Route,
    defs: &mut Definitions,
) -> Result<Option<String>, DomainProblem> {
    let Some(segments) = &route.domain else {
        return Ok(None);
    };
    let literal: Option<String> = segments
        .iter()
        .map(|s| match s {
            Segment::Static { text } => Some(text.as_str()),
            Segment::Param(_) => None,
        })
        .collect::<Option<Vec<_>>>()
        .map(|parts| parts.concat());
    match (&table.domain, &literal) {
        (DomainBinding::Any, _) => return Ok(None),
        (DomainBinding::Fixed { value }, Some(text)) if text == value => return Ok(None),
        (DomainBinding::Fixed { value }, Some(text)) => {
            return Err(DomainProblem::Dead(format!(
                "its domain `{}` is never `{}`, the one the app matches every request with",
                text.escape_debug(),
                value.escape_debug()
            )));
        }
        (DomainBinding::Host | DomainBinding::Subdomain { .. }, Some(text))
            if text.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            return Err(DomainProblem::Dead(format!(
                "its domain `{}` has capitals, and the app matches the host in lower case",
                text.escape_debug()
            )));
        }
        _ => {}
    }
    // Werkzeug (3.1.7 on) treats a host with anything but letters, digits, `.` and `-` as
    // no host at all, so a host domain must be made of those (nginx's `$host` is already
    // lower case); this also keeps out non-ASCII hosts, which the app would read as
    // latin-1 where these patterns read UTF-8. A fixed domain only needs to be ASCII. The
    // `@` is the template's: nginx never runs a map's regexes on an empty value, and the
    // domain may be empty.
    let mut body = String::from(match table.domain {
        DomainBinding::Host => "^@(?=[a-z0-9.\\-]*+\\z)",
        _ => "^@(?=[\\x00-\\x7f]*+\\z)",
    });
    for segment in segments {
        match segment {
            Segment::Static { text } => body.push_str(&pattern::literal(text)),
            Segment::Param(param) => {
                let conv = &param.converter;
                let fragment = pattern::converter(&conv.regex, conv.part_isolating, defs).map_err(
                    |Untranslatable(e)| {
                        DomainProblem::Untranslatable(format!(
                            "domain parameter `{}`: {e}",
                            param.name
                        ))
                    },
                )?;
                body.push_str(&fragment.0);
            }
        }
    }
    body.push_str("\\z");
    Ok(Some(defs.finish(&body)))
}

/// Splits candidates into the hash of exact paths and the regex groups.
fn table_of<'a>(
    name: &str,
    candidates: impl Iterator<Item = &'a Candidate>,
    defs: &Definitions,
) -> Table {
    let mut table = Table {
        name: name.to_owned(),
        ..Table::default()
    };
    let mut lowered_statics: BTreeSet<String> = BTreeSet::new();
    let mut everywhere = Vec::new();
    let mut fallback = Vec::new();
    let mut groups: BTreeMap<String, Vec<Variant>> = BTreeMap::new();
    for candidate in candidates {
        if let Some(regex) = &candidate.unicode {
            if !table.unicode.contains(regex) {
                table.unicode.push(regex.clone());
            }
            continue;
        }
        let variant = &candidate.variant;
        if let Some(path) = variant.static_path() {
            // The hash folds ASCII case; a second path that differs only in case cannot
            // be a key too, so it is matched by regex instead.
            if hashable(&path) && lowered_statics.insert(path.to_ascii_lowercase()) {
                table.statics.insert(path);
                continue;
            }
            if table.statics.contains(&path) {
                continue;
            }
        }
        match variant.placement(true) {
            Placement::Fallback => fallback.push(variant.clone()),
            Placement::Group(key) => groups.entry(key).or_default().push(variant.clone()),
            Placement::Everywhere => everywhere.push(variant.clone()),
        }
    }
    for (key, members) in groups {
        table
            .groups
            .insert(key, group_of(members, 1, defs, true, None));
    }
    table.fallback = regexes(fallback, defs);
    table.everywhere = regexes(everywhere, defs);
    table
}

/// Splits a big group by its routes' literal segment number `depth` (0-based), and its big
/// children further down. With a `budget`, a child's key plus its `/` must fit in it (the
/// bytes a location name has left), else its routes stay with the group.
fn group_of(
    members: Vec<Variant>,
    depth: usize,
    defs: &Definitions,
    fold: bool,
    budget: Option<usize>,
) -> Group {
    if members.len() <= SPLIT_ABOVE {
        return Group {
            children: BTreeMap::new(),
            rest: regexes(members, defs),
        };
    }
    let mut children: BTreeMap<String, Vec<Variant>> = BTreeMap::new();
    let mut rest = Vec::new();
    for variant in members {
        let key = variant
            .segment_key(depth, fold)
            .filter(|key| budget.is_none_or(|b| key.len() < b));
        match key {
            Some(key) => children.entry(key).or_default().push(variant),
            None => rest.push(variant),
        }
    }
    Group {
        children: children
            .into_iter()
            .map(|(k, v)| {
                let left = budget.map(|b| b - k.len() - 1);
                (k, group_of(v, depth + 1, defs, fold, left))
            })
            .collect(),
        rest: regexes(rest, defs),
    }
}

/// Rules the app can never match, so allowing them would only widen the allowlist.
/// (Only for tables that do not say how the framework binds hosts: otherwise the domain
/// checks decide, and know about a `default_subdomain`.)
fn dead_reason(table: &RouteTable, route: &Route) -> Option<&'static str> {
    let has_subdomain = route.subdomain.as_deref().is_some_and(|s| !s.is_empty());
    let unbound = table.domain == DomainBinding::Any;
    if unbound && has_subdomain && !table.subdomain_matching && !table.host_matching {
        return Some("subdomain rule in an app without subdomain matching never matches");
    }
    None
}

/// Static text that can be a `map` key and value as it is: no `$` (values expand
/// variables) and no control characters (kept out of the config file).
fn hashable(path: &str) -> bool {
    !path.bytes().any(|b| b == b'$' || b < 0x20 || b == 0x7f) && path.len() < 1024
}

fn fold_if(key: &str, fold: bool) -> String {
    if fold {
        key.to_ascii_lowercase()
    } else {
        key.to_owned()
    }
}

impl Variant {
    /// The literal text of segment `depth` (0-based), ASCII-lowercased when `fold`, when
    /// the variant has a segment after it (so that a matching URI has a `/` after it for
    /// nginx to cut at) and none of the segments up to it crosses a `/`.
    fn segment_key(&self, depth: usize, fold: bool) -> Option<String> {
        if self.tokens.len() <= depth + 1 || self.tokens[..=depth].iter().any(|t| t.crosses) {
            return None;
        }
        let key = self.tokens[depth]
            .literal
            .as_deref()?
            .trim_start_matches('/');
        (!key.is_empty() && hashable(key)).then(|| fold_if(key, fold))
    }

    /// The shared definitions the variant's regex text calls, its rests' included.
    fn definitions(&self) -> BTreeSet<usize> {
        self.tokens
            .iter()
            .flat_map(Token::atoms)
            .flat_map(|atom| match atom {
                Atom::Regex(text) => Definitions::used_by(&Fragment(text)).collect(),
                Atom::Char(_) => Vec::new(),
            })
            .collect()
    }

    fn static_path(&self) -> Option<String> {
        self.tokens
            .iter()
            .map(|t| t.literal.as_deref())
            .collect::<Option<Vec<_>>>()
            .map(|parts| parts.concat())
    }

    /// Where the variant can match; group keys ASCII-lowercased when `fold`.
    fn placement(&self, fold: bool) -> Placement {
        match self.tokens.as_slice() {
            [first, _second, ..] => match &first.literal {
                Some(text) => {
                    let key = text.trim_start_matches('/');
                    if key.is_empty() || !hashable(key) {
                        Placement::Fallback
                    } else {
                        Placement::Group(fold_if(key, fold))
                    }
                }
                None => Placement::Everywhere,
            },
            // One token: either one segment, or a slash-crossing parameter from the start.
            [only] if only.crosses => Placement::Everywhere,
            _ => Placement::Fallback,
        }
    }
}

/// The paths `route` accepts: the rule itself, plus the trailing-slash twin Werkzeug
/// answers (a redirect under strict slashes, a match without them).
fn variants(route: &Route, defs: &mut Definitions) -> Result<Vec<(Variant, Kind)>, Untranslatable> {
    let tokens = tokens(route, defs)?;
    if route.origin.is_some() || route.exact {
        // Added by the operator, or exact by its source: no framework slash rules.
        return Ok(vec![(Variant { tokens }, Kind::Own)]);
    }
    let text_ends_with_slash =
        matches!(route.segments.last(), Some(Segment::Static { text }) if text.ends_with('/'));
    let mut out = vec![(
        Variant {
            tokens: tokens.clone(),
        },
        Kind::Own,
    )];
    if text_ends_with_slash {
        // `/docs/` also answers `/docs` (308 when strict, a match otherwise), but only for
        // the rule's methods: any other method gets 404, not 405.
        if let Some(shorter) = without_trailing_slash(&tokens) {
            out.push((Variant { tokens: shorter }, Kind::Twin));
        }
    } else if !route.strict_slashes {
        let mut longer = tokens;
        longer.push(Token::slash());
        // `/loose` with strict_slashes=False matches `/loose/` as its own path.
        out.push((Variant { tokens: longer }, Kind::Own));
    }
    Ok(out)
}

/// [`variants`] as Unicode-mode regexes: the same paths (the rule, and its slash twin)
/// spelled with segments instead of tokens.
fn unicode_variants(
    route: &Route,
    defs: &Definitions,
    pcre: PcreUnicode,
) -> Result<Vec<(String, Kind)>, Untranslatable> {
    let own = unicode::route_regex(&route.segments, defs, pcre)?;
    if route.origin.is_some() || route.exact {
        return Ok(vec![(own, Kind::Own)]);
    }
    let mut out = vec![(own, Kind::Own)];
    let mut segments = route.segments.clone();
    match segments.last_mut() {
        Some(Segment::Static { text }) if text.ends_with('/') => {
            text.pop();
            if text.is_empty() {
                segments.pop();
            }
            if !segments.is_empty() {
                out.push((unicode::route_regex(&segments, defs, pcre)?, Kind::Twin));
            }
        }
        _ if !route.strict_slashes => {
            segments.push(Segment::text("/"));
            out.push((unicode::route_regex(&segments, defs, pcre)?, Kind::Own));
        }
        _ => {}
    }
    Ok(out)
}

fn without_trailing_slash(tokens: &[Token]) -> Option<Vec<Token>> {
    let mut shorter = tokens.to_vec();
    let last = shorter.last_mut()?;
    if last.literal.as_deref() == Some("/") {
        shorter.pop();
    } else if let Some(tail) = last.tail.as_mut() {
        // A slash-crossing token in linear form: its rest ends in the rule's final `/`.
        if tail.pop() != Some(Atom::Char('/')) {
            return None;
        }
    } else {
        // A slash-crossing token that ends in the rule's final `/`.
        let text = last.regex.0.strip_suffix('/')?.to_owned();
        last.regex = Fragment(text);
        last.literal = last
            .literal
            .as_ref()
            .and_then(|l| l.strip_suffix('/').map(str::to_owned));
    }
    if shorter.is_empty() || shorter.iter().all(|t| t.literal.as_deref() == Some("")) {
        return None;
    }
    Some(shorter)
}

/// Splits a route into segment tokens, translating each parameter.
fn tokens(route: &Route, defs: &mut Definitions) -> Result<Vec<Token>, Untranslatable> {
    let mut out: Vec<Token> = Vec::new();
    let mut current: Option<Vec<Piece>> = None;
    let crossing = |parts: &Option<Vec<Piece>>| {
        parts
            .iter()
            .flatten()
            .any(|p| matches!(p, Piece::Param { crosses: true, .. }))
    };
    for segment in &route.segments {
        match segment {
            Segment::Static { text } => {
                for (i, piece) in text.split('/').enumerate() {
                    if i > 0 && !crossing(&current) {
                        if let Some(done) = current.take() {
                            out.push(Token::of(done, defs));
                        }
                        current = Some(vec![Piece::Text("/".to_owned())]);
                    } else if i > 0 {
                        current
                            .get_or_insert_with(Vec::new)
                            .push(Piece::Text("/".to_owned()));
                    }
                    if !piece.is_empty() {
                        current
                            .get_or_insert_with(Vec::new)
                            .push(Piece::Text(piece.to_owned()));
                    }
                }
            }
            Segment::Param(param) => {
                let conv = &param.converter;
                let fragment = pattern::converter(&conv.regex, conv.part_isolating, defs).map_err(
                    |Untranslatable(e)| Untranslatable(format!("parameter `{}`: {e}", param.name)),
                )?;
                current.get_or_insert_with(Vec::new).push(Piece::Param {
                    fragment,
                    regex: conv.regex.clone(),
                    crosses: !conv.part_isolating,
                });
            }
        }
    }
    if let Some(done) = current {
        out.push(Token::of(done, defs));
    }
    if out
        .first()
        .is_some_and(|t| t.literal.as_deref().is_some_and(|l| !l.starts_with('/')))
    {
        return Err(Untranslatable(
            "the rule does not start with `/`".to_owned(),
        ));
    }
    Ok(out)
}

impl Token {
    /// A token from its parts (the first one a segment's leading `/`).
    fn of(parts: Vec<Piece>, defs: &mut Definitions) -> Token {
        let literal = linear::literal(&parts);
        let crosses = parts
            .iter()
            .any(|p| matches!(p, Piece::Param { crosses: true, .. }));
        if let Some(text) = literal {
            return Token {
                regex: Fragment(pattern::literal(&text)),
                tail: None,
                native: Some(
                    text.strip_prefix('/')
                        .filter(|t| !t.is_empty())
                        .map(|t| vec![pattern::SegmentItem::Text(t.to_owned())])
                        .unwrap_or_default(),
                ),
                literal: Some(text),
                crosses: false,
            };
        }
        if crosses {
            let (regex, tail) = match linear::crossing(&parts) {
                Some((head, tail)) => (head, Some(tail)),
                None => (linear::plain(&parts), None),
            };
            return Token {
                regex: Fragment(regex),
                tail,
                literal: None,
                crosses: true,
                native: None,
            };
        }
        let mut native = Some(Vec::new());
        for (i, part) in parts.iter().enumerate() {
            native = match (native, part) {
                (Some(mut items), Piece::Text(text)) => {
                    let text = if i == 0 {
                        text.strip_prefix('/').unwrap_or(text)
                    } else {
                        text
                    };
                    if !text.is_empty() {
                        items.push(pattern::SegmentItem::Text(text.to_owned()));
                    }
                    Some(items)
                }
                (Some(mut items), Piece::Param { regex, .. }) => {
                    defs.segment_items(regex).map(|more| {
                        items.extend(more);
                        items
                    })
                }
                (None, _) => None,
            };
        }
        Token {
            regex: Fragment(linear::segment(&parts, defs)),
            tail: None,
            literal: None,
            crosses: false,
            native,
        }
    }

    /// A new segment's leading `/`.
    fn slash() -> Self {
        Token {
            regex: Fragment("/".to_owned()),
            tail: None,
            literal: Some("/".to_owned()),
            crosses: false,
            native: Some(Vec::new()),
        }
    }

    /// The token as the atoms of a factored regex: one piece of regex text, then (for a
    /// slash-crossing token in linear form) its rest character by character.
    fn atoms(&self) -> impl Iterator<Item = Atom> + '_ {
        std::iter::once(Atom::Regex(self.regex.0.clone()))
            .chain(self.tail.iter().flatten().cloned())
    }
}

/// Factors variants into anchored regexes of at most [`MAX_REGEX_BYTES`] each (each
/// variant alone fits: [`build`] checked).
fn regexes(mut variants: Vec<Variant>, defs: &Definitions) -> Vec<String> {
    variants.sort();
    variants.dedup();
    let mut out = Vec::new();
    let mut chunk: Vec<Variant> = Vec::new();
    let mut size = 0;
    let mut used: BTreeSet<usize> = BTreeSet::new();
    // Sorted variants that share a token print it once (the trie factors it out), so a
    // token's text is counted once per chunk: routes behind the same `path` parameters
    // share a long head, and counting it per route would cut them into many regexes, each
    // one more pass over the path. The estimate can fall short where a text recurs at
    // another place; `push_finished` checks the real size.
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for variant in &variants {
        let body: usize = variant
            .tokens
            .iter()
            .map(|t| {
                let own = if seen.contains(t.regex.0.as_str()) {
                    0
                } else {
                    t.regex.0.len() + 4
                };
                own + t
                    .tail
                    .iter()
                    .flatten()
                    .map(|a| a.print().len())
                    .sum::<usize>()
            })
            .sum();
        let needs = variant.definitions();
        let new_defs: usize = needs
            .iter()
            .filter(|id| !used.contains(id))
            .map(|&id| defs.cost(id))
            .sum();
        if !chunk.is_empty() && size + body + new_defs + 32 > MAX_REGEX_BYTES {
            push_finished(&chunk, defs, &mut out);
            chunk.clear();
            used.clear();
            seen.clear();
            size = 0;
        }
        size += body
            + needs
                .into_iter()
                .filter(|&id| used.insert(id))
                .map(|id| defs.cost(id))
                .sum::<usize>();
        seen.extend(variant.tokens.iter().map(|t| t.regex.0.as_str()));
        chunk.push(variant.clone());
    }
    if !chunk.is_empty() {
        push_finished(&chunk, defs, &mut out);
    }
    out
}

/// Adds `chunk` as one regex, or as several when it comes out over [`MAX_REGEX_BYTES`].
fn push_finished(chunk: &[Variant], defs: &Definitions, out: &mut Vec<String>) {
    let regex = finish(chunk, defs);
    if regex.len() > MAX_REGEX_BYTES && chunk.len() > 1 {
        let (first, second) = chunk.split_at(chunk.len() / 2);
        push_finished(first, defs, out);
        push_finished(second, defs, out);
    } else {
        out.push(regex);
    }
}

/// Prints variants as one trie-shaped regex: `^/a(?:/b\z|/\d+\z)`.
fn finish(variants: &[Variant], defs: &Definitions) -> String {
    let mut paths: Vec<Vec<Atom>> = variants
        .iter()
        .map(|v| v.tokens.iter().flat_map(Token::atoms).collect())
        .collect();
    paths.sort();
    paths.dedup();
    let paths: Vec<&[Atom]> = paths.iter().map(Vec::as_slice).collect();
    let mut body = String::from("^");
    trie(&paths, &mut body);
    defs.finish(&body)
}

/// Factors sorted atom paths by their common prefixes; an empty path ends at `\z`.
fn trie(paths: &[&[Atom]], out: &mut String) {
    let mut alternatives: Vec<String> = Vec::new();
    let mut i = 0;
    while i < paths.len() {
        let Some(head) = paths[i].first() else {
            alternatives.push("\\z".to_owned());
            i += 1;
            continue;
        };
        let mut j = i + 1;
        while j < paths.len() && paths[j].first() == Some(head) {
            j += 1;
        }
        let tails: Vec<&[Atom]> = paths[i..j].iter().map(|p| &p[1..]).collect();
        let mut alt = head.print();
        trie(&tails, &mut alt);
        alternatives.push(alt);
        i = j;
    }
    alternatives.dedup();
    if alternatives.len() == 1 {
        out.push_str(&alternatives[0]);
    } else {
        out.push_str("(?:");
        out.push_str(&alternatives.join("|"));
        out.push(')');
    }
}

#[cfg(test)]
mod tests {
    use routewall_core::{Converter, Param};

    use super::*;

    /// A route from Werkzeug-style text with `<int:x>`, `<path:x>` and `<x>` parameters.
    fn route(text: &str) -> Route {
        let mut segments = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find('<') {
            if start > 0 {
                segments.push(Segment::text(&rest[..start]));
            }
            let end = rest[start..].find('>').expect("closed") + start;
            let (conv, name) = rest[start + 1..end]
                .split_once(':')
                .unwrap_or(("default", &rest[start + 1..end]));
            let converter = match conv {
                "int" => Converter::new("int", r"\d+"),
                "path" => Converter::new("path", "[^/].*?").part_isolating(false),
                _ => Converter::new("default", "[^/]{1,}"),
            };
            segments.push(Segment::Param(Param::new(name, converter)));
            rest = &rest[end + 1..];
        }
        if !rest.is_empty() {
            segments.push(Segment::text(rest));
        }
        Route::new("e", text, segments)
    }

    fn layout(routes: Vec<Route>) -> Layout {
        let mut table = RouteTable::new("test", "app");
        table.routes = routes;
        build(&table, false, CodeChecks::Allow).expect("builds")
    }

    #[test]
    fn strict_slashes_follow_werkzeug() {
        let mut loose = route("/loose");
        loose.strict_slashes = false;
        let l = layout(vec![route("/docs/"), route("/about"), loose]);
        let statics: Vec<&str> = l.tables[0].statics.iter().map(String::as_str).collect();
        assert_eq!(statics, ["/about", "/docs", "/docs/", "/loose", "/loose/"]);
    }

    #[test]
    fn paths_differing_only_in_case_cannot_share_the_hash() {
        let l = layout(vec![route("/About"), route("/about")]);
        assert_eq!(l.tables[0].statics.len(), 1);
        assert_eq!(l.tables[0].fallback.len(), 1, "{:?}", l.tables[0].fallback);
    }

    #[test]
    fn static_text_with_a_dollar_is_matched_by_regex() {
        let l = layout(vec![route("/price$")]);
        assert!(l.tables[0].statics.is_empty());
        assert_eq!(l.tables[0].fallback, [r"^/price\$\z"]);
    }

    #[test]
    fn dynamic_routes_are_grouped_by_first_segment() {
        let l = layout(vec![
            route("/users/<int:id>"),
            route("/users/<int:id>/posts"),
            route("/Shop/<x>"),
        ]);
        assert_eq!(
            l.tables[0].groups.keys().collect::<Vec<_>>(),
            ["shop", "users"]
        );
        let users = &l.tables[0].groups["users"].rest;
        assert_eq!(users.len(), 1);
        assert!(
            users[0].starts_with("^(?(DEFINE)"),
            "Unicode digits are defined once: {users:?}"
        );
        assert!(
            users[0].ends_with(
                r"/users/(?:[\x30-\x39]|(?=[\xd9\xdb\xdf-\xe1\xea\xef-\xf0])(?1))++(?:\z|/posts\z)"
            ),
            "{users:?}"
        );
        assert!(
            l.tables[0].groups["shop"].rest[0].starts_with("^/Shop/"),
            "the regex keeps the case: {:?}",
            l.tables[0].groups["shop"]
        );
    }

    #[test]
    fn parameter_first_routes_are_tried_after_any_group() {
        let l = layout(vec![
            route("/users/<int:id>"),
            route("/<org>/settings"),
            route("/<word>"),
        ]);
        let t = &l.tables[0];
        assert!(
            t.groups["users"]
                .rest
                .iter()
                .all(|r| !r.contains("settings")),
            "{:?}",
            t.groups
        );
        assert!(
            t.everywhere.iter().any(|r| r.contains("settings")),
            "{:?}",
            t.everywhere
        );
        assert!(
            t.fallback
                .iter()
                .all(|r| !r.contains("users") && !r.contains("settings"))
        );
        assert!(
            t.fallback.iter().any(|r| r.contains("[^\\x2f]++\\z")),
            "{:?}",
            t.fallback
        );
    }

    #[test]
    fn a_leading_path_parameter_can_match_anything() {
        let l = layout(vec![route("/api/<int:n>"), route("/<path:p>/tail")]);
        assert!(
            l.tables[0].everywhere[0].contains("tail"),
            "{:?}",
            l.tables[0]
        );
        assert!(
            l.tables[0].groups["api"]
                .rest
                .iter()
                .all(|r| !r.contains("tail"))
        );
    }

    #[test]
    fn big_groups_are_split_by_second_segment_and_below_the_token_limit() {
        let mut routes: Vec<Route> = (0..400)
            .map(|i| route(&format!("/api/v{}/<int:n>/resource-number-{i}", i % 3)))
            .collect();
        routes.push(route("/api/<x>/any"));
        let l = layout(routes);
        let api = &l.tables[0].groups["api"];
        assert_eq!(api.children.keys().collect::<Vec<_>>(), ["v0", "v1", "v2"]);
        assert!(
            api.rest.len() == 1 && api.rest[0].contains("any"),
            "{:?}",
            api.rest
        );
        // v0's routes differ only after a parameter: no deeper split.
        let v0 = &api.children["v0"].rest;
        assert!(v0.len() > 1, "one regex of {} bytes", v0[0].len());
        assert!(
            v0.iter()
                .all(|r| r.len() <= MAX_REGEX_BYTES && r.starts_with('^'))
        );
        let joined: String = api
            .children
            .values()
            .flat_map(|g| g.rest.clone())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            (0..400).all(|i| joined.contains(&format!("resource\\-number\\-{i}\\z"))
                || joined.contains(&format!("resource-number-{i}\\z")))
        );
    }

    #[test]
    fn a_route_too_long_for_one_regex_is_refused_by_name() {
        let mut table = RouteTable::new("test", "app");
        table.routes = vec![route(&format!("/{}/<int:n>", "a".repeat(4100)))];
        let crate::Untranslatable { rule, reason, .. } =
            build(&table, false, CodeChecks::Allow).expect_err("too long");
        assert!(
            rule.starts_with("/aaaa") && reason.contains("over the 4000"),
            "{reason}"
        );
    }

    #[test]
    fn methods_get_a_table_each_and_twins_stay_out_of_the_allow_list() {
        let mut only_post = route("/only-post/");
        only_post.methods = Some(vec!["POST".to_owned(), "OPTIONS".to_owned()]);
        let mut get = route("/page");
        get.methods = Some(vec!["GET".to_owned(), "HEAD".to_owned()]);
        let mut table = RouteTable::new("test", "app");
        table.routes = vec![only_post, get, route("/any")];
        let l = build(&table, true, CodeChecks::Allow).expect("builds");
        assert_eq!(l.methods, ["GET", "HEAD", "OPTIONS", "POST"]);
        let by_name = |name: &str| {
            &l.tables
                .iter()
                .find(|t| t.name == name)
                .expect(name)
                .statics
        };
        // POST may ask for `/only-post/`, and for `/only-post` (the app redirects).
        assert!(by_name("ok_3").contains("/only-post") && by_name("ok_3").contains("/only-post/"));
        // GET /only-post is a 404 in Werkzeug, not a 405: the twin is not "known".
        assert!(
            !by_name("known_3").contains("/only-post")
                && by_name("known_3").contains("/only-post/")
        );
        assert!(by_name("ok_0").contains("/page") && !by_name("ok_0").contains("/only-post/"));
        // A rule without methods answers every method, including ones no rule names.
        assert_eq!(by_name("ok_other").iter().collect::<Vec<_>>(), ["/any"]);
    }

    #[test]
    fn a_route_that_joins_no_allow_list_still_lets_its_methods_through() {
        // Starlette: GET and PUT of one path are two routes; the first answers the 405.
        let mut get = route("/users/1");
        get.methods = Some(vec!["GET".to_owned()]);
        let mut put = route("/users/1");
        put.methods = Some(vec!["PUT".to_owned()]);
        put.joins_allow = false;
        let mut table = RouteTable::new("test", "app");
        table.routes = vec![get, put];
        let l = build(&table, true, CodeChecks::Allow).expect("builds");
        assert_eq!(l.methods, ["GET", "PUT"]);
        let by_name = |name: &str| {
            &l.tables
                .iter()
                .find(|t| t.name == name)
                .expect(name)
                .statics
        };
        assert!(by_name("ok_1").contains("/users/1"), "PUT passes");
        assert!(
            by_name("known_0").contains("/users/1"),
            "GET is in the Allow list"
        );
        assert!(!by_name("known_1").contains("/users/1"), "PUT is not");
    }

    #[test]
    fn methods_named_by_no_rule_leave_one_table() {
        let mut table = RouteTable::new("django", "mysite.settings");
        table.routes = vec![route("/any"), route("/other/")];
        let l = build(&table, true, CodeChecks::Allow).expect("builds");
        assert!(l.methods.is_empty());
        let names: Vec<&str> = l.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["path"]);
        assert!(l.tables[0].statics.contains("/any") && l.tables[0].statics.contains("/other"));
    }

    #[test]
    fn domains_become_host_checks_and_impossible_ones_are_left_out() {
        let on = |domain: Vec<Segment>, path: &str| {
            let mut r = route(path);
            r.domain = Some(domain);
            r
        };
        let mut table = RouteTable::new("flask", "app")
            .with_route(on(vec![], "/"))
            .with_route(on(vec![Segment::text("api")], "/v1"))
            .with_route(on(vec![Segment::text("API")], "/shouting"));
        table.domain = DomainBinding::Subdomain {
            server_name: "example.test".to_owned(),
            otherwise: "<invalid>".to_owned(),
        };
        let layout = build(&table, false, CodeChecks::Allow).expect("builds");
        assert_eq!(layout.domains.len(), 2, "{:?}", layout.domains);
        assert!(
            layout.domains[1].ends_with("api\\z"),
            "{:?}",
            layout.domains
        );
        assert_eq!(layout.joins.len(), 1);
        assert_eq!(layout.joins[0].parts.len(), 2);
        assert!(layout.joins[0].parts.iter().all(|p| !p.single_slashes));
        assert!(
            layout.skipped[0].contains("capitals"),
            "{:?}",
            layout.skipped
        );

        // Every request gets subdomain "": `api` rules are dead, "" rules need no check.
        table.domain = DomainBinding::Fixed {
            value: String::new(),
        };
        let layout = build(&table, false, CodeChecks::Allow).expect("builds");
        assert!(layout.domains.is_empty() && layout.joins.is_empty());
        assert_eq!(layout.skipped.len(), 2, "{:?}", layout.skipped);
        assert_eq!(layout.tables[0].statics.len(), 1);
    }

    #[test]
    fn a_default_subdomain_keeps_its_routes() {
        // Flask without subdomain matching binds every request to `url_map.default_subdomain`.
        let mut hello = route("/hello");
        hello.subdomain = Some("www".to_owned());
        hello.domain = Some(vec![Segment::text("www")]);
        let mut table = RouteTable::new("flask", "app").with_route(hello);
        table.domain = DomainBinding::Fixed {
            value: "www".to_owned(),
        };
        let layout = build(&table, false, CodeChecks::Allow).expect("builds");
        assert!(layout.skipped.is_empty(), "{:?}", layout.skipped);
        assert!(layout.tables[0].statics.contains("/hello"));
    }

    #[test]
    fn dead_subdomain_rules_are_skipped() {
        let mut api = route("/status");
        api.subdomain = Some("api".to_owned());
        let l = layout(vec![api]);
        assert!(
            l.tables[0].statics.is_empty() && l.skipped.len() == 1,
            "{l:?}"
        );
    }
}
