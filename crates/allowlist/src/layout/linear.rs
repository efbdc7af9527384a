//! Regexes whose cost grows linearly with the path, whatever the request.
//!
//! nginx and HAProxy run PCRE, a backtracking engine: a regex that can split the same bytes
//! in many ways makes a crafted path cost quadratic or worse, and once PCRE's match limit
//! cuts a match off, the server logs an error and answers as if nothing matched (a path the
//! app routes gets 404). Werkzeug's own patterns have exactly that shape: each `path`
//! parameter is a lazy `.*?`, and two of them in a rule make matching quadratic. So the
//! allowlist's regexes are built from pieces whose cost is bounded by construction:
//!
//! * **A segment with a parameter** ([`segment`]) must end where the segment does (the next
//!   token starts with `/`, or the path ends). A single greedy run (`[^/]+`, `\d+`) is made
//!   possessive: its longest run is the only one that can reach the segment's end (and a
//!   possessive repeat keeps PCRE's backtracking depth constant, where a plain repeat of a
//!   code-point group nests a level per code point). Anything
//!   else is checked once by a lookahead (`(?=BODY(?:/|\z))`, which PCRE never re-enters)
//!   and the segment is then taken by a possessive `[^/]*+`: a regex that fails later never
//!   backtracks into the segment, so each segment is scanned a bounded number of times per
//!   route that reaches it, not once per way of splitting it. Several `string` parameters
//!   in one segment (`/dl/<a>-<b>.json`) are the stars of a glob within it, placed as
//!   `path` parameters are below ([`segment_stars`]): a lookahead over such a body would
//!   be quadratic in the segment's length.
//! * **Slash-crossing parameters** ([`crossing`], Werkzeug's `path`: one code point that is
//!   not `/`, then any run without a newline) are placed like the stars of a glob: the text
//!   between two of them is searched for once, leftmost, inside an atomic group, so the
//!   engine never tries a second placement of an earlier parameter. The last one is a
//!   greedy run followed by the rule's rest and `\z`: one pass back over the path, where
//!   each position costs one byte comparison when the rests start with a literal (the
//!   routes that share the same parameters share that run, and their rests are factored
//!   byte by byte, so a thousand routes do not cost a thousand passes).
//!
//! Why leftmost placement is exact, for the text `S` between two `path` parameters (a
//! literal, or whole segments `/…/`, that cannot hold a newline, so that a later start
//! never ends earlier): take any way Werkzeug splits the path, with `S` and the next
//! parameter's first code point ending at `e`. The leftmost occurrence ends at some
//! `e' <= e`; the bytes between `e'` and `e` lie inside the earlier parameter or inside `S`,
//! so they hold no newline, and the next parameter can simply start at `e'` instead. The one
//! exception is a next parameter whose first code point is itself a newline (`[^/]` admits
//! it, `.` does not): that placement is unique (it must end at the first newline), and is
//! tried as a second, also atomic, alternative. A rule with `k` such parameters thus costs
//! at most `2^(k-1)` linear passes.
//!
//! Shapes outside these rules keep the straightforward translation, whose cost can grow
//! faster than the path: text before the first `path` parameter that holds a parameter
//! (`/<a>-<path:p>`), a parameter between two `path` parameters that admits a newline or
//! is not made of whole segments (`/<path:a>/<x>/<path:b>`, `<path:a><path:b>`), custom
//! slash-crossing converters of another shape, and several parameters inside one segment,
//! not all `string`, whose runs can take each other's bytes (`/<a>-<int:b>-x`, custom
//! classes: at worst quadratic in that segment's length, checked once per segment). The module layout bounds each request's work whatever the regexes
//! (nginx-module/README.md).

use regex_syntax::hir::{Class, Hir, HirKind};

use crate::pattern::{self, Fragment};

/// One piece of a token, in rule order.
#[derive(Debug, Clone)]
pub(super) enum Piece {
    /// Literal rule text (a segment's leading `/` included).
    Text(String),
    /// A parameter: its translated regex and its converter's own (Python) regex.
    Param {
        /// The byte-level PCRE fragment.
        fragment: Fragment,
        /// The converter's regex, as the framework wrote it.
        regex: String,
        /// The value may contain `/`.
        crosses: bool,
    },
}

