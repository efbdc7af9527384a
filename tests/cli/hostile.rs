//! Hostile rule text, generated at random: whatever characters a rule holds (`;`, braces,
//! quotes, `#`, `$`, backslashes, spaces, newlines, other control characters, non-ASCII,
//! regex syntax), the output must pass a real `nginx -t` and allow exactly the rules'
//! paths. The oracle is independent of the emitter: the `regex` crate, matching the
//! decoded path against each rule's meaning.

use proptest::prelude::*;
use routewall_core::{Converter, EmitContext, Emitter, Param, Route, RouteTable, Segment};
use routewall_nginx_emitter::NginxEmitter;

use crate::support::{Nginx, get_status, nginx_binary, nginx_module};

/// One path segment of a generated rule.
#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Int,
    Word,
}

fn hostile_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::sample::select(vec![
            ';', '{', '}', '"', '\'', '#', '$', '\\', ' ', '\n', '\t', '\r', '~', '^', '*', '(',
            ')', '[', ']', '|', '.', '+', '?', '%', '&', '=', ':', '@', '!', ',', '<', '>',
            '\u{1}', '\u{7f}', 'é', '日', '\u{feff}',
        ]),
        6 => prop::char::range('a', 'z'),
        1 => prop::char::range('A', 'Z'),
    ]
}

fn piece() -> impl Strategy<Value = Piece> {
    let text = prop::collection::vec(hostile_char(), 1..6)
        .prop_map(|chars| chars.into_iter().collect::<String>())
        // `.` and `..` are dot segments, which nginx resolves (and routewall refuses).
        .prop_filter("dot segment", |t| t != "." && t != "..")
        .prop_filter("map keyword", |t| !t.starts_with('<'));
    prop_oneof![3 => text.prop_map(Piece::Text), 1 => Just(Piece::Int), 1 => Just(Piece::Word)]
}

fn rule() -> impl Strategy<Value = Vec<Piece>> {
    prop::collection::vec(piece(), 1..4)
}

fn route(pieces: &[Piece], i: usize) -> Route {
    let mut segments = Vec::new();
    for piece in pieces {
        segments.push(Segment::text("/"));
        match piece {
            Piece::Text(t) => segments.push(Segment::text(t.clone())),
            Piece::Int => segments.push(Segment::Param(Param::new(
                "n",
                Converter::new("int", r"\d+"),
            ))),
            Piece::Word => segments.push(Segment::Param(Param::new(
                "w",
                Converter::new("default", "[^/]{1,}"),
            ))),
        }
    }
    Route::new(format!("r{i}"), format!("rule {i}"), segments)
}

/// What the rule means, for the `regex` crate: the decoded path must match it entirely.
fn meaning(pieces: &[Piece]) -> String {
    let mut re = String::from("^");
    for piece in pieces {
        re.push('/');
        match piece {
            Piece::Text(t) => re.push_str(&regex::escape(t)),
            Piece::Int => re.push_str(r"\d+"),
            Piece::Word => re.push_str("[^/]+"),
        }
    }
    re.push('$');
    re
}

/// A concrete path of the rule.
fn instance(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Text(t) => format!("/{t}"),
            Piece::Int => "/42".to_owned(),
            Piece::Word => "/w;x".to_owned(),
        })
        .collect()
}

/// The request target for a decoded path: every byte but unreserved ones and `/`
/// percent-encoded.
fn encode(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Near misses of a path: every character replaced or dropped in turn, one more at the
/// end, a case change. A regex metacharacter left unescaped shows up as a replaced
/// character that still matches.
fn mutants(path: &str) -> Vec<String> {
    let chars: Vec<char> = path.chars().collect();
    let mut out = vec![
        format!("{path}x"),
        format!("{path}/"),
        path.to_uppercase(),
        format!("/x{path}"),
    ];
    for i in 1..chars.len() {
        let mut replaced = chars.clone();
        replaced[i] = if chars[i] == 'q' { 'Q' } else { 'q' };
        out.push(replaced.into_iter().collect());
        let mut dropped = chars.clone();
        dropped.remove(i);
        out.push(dropped.into_iter().collect());
    }
    out
}

/// Emits `rules` (the module layout when `module`), checks the output with `nginx -t`,
/// serves it and compares each rule's instance and its mutants with the oracle.
fn assert_hostile_rules_exact(rules: &[Vec<Piece>], module: bool) -> Result<(), TestCaseError> {
    let mut table = RouteTable::new("fuzz", "fuzz");
    table.routes = rules.iter().enumerate().map(|(i, r)| route(r, i)).collect();
    let ctx = EmitContext::default()
        .with_server_binary(Some(nginx_binary()))
        .with_server_module(module.then(nginx_module));
    let output = NginxEmitter
        .emit(&table, &ctx)
        .expect("every generated rule is translatable");
    NginxEmitter
        .validate(&output, &ctx)
        .expect("nginx -t accepts the output");

    let dir = tempfile::tempdir().expect("tempdir");
    for file in &output.files {
        std::fs::write(dir.path().join(&file.name), &file.contents).expect("write");
    }
    let nginx = if module {
        Nginx::with_module(dir.path())
    } else {
        Nginx::with_allowlist(dir.path())
    };
    let meanings: Vec<regex::Regex> = rules
        .iter()
        .map(|r| regex::Regex::new(&meaning(r)).expect("valid"))
        .collect();
    for r in rules {
        let path = instance(r);
        for candidate in std::iter::once(path.clone()).chain(mutants(&path)) {
            if candidate.split('/').any(|s| s == "." || s == "..") || candidate.contains("//") {
                continue;
            }
            let truth = meanings.iter().any(|m| m.is_match(&candidate));
            let status = get_status(nginx.port, &encode(&candidate));
            prop_assert_eq!(
                status,
                if truth { 200 } else { 404 },
                "{:?} ({})",
                candidate,
                encode(&candidate)
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn hostile_rules_give_a_valid_and_exact_config(rules in prop::collection::vec(rule(), 1..5)) {
        assert_hostile_rules_exact(&rules, false)?;
    }
}

proptest! {
    // Fewer cases: the module reads the same quoted tokens the location layout's maps do.
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn hostile_rules_give_a_valid_and_exact_module_table(rules in prop::collection::vec(rule(), 1..5)) {
        assert_hostile_rules_exact(&rules, true)?;
    }
}
