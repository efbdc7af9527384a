//! The allowlist as a tree of server locations, for servers that pick a location by prefix
//! and then try regexes (nginx): every exact path is a location of its own, every group of
//! dynamic routes a prefix location holding its regexes.
//!
//! Why (measured in `shared/nginx-bench.md` and `bench/`): nginx looks every request's
//! location up in its prefix tree anyway, so exact paths cost nothing extra there, and a
//! dynamic path meets only the regexes of its own prefix. The map layout ([`super::build`])
//! answers the same question with variables evaluated inside the user's location: five to
//! ten hash lookups and two to four regex runs per request, which at 10,000 routes costs a
//! quarter of nginx's cheapest request.
//!
//! Unlike the map layout, the tree's keys are case-sensitive, as nginx's locations are.

use std::collections::{BTreeMap, BTreeSet};

use routewall_core::{CodeChecks, RouteTable};

use super::{Collected, Placement, Variant, collect, group_of, hashable, regexes};
use crate::Untranslatable;
use crate::pattern::{self, DefinitionStyle, Definitions, SegmentItem};

/// The longest location name nginx's location tree holds: a node keeps its name's length
/// in one byte, and a longer exact or prefix name is silently never matched (nor are the
/// names that share a node with it; nginx 1.22, probed).
pub const MAX_LOCATION_BYTES: usize = 255;

/// Text that can be a location name as it is.
fn location_name(path: &str) -> bool {
    hashable(path) && path.len() <= MAX_LOCATION_BYTES
}

/// The allowlist as locations: exact paths, prefix groups, and regexes for the rest.
#[derive(Debug, Default)]
pub struct Tree {
    /// Exact paths (`location = PATH`), allowed whatever the raw path's slashes.
    pub statics: BTreeSet<String>,
    /// Prefix groups by first segment (`location ^~ /KEY/`), sorted by prefix.
    pub groups: Vec<Node>,
    /// Regexes for paths under no group prefix, tried in order at the top level.
    pub top: Vec<Regex>,
    /// Routes left out on purpose, with the reason.
    pub skipped: Vec<String>,
    /// Things the user should know about (over-approximations).
    pub warnings: Vec<String>,
    /// Routes the operator added, as `PATH (from ORIGIN)`.
    pub extras: Vec<String>,
    /// Only from [`build_native_tree`]: the segment patterns [`Step::Segment`] refers to.
    pub segments: Vec<NativeSegment>,
    /// Only from [`build_native_tree`]: the dynamic paths (and the static ones no exact
    /// name can hold), segment by segment, in place of `groups` and `top` regexes.
    pub routes: Vec<Vec<Step>>,
}

/// One step of a native route: what the next segment of the path must be.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// Exactly this text (no `/`; empty for a trailing slash).
    Text(String),
    /// A segment matching [`Tree::segments`]`[i]`.
    Segment(usize),
    /// The rest of the path, from the `/` before this segment, matches this anchored
    /// regex (a slash-crossing parameter, or a segment greedy matching cannot decide).
    /// Always the last step.
    Tail(String),
}

/// A segment pattern a native route refers to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NativeSegment {
    /// Anchored, over the segment with its leading `/`: decides a segment holding any
    /// byte that is not ASCII.
    pub regex: String,
    /// Decides an ASCII segment, matched greedily (see [`SegmentItem`]).
    pub items: Vec<SegmentItem>,
}

/// A prefix location and what it holds.
#[derive(Debug, Default)]
pub struct Node {
    /// The location's prefix, ending in `/`: `/api/`, `/api/v1/`.
    pub prefix: String,
    /// Longer prefixes inside this one, for big groups. nginx tries a child's regexes
    /// first and, when they all miss, goes on with this node's (children are plain
    /// prefix locations; only a group at the top stops nginx from trying the top-level
    /// regexes).
    pub children: Vec<Node>,
    /// The regexes tried here, in order; routes that need single slashes come last.
    pub regexes: Vec<Regex>,
}

/// One regex location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regex {
    /// Anchored, over the decoded path.
    pub regex: String,
    /// The routes behind it do not merge slashes: the raw path must also hold no empty
    /// segment (see [`crate::Part::single_slashes`]).
    pub single_slashes: bool,
}