/// One element of a factored regex: a whole piece of regex text, or one character of
/// literal text (rests are factored character by character).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Atom {
    /// Regex text, as it is.
    Regex(String),
    /// One literal character, escaped when printed.
    Char(char),
}

impl Atom {
    /// The atom as PCRE text.
    pub(super) fn print(&self) -> String {
        match self {
            Atom::Regex(text) => text.clone(),
            Atom::Char(c) => pattern::literal(c.encode_utf8(&mut [0; 4])),
        }
    }
}

/// The bytes of a negated newline class, as the converter translation prints `.`.
const NOT_NEWLINE: &str = "[^\\x0a]";

/// The regex of a segment token that holds a parameter (`parts` start with the segment's
/// `/`, and nothing in them crosses a `/`): it takes exactly the whole segment.
pub(super) fn segment(parts: &[Piece], defs: &mut pattern::Definitions) -> String {
    let (lead, body) = match parts.split_first() {
        Some((Piece::Text(text), rest)) if text.starts_with('/') => {
            (pattern::literal(text), plain(rest))
        }
        _ => return format!("(?=(?:{}){SEGMENT_END})[^\\x2f]*+", plain(parts)),
    };
    let last_is_run =
        matches!(parts.last(), Some(Piece::Param { regex, .. }) if single_greedy_run(regex));
    let params = parts
        .iter()
        .filter(|p| matches!(p, Piece::Param { .. }))
        .count();
    if params > 1
        && let Some(stars) = segment_stars(&parts[1..])
    {
        return format!("{lead}{stars}");
    }
    if let (true, 1, Some(Piece::Param { regex, .. })) = (last_is_run, params, parts.last())
        && let Ok(run) = pattern::possessive_run(regex, true, defs)
    {
        // Literal text, then one greedy run of a class: the longest run is the only one
        // that can end where the segment ends, so a possessive run loses no match.
        let text = plain(&parts[1..parts.len() - 1]);
        return format!("{lead}{text}{}", run.0);
    }
    format!("{lead}(?=(?:{body}){SEGMENT_END})[^\\x2f]*+")
}

/// A segment's body made of `string` parameters (one or more of any code point but `/`)
/// and literal text, in linear form: the parameters are the stars of a glob within the
/// segment, so the text between two of them is searched for once, leftmost, in an atomic
/// group (exact for the reason given for `path` parameters in the module docs: a star
/// takes anything a later placement would leave to it), and the last star is one greedy
/// run before the final text and the segment's end. Every match ends at the segment's end,
/// so the whole is atomic. `None` for any other parameter, or text between two
/// parameters that is empty or ends in a non-ASCII byte.
fn segment_stars(body: &[Piece]) -> Option<String> {
    const STAR_FIRST: &str = "[^\\x2f]";
    let mut out = String::from("(?>");
    let mut text = String::new();
    let mut stars = 0;
    for part in body {
        match part {
            Piece::Text(t) => text.push_str(t),
            Piece::Param { regex, .. } if string_star(regex) => {
                if stars == 0 {
                    out.push_str(&pattern::literal(&text));
                } else {
                    if !text.as_bytes().last().is_some_and(u8::is_ascii) {
                        return None;
                    }
                    let t = pattern::literal(&text);
                    out.push_str(&format!("(?>{STAR_FIRST}*?{t}{STAR_FIRST})"));
                    text.clear();
                    stars += 1;
                    continue;
                }
                out.push_str(STAR_FIRST);
                text.clear();
                stars += 1;
            }
            Piece::Param { .. } => return None,
        }
    }
    out.push_str(&format!(
        "{STAR_FIRST}*{}(?=/|\\z))",
        pattern::literal(&text)
    ));
    Some(out)
}

