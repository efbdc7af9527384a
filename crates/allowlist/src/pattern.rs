//! Translating converter regexes into byte-level PCRE (for nginx, HAProxy).
//!
//! nginx matches locations and `map` regexes against the percent-decoded URI as *bytes*
//! (no `(*UTF)`: one such regex turns every invalid-UTF-8 request that reaches it into a
//! 500, see `shared/semantics.md` §3.3). Werkzeug matches Python `str` regexes against
//! *code points*, with Unicode-aware classes (`\d` is every decimal digit). So a converter
//! regex cannot be copied through: it is parsed with `regex-syntax` (whose Unicode tables
//! give `\d`, `\w` and case folding) and printed back as PCRE over UTF-8 bytes, where one
//! code point of a class becomes the alternation of its UTF-8 byte sequences.
//!
//! Two details keep the result exact:
//! * a part-isolating converter only ever sees one path segment, so `/` is removed from
//!   every class it uses (a custom `.+` must not cross segments);
//! * Werkzeug decodes invalid UTF-8 to U+FFFD, which `[^/]` and `.` accept. A class that
//!   holds every non-ASCII code point therefore also accepts any stray byte ≥ 0x80.
//!
//! Large byte-sequence alternations (Unicode `\d` is ~1.5 KB) are printed once per regex in
//! a `(?(DEFINE)…)` group and called with `(?N)`; `Fragment` carries the placeholders until
//! the final regex is assembled.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Repetition};
use regex_syntax::utf8::Utf8Sequences;

/// Definitions longer than this are printed once per regex instead of inline.
const INLINE_LIMIT: usize = 64;

/// Marks a definition placeholder inside fragment text. PCRE text produced here is plain
/// ASCII without control characters, so this byte cannot occur otherwise.
const MARK: char = '\u{1}';

/// A piece of PCRE text that may refer to shared definitions by placeholder.
#[derive(Debug, Default, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Fragment(pub(crate) String);

impl Fragment {
    fn push(&mut self, text: &str) {
        self.0.push_str(text);
    }

    fn push_fragment(&mut self, other: &Fragment) {
        self.0.push_str(&other.0);
    }
}

/// How a finished regex names its shared definitions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DefinitionStyle {
    /// `(?(DEFINE)(…)(…))` called as `(?1)`: the shortest, and it creates no named
    /// captures (in an nginx `map`, each named capture would become a variable).
    #[default]
    Numbered,
    /// `(?(DEFINE)(?<d1>…))` called as `(?&d1)`: for servers that compile with
    /// `PCRE2_NO_AUTO_CAPTURE` (HAProxy), where plain groups are not numbered.
    Named,
}

/// Shared definitions (big byte-sequence alternations), by index.
#[derive(Debug, Default)]
pub(crate) struct Definitions {
    bodies: Vec<String>,
    index: BTreeMap<String, usize>,
    pub(crate) style: DefinitionStyle,
    /// Converter regexes already translated, by regex and part-isolation: a big app uses
    /// a handful of converters thousands of times, and a Unicode class takes a while to
    /// print as UTF-8 byte sequences.
    translated: BTreeMap<(String, bool), Fragment>,
    /// [`segment_items`] of converter regexes, for the same reason.
    items: BTreeMap<String, Option<Vec<SegmentItem>>>,
}

impl Definitions {
    /// [`segment_items`] of `regex`, computed once per regex.
    pub(crate) fn segment_items(&mut self, regex: &str) -> Option<Vec<SegmentItem>> {
        self.items
            .entry(regex.to_owned())
            .or_insert_with(|| segment_items(regex))
            .clone()
    }

    fn reference(&mut self, body: String) -> String {
        let next = self.bodies.len();
        let id = *self.index.entry(body.clone()).or_insert(next);
        if id == next {
            self.bodies.push(body);
        }
        format!("{MARK}{id}{MARK}")
    }