impl Tree {
    /// Every regex location the tree holds.
    pub fn regex_count(&self) -> usize {
        fn count(node: &Node) -> usize {
            node.regexes.len() + node.children.iter().map(count).sum::<usize>()
        }
        self.top.len() + self.groups.iter().map(count).sum::<usize>()
    }

    /// Whether some location checks single slashes.
    pub fn needs_single_slashes(&self) -> bool {
        fn any(node: &Node) -> bool {
            node.regexes.iter().any(|r| r.single_slashes) || node.children.iter().any(any)
        }
        self.top.iter().any(|r| r.single_slashes) || self.groups.iter().any(any)
    }
}

/// Builds the tree, or names the first rule it cannot hold exactly: a rule that cannot be
/// translated, or one bound to some hosts only (locations cannot ask the host; the map
/// layout can). Methods are not looked at: any method passes.
///
/// `served` lists path prefixes (`/static/`) that the server's own locations serve: the
/// routes under them are left out (their locations would collide with the operator's).
pub fn build_tree(
    table: &RouteTable,
    code_checks: CodeChecks,
    served: &[String],
) -> Result<Tree, Untranslatable> {
    build(table, code_checks, served, false)
}

/// Builds the tree for routewall's nginx module: exact paths as [`build_tree`] does, the
/// other paths of routes that merge slashes as native [`Tree::routes`] (the module walks
/// them segment by segment and needs PCRE only for what [`SegmentItem`]s cannot say), and
/// only the routes that need single slashes as group and top regexes.
pub fn build_native_tree(
    table: &RouteTable,
    code_checks: CodeChecks,
) -> Result<Tree, Untranslatable> {
    build(table, code_checks, &[], true)
}

fn build(
    table: &RouteTable,
    code_checks: CodeChecks,
    served: &[String],
    native: bool,
) -> Result<Tree, Untranslatable> {
    let Collected {
        layout,
        candidates,
        defs,
    } = collect(table, code_checks, DefinitionStyle::Numbered, None).map_err(
        |(rule, endpoint, reason)| Untranslatable {
            rule,
            endpoint,
            reason,
        },
    )?;
    if let Some(bound) = candidates.iter().find(|c| c.domain.is_some()) {
        let route = &table.routes[bound.route];
        return Err(Untranslatable {
            rule: route.rule.clone(),
            endpoint: route.endpoint.clone(),
            reason: "it answers on some hosts only, which the tree and module layouts cannot check; use the location layout".to_owned(),
        });
    }
    let mut tree = Tree {
        skipped: layout.skipped,
        warnings: layout.warnings,
        extras: layout.extras,
        ..Tree::default()
    };
    let mut left_to_server = BTreeSet::new();
    let candidates: Vec<_> = candidates
        .into_iter()
        .filter(|c| {
            let Some(prefix) = served.iter().find(|p| c.variant.is_under(p)) else {
                return true;
            };
            if left_to_server.insert(c.route) {
                let route = &table.routes[c.route];
                tree.skipped.push(format!(
                    "{} ({}): under {}, which the server serves itself",
                    route.rule.escape_debug(),
                    route.endpoint.escape_debug(),
                    prefix.escape_debug()
                ));
            }
            false
        })
        .collect();
    // A static path of a rule that needs single slashes goes with the regexes, behind every
    // unconditional one: an exact location would hide a dynamic rule that allows `//x`.
    for candidate in candidates.iter().filter(|c| !c.single_slashes) {
        if let Some(path) = candidate.variant.static_path().filter(|p| location_name(p)) {
            tree.statics.insert(path);
        }
    }
    let remaining = |single_slashes: bool| {
        candidates
            .iter()
            .filter(move |c| c.single_slashes == single_slashes)
            .map(|c| &c.variant)
            .filter(|v| v.static_path().is_none_or(|p| !tree.statics.contains(&p)))
            .cloned()
            .collect::<Vec<_>>()
    };
    let mut plain_variants = remaining(false);
    if native {
        plain_variants.sort();
        plain_variants.dedup();
        let mut index = BTreeMap::new();
        // Routes that end in a tail after the same steps share its regexes: the module
        // then runs one PCRE per node, not one per route.
        let mut tails: BTreeMap<Vec<Step>, Vec<Variant>> = BTreeMap::new();
        for variant in std::mem::take(&mut plain_variants) {
            match steps_of(&variant, &defs, &mut tree.segments, &mut index) {
                (steps, None) => tree.routes.push(steps),
                (steps, Some(rest)) => tails.entry(steps).or_default().push(rest),
            }
        }
        for (steps, rests) in tails {
            for regex in regexes(rests, &defs) {
                let mut route = steps.clone();
                route.push(Step::Tail(regex));
                tree.routes.push(route);
            }
        }
    }
    let plain = Placed::of(plain_variants, false);
    let single = Placed::of(remaining(true), true);

    let keys: BTreeSet<&String> = plain.groups.keys().chain(single.groups.keys()).collect();
    for key in keys {
        let members = plain.groups.get(key).cloned().unwrap_or_default();
        let prefix = format!("/{key}/");
        let budget = MAX_LOCATION_BYTES - prefix.len();
        let mut node = node_of(&prefix, group_of(members, 1, &defs, false, Some(budget)));
        node.regexes.extend(plain.everywhere(&defs));
        let own_single = single.groups.get(key).cloned().unwrap_or_default();
        node.regexes
            .extend(marked(regexes(own_single, &defs), true));
        node.regexes.extend(single.everywhere(&defs));
        tree.groups.push(node);
    }
    tree.top = [
        marked(regexes(plain.fallback.clone(), &defs), false),
        plain.everywhere(&defs),
        marked(regexes(single.fallback.clone(), &defs), true),
        single.everywhere(&defs),
    ]
    .concat();
    Ok(tree)
}