/// Whether a part-isolating converter's `regex` takes one or more of any code point (in
/// a segment: any byte but `/`), as Werkzeug's `string` converter does (`[^/]{1,}`).
fn string_star(regex: &str) -> bool {
    fn star(hir: &Hir) -> bool {
        match hir.kind() {
            HirKind::Repetition(rep) => {
                rep.min == 1
                    && rep.max.is_none()
                    && matches!(rep.sub.kind(), HirKind::Class(Class::Unicode(class))
                        if class.ranges().len() == 2
                            && class.ranges()[0].start() == '\0'
                            && class.ranges()[0].end() == '.'
                            && class.ranges()[1].start() == '0'
                            && class.ranges()[1].end() == '\u{10FFFF}')
            }
            HirKind::Capture(cap) => star(&cap.sub),
            _ => false,
        }
    }
    parse(regex).is_some_and(|hir| star(&hir))
}

/// What follows a segment: the next one's `/`, or the end of the path.
const SEGMENT_END: &str = "(?:/|\\z)";

/// The regex text of `parts` as they are.
pub(super) fn plain(parts: &[Piece]) -> String {
    parts
        .iter()
        .map(|part| match part {
            Piece::Text(text) => pattern::literal(text),
            Piece::Param { fragment, .. } => fragment.0.clone(),
        })
        .collect()
}

/// A token with slash-crossing parameters in linear form: the regex up to and including
/// the last such parameter's run, and the rest of the rule as atoms (to be followed by
/// `\z`). `None` when the token's shape has no linear form here (see the module docs).
pub(super) fn crossing(parts: &[Piece]) -> Option<(String, Vec<Atom>)> {
    // Split at the slash-crossing parameters: lead, then (first code point, text after).
    let mut lead: Vec<&Piece> = Vec::new();
    let mut params: Vec<(String, Vec<&Piece>)> = Vec::new();
    for part in parts {
        match part {
            Piece::Param {
                fragment,
                regex,
                crosses: true,
            } => params.push((path_first(regex, fragment)?, Vec::new())),
            other => match params.last_mut() {
                Some((_, after)) => after.push(other),
                None => lead.push(other),
            },
        }
    }
    let ((first, rest), between) = params.split_first()?;
    if !lead.iter().all(|p| matches!(p, Piece::Text(_))) {
        return None;
    }
    let mut head: String = lead.iter().map(|p| text_of(p)).collect();
    head.push_str(first);
    let mut pending = rest;
    for (next_first, after) in between {
        if !separates(pending) {
            return None;
        }
        let text: String = pending.iter().map(|p| text_of(p)).collect();
        // The leftmost `text` followed by the next parameter's first code point, which is
        // not a newline; or, when it is one, the only place it can be: the first newline.
        head.push_str(&format!(
            "(?:(?>{NOT_NEWLINE}*?{text}(?!\\x0a){next_first})|(?>{NOT_NEWLINE}*?{text}(?=\\x0a){next_first}))"
        ));
        pending = after;
    }
    head.push_str(NOT_NEWLINE);
    head.push('*');
    let tail = pending
        .iter()
        .flat_map(|p| match p {
            Piece::Text(text) => text.chars().map(Atom::Char).collect::<Vec<_>>(),
            Piece::Param { fragment, .. } => vec![Atom::Regex(fragment.0.clone())],
        })
        .collect();
    Some((head, tail))
}

/// The text of `parts` when none is a parameter.
pub(super) fn literal<'a>(parts: impl IntoIterator<Item = &'a Piece>) -> Option<String> {
    parts
        .into_iter()
        .map(|p| match p {
            Piece::Text(text) => Some(text.as_str()),
            Piece::Param { .. } => None,
        })
        .collect()
}

fn text_of(part: &Piece) -> String {
    plain(std::slice::from_ref(part))
}

