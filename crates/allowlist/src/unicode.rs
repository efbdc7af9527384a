//! Unicode-mode regexes, for routes whose byte-level form does not fit in one nginx regex.
//!
//! Python's `\w` has some 730 ranges of non-ASCII code points: spelled as UTF-8 byte
//! sequences it takes about 18 KB, and nginx reads no configuration token longer than
//! 4 KB, so a route like Django's `(?P<slug>[-\w]+)` has no byte-level translation. PCRE
//! has the class itself: in Unicode mode (`(*UTF)(*UCP)`), `\w` is letters, numbers and
//! `_`, which is exactly Python's `\w` (`str.isalnum()` and `_`) when both read the same
//! Unicode version — and PCRE 10.43 added combining marks to it. So the server's own
//! PCRE is asked first (the emitter does, see [`PcreUnicode`]): only a class it matches
//! code point for code point is written as `\w` (or `\d`); every other class is spelled out
//! as code point ranges, and a class with too many ranges of its own is refused.
//!
//! A Unicode-mode regex must never see invalid UTF-8 (PCRE answers with an error, and
//! nginx with a 500): the emitter puts these regexes behind a byte-level check that lets
//! only well-formed paths reach them, [`VALID_UTF8_GUARD`]. A path with invalid UTF-8 that
//! only such a route would match is refused, where Werkzeug would match U+FFFD and Django
//! `%XX` text: a counted refusal. Like every routewall regex they are anchored (`^…\z`).

use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind};
use routewall_core::Segment;

use crate::pattern::{self, Definitions, Untranslatable};

/// Which of Python's classes the server's PCRE, in Unicode mode, matches exactly: then
/// they are written as PCRE's own `\w` and `\d` instead of their ranges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PcreUnicode {
    /// PCRE's `\w` (with `(*UCP)`) is Python's `\w`, code point for code point.
    pub word: bool,
    /// PCRE's `\d` (with `(*UCP)`) is Python's `\d`, code point for code point.
    pub digit: bool,
}

/// Matches (in byte mode) every path that is *not* well-formed UTF-8: the longest run of
/// well-formed sequences from the start stops before the end. Its alternatives start with
/// different bytes and the run is possessive, so it reads each byte once.
pub const VALID_UTF8_GUARD: &str = concat!(
    r"^(?:[\x00-\x7f]|[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]",
    r"|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]",
    r"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2})*+",
    r"(?!\z)",
);

/// A class with more ranges than this (after taking PCRE's own classes out) is refused:
/// written out, it would crowd the 4,000 bytes of one regex.
const MAX_RANGES: usize = 64;

/// The anchored Unicode-mode regex of a path made of `segments`.
pub(crate) fn route_regex(
    segments: &[Segment],
    defs: &Definitions,
    pcre: PcreUnicode,
) -> Result<String, Untranslatable> {
    let mut out = String::from("(*UTF)(*UCP)^");
    for segment in segments {
        match segment {
            Segment::Static { text } => text.chars().for_each(|c| push_char(&mut out, c)),
            Segment::Param(param) => {
                let conv = &param.converter;
                let hir = pattern::parse(&conv.regex, defs.classes())
                    .map_err(|e| Untranslatable(format!("parameter `{}`: {}", param.name, e.0)))?;
                let printer = Printer {
                    part_isolating: conv.part_isolating,
                    defs,
                    pcre,
                };
                out.push_str("(?:");
                printer.hir(&hir, &mut out).map_err(|Untranslatable(e)| {
                    Untranslatable(format!("parameter `{}`: {e}", param.name))
                })?;
                out.push(')');
            }
        }
    }
    out.push_str("\\z");
    Ok(out)
}

struct Printer<'a> {
    part_isolating: bool,
    defs: &'a Definitions,
    pcre: PcreUnicode,
}