/// The most steps a native route takes (`NGX_HTTP_ROUTEWALL_MAX_STEPS` in the module).
pub const MAX_STEPS: usize = 256;

/// Text the module may take as it is: control characters stay inside regexes, where they
/// are escaped, out of the table's quoted tokens.
fn plain(text: &str) -> bool {
    !text.bytes().any(|b| b < 0x20 || b == 0x7f)
}

/// A variant as native steps, and the rest of it that only a tail regex can match; new
/// segment patterns are added to `segments`.
fn steps_of(
    variant: &Variant,
    defs: &Definitions,
    segments: &mut Vec<NativeSegment>,
    index: &mut BTreeMap<NativeSegment, usize>,
) -> (Vec<Step>, Option<Variant>) {
    let mut steps = Vec::with_capacity(variant.tokens.len());
    for (i, token) in variant.tokens.iter().enumerate() {
        // The module walks a route recursively, step by step, and takes so many steps at
        // most; a longer route's rest is one tail regex.
        let last_step = i + 1 == MAX_STEPS && i + 1 < variant.tokens.len();
        let text = token
            .literal
            .as_deref()
            .and_then(|l| l.strip_prefix('/'))
            .filter(|t| !t.contains('/') && plain(t));
        if let Some(text) = text.filter(|_| !last_step) {
            steps.push(Step::Text(text.to_owned()));
            continue;
        }
        let items = token
            .native
            .clone()
            .filter(|_| {
                !last_step
                    && token.literal.is_none()
                    && !token.crosses
                    && token.regex.0.starts_with('/')
            })
            .and_then(pattern::greedy_segment)
            .filter(|items| {
                items.iter().all(|item| match item {
                    SegmentItem::Text(text) => plain(text),
                    SegmentItem::Run { .. } => true,
                })
            });
        if let Some(items) = items {
            let segment = NativeSegment {
                regex: defs.finish(&format!("^{}\\z", token.regex.0)),
                items,
            };
            let next = segments.len();
            let id = *index.entry(segment.clone()).or_insert(next);
            if id == next {
                segments.push(segment);
            }
            steps.push(Step::Segment(id));
            continue;
        }
        let rest = Variant {
            tokens: variant.tokens[i..].to_vec(),
        };
        return (steps, Some(rest));
    }
    (steps, None)
}

/// Variants sorted by where a request can meet them.
struct Placed {
    groups: BTreeMap<String, Vec<Variant>>,
    fallback: Vec<Variant>,
    everywhere: Vec<Variant>,
    single_slashes: bool,
}