/// Whether the text between two slash-crossing parameters can be placed leftmost: it holds
/// no newline, and a later start can never end earlier (a literal ending in an ASCII byte,
/// so the next code point cannot begin inside it; or whole segments, `/…/`).
fn separates(parts: &[&Piece]) -> bool {
    let no_newline = parts.iter().all(|p| match p {
        Piece::Text(text) => !text.contains('\n'),
        Piece::Param { regex, crosses, .. } => !crosses && !may_hold_newline(regex),
    });
    let shape = match literal(parts.iter().copied()) {
        Some(text) => text.as_bytes().last().is_some_and(u8::is_ascii),
        None => {
            matches!(parts.first(), Some(Piece::Text(t)) if t.starts_with('/'))
                && matches!(parts.last(), Some(Piece::Text(t)) if t.ends_with('/'))
        }
    };
    no_newline && shape
}

/// The regex of a `path`-shaped converter's first code point, when `regex` is one code
/// point of a class followed by a run of anything but a newline (Werkzeug's `[^/].*?`).
fn path_first(regex: &str, fragment: &Fragment) -> Option<String> {
    let hir = parse(regex)?;
    let HirKind::Concat(items) = hir.kind() else {
        return None;
    };
    let [first, run] = items.as_slice() else {
        return None;
    };
    let HirKind::Class(Class::Unicode(_)) = first.kind() else {
        return None;
    };
    let HirKind::Repetition(rep) = run.kind() else {
        return None;
    };
    let HirKind::Class(Class::Unicode(class)) = rep.sub.kind() else {
        return None;
    };
    let everything_but_newline = class.ranges().len() == 2
        && class.ranges()[0].start() == '\0'
        && class.ranges()[0].end() == '\x09'
        && class.ranges()[1].start() == '\x0b'
        && class.ranges()[1].end() == '\u{10FFFF}';
    if rep.min != 0 || rep.max.is_some() || !everything_but_newline {
        return None;
    }
    let text = &fragment.0;
    let first = text
        .strip_suffix(&format!("{NOT_NEWLINE}*?"))
        .or_else(|| text.strip_suffix(&format!("{NOT_NEWLINE}*")))?;
    Some(first.to_owned())
}

/// Whether `regex` (a converter's) is one greedy run of a class, possibly in a group.
fn single_greedy_run(regex: &str) -> bool {
    fn run(hir: &Hir) -> bool {
        match hir.kind() {
            HirKind::Repetition(rep) => {
                rep.greedy && matches!(rep.sub.kind(), HirKind::Class(Class::Unicode(_)))
            }
            HirKind::Capture(cap) => run(&cap.sub),
            _ => false,
        }
    }
    parse(regex).is_some_and(|hir| run(&hir))
}

/// Whether some string `regex` matches can hold a newline.
fn may_hold_newline(regex: &str) -> bool {
    fn any(hir: &Hir) -> bool {
        match hir.kind() {
            HirKind::Empty | HirKind::Look(_) => false,
            HirKind::Literal(lit) => lit.0.contains(&b'\n'),
            HirKind::Class(Class::Unicode(class)) => class
                .ranges()
                .iter()
                .any(|r| r.start() <= '\n' && '\n' <= r.end()),
            HirKind::Class(Class::Bytes(class)) => class
                .ranges()
                .iter()
                .any(|r| r.start() <= b'\n' && b'\n' <= r.end()),
            HirKind::Repetition(rep) => any(&rep.sub),
            HirKind::Capture(cap) => any(&cap.sub),
            HirKind::Concat(items) | HirKind::Alternation(items) => items.iter().any(any),
        }
    }
    parse(regex).is_none_or(|hir| any(&hir))
}