    /// The definitions (by index) that `fragment` refers to.
    pub(crate) fn used_by(fragment: &Fragment) -> impl Iterator<Item = usize> + '_ {
        fragment
            .0
            .split(MARK)
            .skip(1)
            .step_by(2)
            .filter_map(|id| id.parse().ok())
    }

    /// Size a definition adds to a regex's `(?(DEFINE)…)` block.
    pub(crate) fn cost(&self, id: usize) -> usize {
        self.bodies.get(id).map_or(0, |b| b.len() + 2)
    }

    /// Turns fragment text into a finished regex: placeholders become `(?N)` calls and the
    /// definitions they use are prepended in a DEFINE group.
    pub(crate) fn finish(&self, body: &str) -> String {
        let mut numbers: BTreeMap<usize, usize> = BTreeMap::new();
        let mut order = Vec::new();
        let mut out = String::with_capacity(body.len());
        for (i, piece) in body.split(MARK).enumerate() {
            if i % 2 == 0 {
                out.push_str(piece);
                continue;
            }
            let id: usize = piece.parse().unwrap_or(usize::MAX);
            let next = numbers.len() + 1;
            let n = *numbers.entry(id).or_insert_with(|| {
                order.push(id);
                next
            });
            let _ = match self.style {
                DefinitionStyle::Numbered => write!(out, "(?{n})"),
                DefinitionStyle::Named => write!(out, "(?&d{n})"),
            };
        }
        if order.is_empty() {
            return out;
        }
        let mut define = String::from("(?(DEFINE)");
        for (n, id) in order.into_iter().enumerate() {
            match self.style {
                DefinitionStyle::Numbered => define.push('('),
                DefinitionStyle::Named => {
                    let _ = write!(define, "(?<d{}>", n + 1);
                }
            }
            define.push_str(self.bodies.get(id).map_or("(?!)", String::as_str));
            define.push(')');
        }
        define.push(')');
        // `^` stays first so PCRE still sees an anchored pattern.
        match out.strip_prefix('^') {
            Some(rest) => format!("^{define}{rest}"),
            None => format!("{define}{out}"),
        }
    }
}

/// Why a converter regex cannot be translated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Untranslatable(pub(crate) String);

/// Escapes literal text (UTF-8 bytes) for PCRE. The output is ASCII, never contains `"`, `'`
/// or `\` as a literal, and never puts `\` before `t`, `r`, `n` — the characters nginx's
/// tokenizer would reinterpret.
pub fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        push_byte(&mut out, byte);
    }
    out
}