impl Printer<'_> {
    fn hir(&self, hir: &Hir, out: &mut String) -> Result<(), Untranslatable> {
        match hir.kind() {
            HirKind::Empty => {}
            HirKind::Literal(literal) => {
                let text = std::str::from_utf8(&literal.0)
                    .map_err(|_| Untranslatable("a literal that is not UTF-8".to_owned()))?;
                if self.part_isolating && text.contains('/') {
                    // A part-isolating value never holds `/`: this branch cannot match.
                    out.push_str("(?!)");
                } else {
                    text.chars().for_each(|c| push_char(out, c));
                }
            }
            HirKind::Class(Class::Unicode(class)) => self.class(class, out)?,
            HirKind::Class(Class::Bytes(_)) => {
                return Err(Untranslatable("a byte class".to_owned()));
            }
            HirKind::Look(look) => {
                return Err(Untranslatable(format!(
                    "the assertion {look:?} is not supported"
                )));
            }
            HirKind::Repetition(rep) => {
                out.push_str("(?:");
                self.hir(&rep.sub, out)?;
                out.push(')');
                match (rep.min, rep.max) {
                    (0, None) => out.push('*'),
                    (1, None) => out.push('+'),
                    (0, Some(1)) => out.push('?'),
                    (min, None) => out.push_str(&format!("{{{min},}}")),
                    (min, Some(max)) if min == max => out.push_str(&format!("{{{min}}}")),
                    (min, Some(max)) => out.push_str(&format!("{{{min},{max}}}")),
                }
                if !rep.greedy {
                    out.push('?');
                }
            }
            HirKind::Capture(capture) => {
                out.push_str("(?:");
                self.hir(&capture.sub, out)?;
                out.push(')');
            }
            HirKind::Concat(items) => {
                for item in items {
                    self.hir(item, out)?;
                }
            }
            HirKind::Alternation(items) => {
                out.push_str("(?:");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push('|');
                    }
                    self.hir(item, out)?;
                }
                out.push(')');
            }
        }
        Ok(())
    }

    /// One code point of `class`: as its ranges, their complement, or PCRE's own `\w` /
    /// `\d` (or their negations) corrected by a few ranges, whichever is shortest.
    fn class(&self, class: &ClassUnicode, out: &mut String) -> Result<(), Untranslatable> {
        let mut class = class.clone();
        if self.part_isolating {
            class.difference(&ClassUnicode::new([ClassUnicodeRange::new('/', '/')]));
        }
        let classes = self.defs.classes();
        let mut bases: Vec<(&str, ClassUnicode)> = Vec::new();
        for (enabled, base, name, negated) in [
            (self.pcre.word, classes.word(), r"\w", r"\W"),
            (self.pcre.digit, classes.digit(), r"\d", r"\D"),
        ] {
            if let (true, Some(base)) = (enabled, base) {
                let mut complement = base.clone();
                complement.negate();
                bases.push((name, base.clone()));
                bases.push((negated, complement));
            }
        }
        let mut complement = class.clone();
        complement.negate();
        // (cost, text)
        let mut best = (class.ranges().len(), ranges_class(&class, false));
        if complement.ranges().len() < best.0 {
            best = (complement.ranges().len(), ranges_class(&complement, true));
        }
        for (name, base) in bases {
            let mut extra = class.clone();
            extra.difference(&base);
            let mut missing = base.clone();
            missing.difference(&class);
            let cost = extra.ranges().len() + missing.ranges().len();
            if cost < best.0 {
                let mut text = String::new();
                if !missing.ranges().is_empty() {
                    text.push_str("(?!");
                    text.push_str(&ranges_class(&missing, false));
                    text.push(')');
                }
                if extra.ranges().is_empty() {
                    text.push_str(name);
                } else {
                    text.push('[');
                    text.push_str(name);
                    push_ranges(&mut text, &extra);
                    text.push(']');
                }
                best = (cost, text);
            }
        }
        if best.0 > MAX_RANGES {
            return Err(Untranslatable(format!(
                "a class of {} ranges of code points, too many to spell out in one regex (PCRE's own `\\w` and `\\d` are only used where they match Python's)",
                best.0
            )));
        }
        out.push_str(&best.1);
        Ok(())
    }
}