/// A converter regex as the translation reads it (for its shape only, so without the
/// table's Python classes), or `None` when it does not parse (the translation reports
/// that).
fn parse(regex: &str) -> Option<Hir> {
    pattern::parse(regex, &pattern::PerlClasses::default()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(regex: &str, crosses: bool) -> Piece {
        let mut defs = pattern::Definitions::default();
        Piece::Param {
            fragment: pattern::converter(regex, !crosses, &mut defs).expect("translates"),
            regex: regex.to_owned(),
            crosses,
        }
    }

    fn text(t: &str) -> Piece {
        Piece::Text(t.to_owned())
    }

    const PATH: &str = "[^/].*?";

    /// `segment`'s regex as printed (fragments carry placeholders until then).
    fn segment(parts: &[Piece]) -> String {
        let mut defs = pattern::Definitions::default();
        let text = super::segment(parts, &mut defs);
        defs.finish(&text)
    }

    #[test]
    fn a_single_run_is_atomic_and_other_segments_are_checked_once() {
        assert_eq!(
            segment(&[text("/"), param("[^/]{1,}", false)]),
            r"/[^\x2f]++"
        );
        assert_eq!(
            segment(&[text("/"), text("v"), param("[^/]{1,}", false)]),
            r"/v[^\x2f]++"
        );
        let two = segment(&[
            text("/"),
            param("[^/]{1,}", false),
            text("-"),
            param("[^/]{1,}", false),
        ]);
        assert_eq!(two, r"/(?>[^\x2f](?>[^\x2f]*?-[^\x2f])[^\x2f]*(?=/|\z))");
        let ints = segment(&[
            text("/"),
            param(r"\d+", false),
            text("-"),
            param(r"\d+", false),
        ]);
        assert!(ints.contains("/(?=(?:"), "{ints}");
        let dl = segment(&[
            text("/"),
            param("[^/]{1,}", false),
            text("-"),
            param("[^/]{1,}", false),
            text(".json"),
        ]);
        assert_eq!(
            dl,
            r"/(?>[^\x2f](?>[^\x2f]*?-[^\x2f])[^\x2f]*\.json(?=/|\z))"
        );
        let lazy = segment(&[text("/"), param("[a-z]+?", false)]);
        assert!(
            lazy.contains("(?="),
            "a lazy run is not the longest: {lazy}"
        );
    }

    #[test]
    fn path_parameters_are_placed_like_glob_stars() {
        let (head, tail) = crossing(&[
            text("/"),
            param(PATH, true),
            text("/edit/"),
            param(PATH, true),
        ])
        .expect("linear");
        assert!(head.starts_with("/(?:[\\x00-\\x2e"), "{head}");
        assert!(head.contains(r"(?>[^\x0a]*?/edit/(?!\x0a)"), "{head}");
        assert!(head.contains(r"(?>[^\x0a]*?/edit/(?=\x0a)"), "{head}");
        assert!(head.ends_with(r"[^\x0a]*"), "{head}");
        assert!(tail.is_empty());

        let (_, tail) = crossing(&[text("/"), param(PATH, true), text("/t1")]).expect("linear");
        assert_eq!(tail, [Atom::Char('/'), Atom::Char('t'), Atom::Char('1')]);
    }

    #[test]
    fn shapes_without_a_linear_form_are_left_alone() {
        // A string parameter between two path parameters may hold a newline.
        let between = [
            text("/"),
            param(PATH, true),
            text("/"),
            param("[^/]{1,}", false),
            text("/"),
            param(PATH, true),
        ];
        assert!(crossing(&between).is_none());
        // An int between them cannot, and spans a whole segment.
        let int = [
            text("/"),
            param(PATH, true),
            text("/"),
            param(r"\d+", false),
            text("/"),
            param(PATH, true),
        ];
        assert!(crossing(&int).is_some());
        // Two path parameters with nothing between them.
        assert!(crossing(&[text("/"), param(PATH, true), param(PATH, true)]).is_none());
        // A parameter before the first path parameter.
        assert!(
            crossing(&[
                text("/"),
                param("[^/]{1,}", false),
                text("-"),
                param(PATH, true)
            ])
            .is_none()
        );
        // A custom slash-crossing converter of another shape.
        assert!(crossing(&[text("/"), param(".+", true)]).is_none());
    }

    #[test]
    fn newline_classes_are_found() {
        assert!(may_hold_newline("[^/]{1,}"));
        assert!(!may_hold_newline(r"\d+"));
        assert!(!may_hold_newline("[a-z]+"));
        assert!(single_greedy_run(r"\d+") && single_greedy_run("(?P<x>[^/]{2,4})"));
        assert!(!single_greedy_run(r"\d+\.\d+"));
    }
}