fn push_byte(out: &mut String, byte: u8) {
    match byte {
        b'a'..=b'z'
        | b'A'..=b'Z'
        | b'0'..=b'9'
        | b'_'
        | b'/'
        | b'-'
        | b','
        | b'='
        | b'@'
        | b'%'
        | b'!'
        | b':'
        | b'~'
        | b'&' => {
            out.push(byte as char);
        }
        b'.' | b'+' | b'*' | b'?' | b'(' | b')' | b'[' | b']' | b'{' | b'}' | b'|' | b'^'
        | b'$' | b'#' | b';' => {
            out.push('\\');
            out.push(byte as char);
        }
        _ => {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
}

/// A regex over the raw query string (`$args`) that finds `key` as a parameter name,
/// however it is percent-encoded: frameworks decode names before comparing them, so
/// `%5F%5Fdebugger__` is the same key as `__debugger__`.
pub fn query_key(key: &str) -> String {
    let mut out = String::from("(?:^|&)");
    for byte in key.bytes() {
        let mut alternatives = Vec::new();
        if byte.is_ascii_alphanumeric() || b"_-.~".contains(&byte) {
            alternatives.push(literal(&(byte as char).to_string()));
        }
        if byte == b' ' {
            alternatives.push("\\+".to_owned());
        }
        alternatives.push(format!(
            "%{}{}",
            hex_digit(byte >> 4),
            hex_digit(byte & 0xf)
        ));
        out.push_str(&format!("(?:{})", alternatives.join("|")));
    }
    out.push_str("(?:=|&|\\z)");
    out
}

/// One hex digit, either case (`%2f` and `%2F` decode alike).
fn hex_digit(nibble: u8) -> String {
    match nibble {
        0..=9 => ((b'0' + nibble) as char).to_string(),
        _ => {
            let lower = (b'a' + nibble - 10) as char;
            format!("[{lower}{}]", lower.to_ascii_uppercase())
        }
    }
}

/// Translates `regex` (Python dialect) into a PCRE fragment over UTF-8 bytes. With
/// `part_isolating`, the value can never contain `/`.
pub(crate) fn converter(
    regex: &str,
    part_isolating: bool,
    defs: &mut Definitions,
) -> Result<Fragment, Untranslatable> {
    let key = (regex.to_owned(), part_isolating);
    if let Some(done) = defs.translated.get(&key) {
        return Ok(done.clone());
    }
    let fragment = translate(regex, part_isolating, defs)?;
    defs.translated.insert(key, fragment.clone());
    Ok(fragment)
}

/// A converter regex (Python dialect) as regex-syntax reads it: Unicode-aware, over UTF-8.
fn parse(regex: &str) -> Result<Hir, Untranslatable> {
    regex_syntax::ParserBuilder::new()
        .utf8(true)
        .unicode(true)
        .build()
        .parse(regex)
        .map_err(|e| {
            Untranslatable(format!(
                "cannot parse converter regex `{regex}`: {}",
                one_line(&e.to_string())
            ))
        })
}

fn translate(
    regex: &str,
    part_isolating: bool,
    defs: &mut Definitions,
) -> Result<Fragment, Untranslatable> {
    let hir = parse(regex)?;
    let mut out = Fragment::default();
    Printer {
        part_isolating,
        defs,
    }
    .hir(&hir, &mut out)?;
    Ok(out)
}

/// One piece of a path segment as routewall's nginx module matches it in compiled code,
/// without PCRE, when the segment is ASCII (a segment holding any other byte goes to the
/// segment's regex instead).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SegmentItem {
    /// Exactly these bytes.
    Text(String),
    /// A run of `min` to `max` (no `max`: any number of) bytes, each an ASCII byte whose
    /// bit is set in `ascii` (bit `b` for byte `b`).
    Run {
        /// The ASCII members of the class, one bit per byte value below 0x80.
        ascii: u128,
        /// The fewest bytes the run takes.
        min: u32,
        /// The most bytes the run takes; `None`: no limit.
        max: Option<u32>,
    },
}

/// The items a part-isolating converter regex (Python dialect) matches, when it is a
/// sequence of literals and repeated classes (`[^/]{1,}`, `\d+`, the uuid pattern); `None`
/// for anything else (alternations, assertions, repeated groups), which stays a regex.
pub(crate) fn segment_items(regex: &str) -> Option<Vec<SegmentItem>> {
    let hir = parse(regex).ok()?;
    let mut out = Vec::new();
    items_of(&hir, &mut out).then_some(out)
}

fn items_of(hir: &Hir, out: &mut Vec<SegmentItem>) -> bool {
    match hir.kind() {
        HirKind::Empty => true,
        HirKind::Literal(lit) => match std::str::from_utf8(&lit.0) {
            // A literal `/` never matches inside a segment: leave that to the regex.
            Ok(text) if !text.contains('/') => {
                out.push(SegmentItem::Text(text.to_owned()));
                true
            }
            _ => false,
        },
        HirKind::Class(Class::Unicode(class)) => {
            out.push(run(class, 1, Some(1)));
            true
        }
        HirKind::Repetition(rep) => match rep.sub.kind() {
            HirKind::Class(Class::Unicode(class)) => {
                out.push(run(class, rep.min, rep.max));
                true
            }
            _ => false,
        },
        HirKind::Capture(cap) => items_of(&cap.sub, out),
        HirKind::Concat(items) => items.iter().all(|item| items_of(item, out)),
        _ => false,
    }
}

fn run(class: &ClassUnicode, min: u32, max: Option<u32>) -> SegmentItem {
    let mut ascii = 0u128;
    for range in class.iter() {
        for b in (range.start() as u32)..=(range.end() as u32).min(0x7f) {
            ascii |= 1 << b;
        }
    }
    // A segment never holds `/`.
    ascii &= !(1u128 << b'/');
    SegmentItem::Run { ascii, min, max }
}

/// A segment's items made ready for the module's greedy matching, or `None` when greedy
/// matching would not be exact: adjacent texts are joined, and a run must be followed by
/// the end of the segment or by a text whose first byte the run cannot take (then the run
/// ends exactly where its class does).
pub(crate) fn greedy_segment(items: Vec<SegmentItem>) -> Option<Vec<SegmentItem>> {
    let mut out: Vec<SegmentItem> = Vec::with_capacity(items.len());
    for item in items {
        match (out.last_mut(), item) {
            (_, SegmentItem::Text(text)) if text.is_empty() => {}
            (Some(SegmentItem::Text(last)), SegmentItem::Text(text)) => last.push_str(&text),
            (_, item) => out.push(item),
        }
    }
    for pair in out.windows(2) {
        if let SegmentItem::Run { ascii, .. } = &pair[0] {
            match &pair[1] {
                SegmentItem::Run { .. } => return None,
                SegmentItem::Text(text) => {
                    let first = text.as_bytes()[0];
                    if first < 0x80 && ascii & (1 << first) != 0 {
                        return None;
                    }
                }
            }
        }
    }
    Some(out)
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Printer<'a> {
    part_isolating: bool,
    defs: &'a mut Definitions,
}

/// One code point's worth of a class, split by how it prints.
struct CodePoint {
    ascii: Vec<(u8, u8)>,
    /// Byte sequences of the non-ASCII members.
    non_ascii: Vec<String>,
    /// The class holds every non-ASCII scalar value (and so U+FFFD, invalid UTF-8).
    all_non_ascii: bool,
    /// First bytes of the non-ASCII members' sequences.
    leads: Vec<(u8, u8)>,
}

impl Printer<'_> {
    fn hir(&mut self, hir: &Hir, out: &mut Fragment) -> Result<(), Untranslatable> {
        match hir.kind() {
            HirKind::Empty => {}
            HirKind::Literal(lit) => {
                let text = String::from_utf8_lossy(&lit.0);
                if self.part_isolating && text.contains('/') {
                    out.push("(?!)");
                } else {
                    out.push(&literal(&text));
                }
            }
            HirKind::Class(Class::Unicode(class)) => {
                let cp = self.code_point(class);
                out.push(&self.one_code_point(&cp));
            }
            HirKind::Class(Class::Bytes(_)) => {
                return Err(Untranslatable(
                    "byte classes are not supported in converter regexes".into(),
                ));
            }
            HirKind::Look(look) => {
                return Err(Untranslatable(format!(
                    "assertion {look:?} is not supported in converter regexes"
                )));
            }
            HirKind::Repetition(rep) => self.repetition(rep, out)?,
            HirKind::Capture(cap) => {
                // Captures become plain groups: names would clash when several routes share
                // one regex, and nginx would turn them into variables.
                out.push("(?:");
                self.hir(&cap.sub, out)?;
                out.push(")");
            }
            HirKind::Concat(items) => {
                for item in items {
                    self.hir(item, out)?;
                }
            }
            HirKind::Alternation(items) => {
                out.push("(?:");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push("|");
                    }
                    self.hir(item, out)?;
                }
                out.push(")");
            }
        }
        Ok(())
    }

    fn repetition(&mut self, rep: &Repetition, out: &mut Fragment) -> Result<(), Untranslatable> {
        let quantifier = match (rep.min, rep.max) {
            (0, None) => "*".to_owned(),
            (1, None) => "+".to_owned(),
            (0, Some(1)) => "?".to_owned(),
            (min, None) => format!("{{{min},}}"),
            (min, Some(max)) if min == max => format!("{{{min}}}"),
            (min, Some(max)) => format!("{{{min},{max}}}"),
        };
        let lazy = if rep.greedy { "" } else { "?" };
        // A run of at least one "anything but …" code point is a run of the same bytes, so
        // a plain byte class is exact there; only counted repetitions need code points.
        if let (HirKind::Class(Class::Unicode(class)), None, 0..=1) =
            (rep.sub.kind(), rep.max, rep.min)
        {
            let cp = self.code_point(class);
            if cp.all_non_ascii {
                out.push(&byte_class(&cp.ascii, true));
                out.push(&quantifier);
                out.push(lazy);
                return Ok(());
            }
        }
        let mut sub = Fragment::default();
        self.hir(&rep.sub, &mut sub)?;
        // Classes, groups and single bytes print as one atom; anything longer needs a group
        // for the quantifier to apply to all of it.
        let atom = match rep.sub.kind() {
            HirKind::Class(_) | HirKind::Capture(_) | HirKind::Alternation(_) => true,
            HirKind::Literal(lit) => lit.0.len() == 1,
            _ => false,
        };
        if atom {
            out.push_fragment(&sub);
        } else {
            out.push("(?:");
            out.push_fragment(&sub);
            out.push(")");
        }
        out.push(&quantifier);
        out.push(lazy);
        Ok(())
    }

    fn code_point(&self, class: &ClassUnicode) -> CodePoint {
        let mut class = class.clone();
        if self.part_isolating {
            class.difference(&ClassUnicode::new([ClassUnicodeRange::new('/', '/')]));
        }
        let mut ascii = Vec::new();
        let mut non_ascii_ranges = Vec::new();
        for range in class.iter() {
            let (start, end) = (range.start() as u32, range.end() as u32);
            if start <= 0x7f {
                ascii.push((start as u8, end.min(0x7f) as u8));
            }
            if end > 0x7f {
                let lo = char::from_u32(start.max(0x80)).unwrap_or('\u{80}');
                non_ascii_ranges.push((lo, range.end()));
            }
        }
        let all_non_ascii = {
            let mut rest = ClassUnicode::new([ClassUnicodeRange::new('\u{80}', '\u{10FFFF}')]);
            rest.difference(&class);
            rest.iter().next().is_none()
        };
        let mut non_ascii = Vec::new();
        let mut leads = Vec::new();
        for (lo, hi) in non_ascii_ranges {
            for seq in Utf8Sequences::new(lo, hi) {
                if let Some(first) = seq.as_slice().first() {
                    leads.push((first.start, first.end));
                }
                let mut text = String::new();
                for r in seq.as_slice() {
                    if r.start == r.end {
                        let _ = write!(text, "\\x{:02x}", r.start);
                    } else {
                        let _ = write!(text, "[\\x{:02x}-\\x{:02x}]", r.start, r.end);
                    }
                }
                non_ascii.push(text);
            }
        }
        if all_non_ascii {
            leads = vec![(0x80, 0xff)];
        }
        CodePoint {
            ascii,
            non_ascii,
            all_non_ascii,
            leads,
        }
    }

    fn one_code_point(&mut self, cp: &CodePoint) -> String {
        let mut alternatives = Vec::new();
        if !cp.ascii.is_empty() {
            alternatives.push(byte_class(&cp.ascii, false));
        }
        if !cp.non_ascii.is_empty() {
            let mut body = cp.non_ascii.join("|");
            if cp.all_non_ascii {
                // Invalid UTF-8 decodes to U+FFFD, a member: any stray byte counts as one
                // code point (an approximation for counted repetitions, see the module docs).
                body.push_str("|[\\x80-\\xff]");
            }
            // PCRE tries an alternation's branches one by one; a lookahead on the possible
            // first bytes makes the common case (an ASCII byte that ends a run of digits)
            // fail once instead of once per branch.
            let guard = format!("(?={})", bytes_class(&cp.leads));
            if body.len() > INLINE_LIMIT {
                alternatives.push(format!(
                    "{guard}{}",
                    self.defs.reference(format!("(?>{body})"))
                ));
            } else {
                alternatives.push(format!("{guard}(?>{body})"));
            }
        }
        match alternatives.len() {
            0 => "(?!)".to_owned(),
            1 => alternatives.remove(0),
            _ => format!("(?:{})", alternatives.join("|")),
        }
    }
}