/// `[…]` (or `[^…]`) of `class`'s ranges; `(?!)` for an empty class.
fn ranges_class(class: &ClassUnicode, negated: bool) -> String {
    if class.ranges().is_empty() {
        return if negated { r"[\s\S]" } else { "(?!)" }.to_owned();
    }
    let mut text = String::from(if negated { "[^" } else { "[" });
    push_ranges(&mut text, class);
    text.push(']');
    text
}

fn push_ranges(out: &mut String, class: &ClassUnicode) {
    for range in class.ranges() {
        push_char(out, range.start());
        if range.end() > range.start() {
            if u32::from(range.end()) > u32::from(range.start()) + 1 {
                out.push('-');
            }
            push_char(out, range.end());
        }
    }
}

/// A character outside a class: ASCII letters and digits as they are, anything else as
/// `\x{…}` (never a byte nginx's tokenizer or PCRE reads otherwise).
fn push_char(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() {
        out.push(c);
    } else {
        out.push_str(&format!("\\x{{{:x}}}", u32::from(c)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use routewall_core::{Converter, Param, PythonClasses, RouteTable};

    /// Python's `\w` and `\d`, from regex-syntax's tables: enough for the printer's
    /// logic (the emitter's tests compare the real ones with PCRE's).
    fn defs() -> Definitions {
        let ranges = |class: &ClassUnicode| {
            class
                .ranges()
                .iter()
                .map(|r| (u32::from(r.start()), u32::from(r.end())))
                .collect::<Vec<_>>()
        };
        let hir = |re: &str| match regex_syntax::parse(re).expect("parses").into_kind() {
            HirKind::Class(Class::Unicode(c)) => c,
            _ => unreachable!(),
        };
        let mut table = RouteTable::new("test", "app");
        let mut classes = PythonClasses::default();
        classes.digit = Some(ranges(&hir(r"\d")));
        classes.word = Some(ranges(&hir(r"\w")));
        table.python_classes = Some(Box::new(classes));
        Definitions::for_table(&table)
    }

    fn regex(regex: &str, pcre: PcreUnicode) -> Result<String, Untranslatable> {
        let segments = vec![
            Segment::text("/tags/"),
            Segment::Param(Param::new("slug", Converter::new("re", regex))),
            Segment::text("/"),
        ];
        route_regex(&segments, &defs(), pcre)
    }

    const BOTH: PcreUnicode = PcreUnicode {
        word: true,
        digit: true,
    };

    #[test]
    fn pythons_word_class_is_pcres_own_when_they_agree() {
        assert_eq!(
            regex(r"[-\w]+", BOTH).expect("translates"),
            r"(*UTF)(*UCP)^\x{2f}tags\x{2f}(?:(?:[\w\x{2d}])+)\x{2f}\z"
        );
        assert_eq!(
            regex(r"\d{4}", BOTH).expect("translates"),
            r"(*UTF)(*UCP)^\x{2f}tags\x{2f}(?:(?:\d){4})\x{2f}\z"
        );
    }

    #[test]
    fn a_class_pcre_does_not_match_alike_is_refused_when_too_big() {
        let err = regex(r"[-\w]+", PcreUnicode::default()).expect_err("too big");
        assert!(err.0.contains("too many"), "{}", err.0);
    }

    #[test]
    fn small_classes_are_spelled_out_and_slashes_kept_out() {
        let mut conv = Converter::new("re", "[^.]+");
        conv.part_isolating = true;
        let segments = vec![Segment::text("/"), Segment::Param(Param::new("x", conv))];
        assert_eq!(
            route_regex(&segments, &defs(), BOTH).expect("translates"),
            r"(*UTF)(*UCP)^\x{2f}(?:(?:[^\x{2e}\x{2f}])+)\z"
        );
    }

    #[test]
    fn a_word_class_without_some_of_it_uses_a_lookahead() {
        let text = regex(r"[^\W_]+", BOTH).expect("translates");
        assert!(text.contains(r"(?!") && text.contains(r"\w"), "{text}");
    }

    #[test]
    fn assertions_are_refused() {
        assert!(regex(r"\bx", BOTH).is_err());
    }
}