impl Placed {
    fn of(variants: Vec<Variant>, single_slashes: bool) -> Self {
        let mut placed = Placed {
            groups: BTreeMap::new(),
            fallback: Vec::new(),
            everywhere: Vec::new(),
            single_slashes,
        };
        for variant in variants {
            match variant.placement(false) {
                Placement::Fallback => placed.fallback.push(variant),
                // `/KEY/` must fit a location name; a longer one is matched at the top.
                Placement::Group(key) if key.len() + 2 > MAX_LOCATION_BYTES => {
                    placed.fallback.push(variant);
                }
                Placement::Group(key) => placed.groups.entry(key).or_default().push(variant),
                Placement::Everywhere => placed.everywhere.push(variant),
            }
        }
        placed
    }

    /// The routes whose first segment is a parameter: they can match under any prefix.
    fn everywhere(&self, defs: &Definitions) -> Vec<Regex> {
        marked(regexes(self.everywhere.clone(), defs), self.single_slashes)
    }
}

impl Variant {
    /// Whether every path the variant matches starts with `prefix`: its leading literal
    /// text (followed by a `/` when a parameter segment comes next) does.
    fn is_under(&self, prefix: &str) -> bool {
        let mut text = String::new();
        let mut whole = true;
        for token in &self.tokens {
            match &token.literal {
                Some(literal) => text.push_str(literal),
                None => {
                    whole = false;
                    break;
                }
            }
        }
        if !whole {
            // The next token starts with its `/` (tokens are segments).
            text.push('/');
        }
        text.starts_with(prefix)
    }
}

fn marked(regexes: Vec<String>, single_slashes: bool) -> Vec<Regex> {
    regexes
        .into_iter()
        .map(|regex| Regex {
            regex,
            single_slashes,
        })
        .collect()
}

fn node_of(prefix: &str, group: super::Group) -> Node {
    Node {
        prefix: prefix.to_owned(),
        children: group
            .children
            .into_iter()
            .map(|(key, child)| node_of(&format!("{prefix}{key}/"), child))
            .collect(),
        regexes: marked(group.rest, false),
    }
}

#[cfg(test)]
mod tests {
    use routewall_core::{Converter, Param, Route, Segment};

    use super::*;

    fn int(name: &str) -> Segment {
        Segment::Param(Param::new(name, Converter::new("int", r"\d+")))
    }

    fn any(name: &str) -> Segment {
        Segment::Param(Param::new(name, Converter::new("default", "[^/]+")))
    }

    #[test]
    fn statics_are_exact_and_case_sensitive_groups_hold_the_rest() {
        let table = RouteTable::new("flask", "app")
            .with_route(Route::new("a", "/About", vec![Segment::text("/About")]))
            .with_route(Route::new("b", "/about", vec![Segment::text("/about")]))
            .with_route(Route::new(
                "u",
                "/Users/<int:id>",
                vec![Segment::text("/Users/"), int("id")],
            ))
            .with_route(Route::new(
                "v",
                "/users/<int:id>",
                vec![Segment::text("/users/"), int("id")],
            ));
        let tree = build_tree(&table, CodeChecks::Allow, &[]).expect("builds");
        assert_eq!(
            tree.statics.iter().collect::<Vec<_>>(),
            ["/About", "/about"]
        );
        let prefixes: Vec<_> = tree.groups.iter().map(|g| g.prefix.as_str()).collect();
        assert_eq!(prefixes, ["/Users/", "/users/"]);
        assert!(tree.top.is_empty());
    }

    #[test]
    fn parameter_first_routes_are_tried_in_every_group_and_at_the_top() {
        let table = RouteTable::new("flask", "app")
            .with_route(Route::new(
                "u",
                "/users/<int:id>",
                vec![Segment::text("/users/"), int("id")],
            ))
            .with_route(Route::new(
                "org",
                "/<org>/settings",
                vec![Segment::text("/"), any("org"), Segment::text("/settings")],
            ));
        let tree = build_tree(&table, CodeChecks::Allow, &[]).expect("builds");
        let group = &tree.groups[0];
        assert_eq!(group.prefix, "/users/");
        assert_eq!(group.regexes.len(), 2, "{group:?}");
        assert!(group.regexes[0].regex.contains("/users/"), "{group:?}");
        assert!(group.regexes[1].regex.contains("settings"));
        assert_eq!(tree.top.len(), 1);
        assert!(tree.top[0].regex.contains("settings"));
    }