/// Which of the 256 byte values `ranges` holds.
fn members_of(ranges: &[(u8, u8)]) -> [bool; 256] {
    let mut members = [false; 256];
    for &(lo, hi) in ranges {
        for b in lo..=hi {
            members[b as usize] = true;
        }
    }
    members
}

/// A byte class of `ranges`, as written.
fn bytes_class(ranges: &[(u8, u8)]) -> String {
    print_class(&members_of(ranges), false)
}

/// A byte class over ASCII ranges, plus every byte ≥ 0x80 with `high`. Printed negated
/// when that is shorter (`[^/]`).
fn byte_class(ascii: &[(u8, u8)], high: bool) -> String {
    let mut members = members_of(ascii);
    if high {
        for m in members.iter_mut().skip(0x80) {
            *m = true;
        }
    }
    let count = members.iter().filter(|m| **m).count();
    if count == 256 {
        return "[\\x00-\\xff]".to_owned();
    }
    if count == 1
        && let Some(b) = members.iter().position(|m| *m)
    {
        let mut s = String::new();
        push_byte(&mut s, b as u8);
        return s;
    }
    print_class(&members, count > 128)
}

/// Prints the bytes that are (or, with `negate`, are not) members, as ranges.
fn print_class(members: &[bool; 256], negate: bool) -> String {
    let mut out = String::from(if negate { "[^" } else { "[" });
    let mut b = 0usize;
    while b < 256 {
        if members[b] != negate {
            let start = b;
            while b + 1 < 256 && members[b + 1] != negate {
                b += 1;
            }
            if start == b {
                let _ = write!(out, "\\x{start:02x}");
            } else {
                let _ = write!(out, "\\x{start:02x}-\\x{b:02x}");
            }
        }
        b += 1;
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn translate(regex: &str, part_isolating: bool) -> String {
        let mut defs = Definitions::default();
        let frag = converter(regex, part_isolating, &mut defs).expect("translates");
        defs.finish(&format!("^{}\\z", frag.0))
    }

    #[test]
    fn string_converter_is_a_byte_run_without_slash() {
        assert_eq!(translate("[^/]{1,}", true), r"^[^\x2f]+\z");
    }

    #[test]
    fn counted_code_points_are_not_bytes() {
        let re = translate("[^/]{2}", true);
        assert!(re.contains("{2}") && re.contains("(?>"), "{re}");
    }

    #[test]
    fn part_isolating_custom_dot_cannot_cross_segments() {
        assert_eq!(translate(".+", true), r"^[^\x0a\x2f]+\z");
        // Werkzeug's path converter: one code point that is not `/`, then any run without
        // a newline (which may cross segments).
        let path = translate("[^/].*?", false);
        assert!(
            path.ends_with(r"(?:[\x00-\x2e\x30-\x7f]|(?=[\x80-\xff])(?1))[^\x0a]*?\z"),
            "{path}"
        );
    }

    #[test]
    fn unicode_digits_use_a_shared_definition() {
        let re = translate(r"\d+-\d+", true);
        assert!(re.starts_with("^(?(DEFINE)((?>"), "{re}");
        assert_eq!(re.matches("(?1)").count(), 2, "{re}");
        assert!(
            re.contains("\\xef\\xbc[\\x90-\\x99]"),
            "fullwidth digits: {re}"
        );
    }

    #[test]
    fn named_groups_become_plain_groups_and_literals_are_escaped() {
        assert_eq!(translate(r"(?P<x>a\.b|c\+)", true), r"^(?:(?:a\.b|c\+))\z");
    }

    #[test]
    fn literal_escaping_is_safe_for_the_nginx_tokenizer() {
        assert_eq!(literal("/a b\"c'd\\t$"), r"/a\x20b\x22c\x27d\x5ct\$");
        assert_eq!(literal("/café"), r"/caf\xc3\xa9");
    }

    #[test]
    fn query_keys_match_in_any_encoding() {
        assert_eq!(query_key("_d"), "(?:^|&)(?:_|%5[fF])(?:d|%64)(?:=|&|\\z)");
    }

    #[test]
    fn a_class_of_every_byte_is_valid_pcre() {
        assert_eq!(translate("(?s:.*)", false), "^[\\x00-\\xff]*\\z");
    }

    #[test]
    fn built_in_converters_are_segment_items() {
        let digits = segment_items(r"\d+").expect("int");
        let ascii_digits = (0x30..=0x39).fold(0u128, |bits, b| bits | 1 << b);
        assert_eq!(
            digits,
            [SegmentItem::Run {
                ascii: ascii_digits,
                min: 1,
                max: None
            }]
        );
        let uuid = segment_items(
            "[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}",
        )
        .and_then(greedy_segment)
        .expect("uuid");
        assert_eq!(uuid.len(), 9);
        assert_eq!(uuid[1], SegmentItem::Text("-".into()));
        assert!(
            segment_items("(?:ab|cd)").is_none(),
            "alternations stay regexes"
        );
        assert!(segment_items("a/b").is_none());
    }

    #[test]
    fn greedy_matching_needs_a_run_to_stop_where_its_class_does() {
        let word = segment_items("[a-z]+").expect("run");
        let then = |text: &str| {
            let mut items = word.clone();
            items.push(SegmentItem::Text(text.into()));
            greedy_segment(items)
        };
        assert!(then(".json").is_some());
        assert!(then("x.json").is_none(), "the run could take the `x`");
        assert!(greedy_segment([word.clone(), word].concat()).is_none());
    }

    #[test]
    fn lookarounds_are_refused() {
        let mut defs = Definitions::default();
        let err = converter(r"\bx", true, &mut defs).expect_err("refused");
        assert!(err.0.contains("not supported"), "{}", err.0);
    }
}