    #[test]
    fn single_slash_routes_come_after_the_unconditional_ones() {
        let mut strict = Route::new(
            "s",
            "/users/<int:id>/x",
            vec![Segment::text("/users/"), int("id"), Segment::text("/x")],
        );
        strict.merge_slashes = false;
        let mut strict_static = Route::new("t", "/plain", vec![Segment::text("/plain")]);
        strict_static.merge_slashes = false;
        let table = RouteTable::new("flask", "app")
            .with_route(strict)
            .with_route(strict_static)
            .with_route(Route::new(
                "any",
                "/users/<id>/<x>",
                vec![
                    Segment::text("/users/"),
                    any("id"),
                    Segment::text("/"),
                    any("x"),
                ],
            ));
        let tree = build_tree(&table, CodeChecks::Allow, &[]).expect("builds");
        assert!(tree.statics.is_empty(), "{:?}", tree.statics);
        let flags: Vec<bool> = tree.groups[0]
            .regexes
            .iter()
            .map(|r| r.single_slashes)
            .collect();
        assert_eq!(flags, [false, true]);
        assert_eq!(tree.top.len(), 1);
        assert!(tree.top[0].single_slashes);
        assert!(tree.needs_single_slashes());
    }

    #[test]
    fn names_too_long_for_a_location_are_matched_by_regex() {
        let long = format!("/{}", "a".repeat(300));
        let key = format!("/{}/", "k".repeat(260));
        let table = RouteTable::new("flask", "app")
            .with_route(Route::new("long", &long, vec![Segment::text(&long)]))
            .with_route(Route::new(
                "k",
                format!("{key}<int:id>"),
                vec![Segment::text(&key), int("id")],
            ));
        let tree = build_tree(&table, CodeChecks::Allow, &[]).expect("builds");
        assert!(tree.statics.is_empty());
        assert!(tree.groups.is_empty());
        assert_eq!(tree.top.len(), 1, "{:?}", tree.top);
    }

    #[test]
    fn routes_under_a_prefix_the_server_serves_are_left_out() {
        let table = RouteTable::new("flask", "app")
            .with_route(Route::new(
                "static",
                "/static/<path:filename>",
                vec![
                    Segment::text("/static/"),
                    Segment::Param(Param::new("filename", {
                        let mut c = Converter::new("path", "[^/].*?");
                        c.part_isolating = false;
                        c
                    })),
                ],
            ))
            .with_route(Route::new(
                "icon",
                "/static/icon.png",
                vec![Segment::text("/static/icon.png")],
            ))
            .with_route(Route::new("about", "/about", vec![Segment::text("/about")]))
            .with_route(Route::new(
                "st",
                "/statistics",
                vec![Segment::text("/statistics")],
            ));
        let tree = build_tree(&table, CodeChecks::Allow, &["/static/".to_owned()]).expect("builds");
        assert_eq!(
            tree.statics.iter().collect::<Vec<_>>(),
            ["/about", "/statistics"]
        );
        assert!(tree.groups.is_empty() && tree.top.is_empty(), "{tree:?}");
        assert_eq!(tree.skipped.len(), 2, "{:?}", tree.skipped);
    }

    #[test]
    fn the_native_tree_walks_segments_and_keeps_regexes_for_single_slash_routes() {
        let path = || {
            let mut c = Converter::new("path", "[^/].*?");
            c.part_isolating = false;
            Segment::Param(Param::new("p", c))
        };
        let mut strict = Route::new("s", "/s/<int:id>", vec![Segment::text("/s/"), int("id")]);
        strict.merge_slashes = false;
        let table = RouteTable::new("flask", "app")
            .with_route(Route::new("about", "/about", vec![Segment::text("/about")]))
            .with_route(Route::new(
                "u",
                "/users/<int:id>",
                vec![Segment::text("/users/"), int("id")],
            ))
            .with_route(Route::new(
                "f",
                "/users/<int:id>/files/<path:p>",
                vec![
                    Segment::text("/users/"),
                    int("id"),
                    Segment::text("/files/"),
                    path(),
                ],
            ))
            .with_route(Route::new(
                "e",
                "/users/<int:id>/files/<path:p>/edit",
                vec![
                    Segment::text("/users/"),
                    int("id"),
                    Segment::text("/files/"),
                    path(),
                    Segment::text("/edit"),
                ],
            ))
            .with_route(Route::new(
                "j",
                "/v<int:n>.json",
                vec![Segment::text("/v"), int("n"), Segment::text(".json")],
            ))
            .with_route(strict);
        let tree = build_native_tree(&table, CodeChecks::Allow).expect("builds");
        assert_eq!(tree.statics.iter().collect::<Vec<_>>(), ["/about"]);
        let users = tree
            .routes
            .iter()
            .find(|r| r.len() == 2 && r[0] == Step::Text("users".into()))
            .expect("/users/<int:id>");
        let Step::Segment(id) = users[1] else {
            panic!("{users:?}")
        };
        assert!(matches!(
            tree.segments[id].items[..],
            [SegmentItem::Run {
                min: 1,
                max: None,
                ..
            }]
        ));
        assert!(
            tree.segments[id].regex.starts_with("^"),
            "{:?}",
            tree.segments[id]
        );
        let files = tree
            .routes
            .iter()
            .find(|r| r.len() == 4)
            .expect("the path route");
        assert_eq!(files[2], Step::Text("files".into()));
        // Both path routes share one tail regex.
        assert_eq!(tree.routes.iter().filter(|r| r.len() == 4).count(), 1);
        assert!(
            matches!(&files[3], Step::Tail(re) if re.contains("edit")),
            "{files:?}"
        );
        let json = tree
            .routes
            .iter()
            .find(|r| r.len() == 1)
            .expect("/v<int:n>.json");
        let Step::Segment(v) = json[0] else {
            panic!("{json:?}")
        };
        assert_eq!(tree.segments[v].items.len(), 3, "{:?}", tree.segments[v]);
        // Only the route that needs single slashes is left to regexes.
        let prefixes: Vec<_> = tree.groups.iter().map(|g| g.prefix.as_str()).collect();
        assert_eq!(prefixes, ["/s/"]);
        assert!(tree.groups[0].regexes.iter().all(|r| r.single_slashes));
        assert!(tree.top.iter().all(|r| r.single_slashes), "{:?}", tree.top);
    }

    #[test]
    fn control_characters_stay_in_regexes() {
        let table = RouteTable::new("flask", "app")
            .with_route(Route::new(
                "tab",
                "/a\tb/<int:id>",
                vec![Segment::text("/a\tb/"), int("id")],
            ))
            .with_route(Route::new(
                "mixed",
                "/x/c\u{1}<int:id>",
                vec![Segment::text("/x/c\u{1}"), int("id")],
            ));
        let tree = build_native_tree(&table, CodeChecks::Allow).expect("builds");
        let mut routes = tree.routes.clone();
        routes.sort();
        // Sorted: `[Text, Tail]` before `[Tail]`.
        assert!(
            matches!(&routes[0][..], [Step::Text(x), Step::Tail(re)] if x == "x" && re.contains("\\x01")),
            "{routes:?}"
        );
        assert!(
            matches!(&routes[1][..], [Step::Tail(re)] if re.contains("\\x09")),
            "{routes:?}"
        );
        assert!(tree.segments.is_empty(), "{:?}", tree.segments);
    }

    #[test]
    fn a_route_longer_than_the_module_walks_ends_in_a_tail() {
        let long = "/a".repeat(MAX_STEPS + 40);
        let table = RouteTable::new("flask", "app").with_route(Route::new(
            "long",
            format!("{long}/<int:id>"),
            vec![Segment::text(format!("{long}/")), int("id")],
        ));
        let tree = build_native_tree(&table, CodeChecks::Allow).expect("builds");
        let steps = &tree.routes[0];
        assert_eq!(steps.len(), MAX_STEPS);
        assert!(
            matches!(&steps[MAX_STEPS - 1], Step::Tail(re) if re.contains(")/a/a/a/")),
            "{:?}",
            steps.last()
        );
    }

    #[test]
    fn big_groups_split_into_child_prefixes() {
        let mut table = RouteTable::new("flask", "app");
        for i in 0..40 {
            let text = format!("/api/r{i}/");
            table = table.with_route(Route::new(
                format!("r{i}"),
                format!("{text}<int:id>"),
                vec![Segment::text(&text), int("id")],
            ));
        }
        let tree = build_tree(&table, CodeChecks::Allow, &[]).expect("builds");
        let api = &tree.groups[0];
        assert_eq!(api.prefix, "/api/");
        assert_eq!(api.children.len(), 40);
        assert_eq!(api.children[0].prefix, "/api/r0/");
        assert!(api.regexes.is_empty());
        assert_eq!(tree.regex_count(), 40);
    }
}
