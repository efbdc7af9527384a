//! Translating converter regexes into byte-level PCRE (for nginx, HAProxy).
//!
//! nginx matches locations and `map` regexes against the percent-decoded URI as *bytes*
//! (no `(*UTF)`: one such regex turns every invalid-UTF-8 request that reaches it into a
//! 500, see `shared/semantics.md` §3.3). Werkzeug matches Python `str` regexes against
//! *code points*, with Unicode-aware classes (`\d` is every decimal digit). So a converter
//! regex cannot be copied through: it is parsed with `regex-syntax` (whose Unicode tables
//! give case folding, and `\d`, `\s`, `\w` when the table carries no Python classes) and
//! printed back as PCRE over UTF-8 bytes, where one code point of a class becomes the
//! alternation of its UTF-8 byte sequences.
//!
//! What keeps the result exact:
//! * `\d`, `\s` and `\w` (and `\D`, `\S`, `\W`, also inside brackets) are Python's own when
//!   the route table carries them ([`RouteTable::python_classes`]): Unicode's properties
//!   are not Python's classes (Python's `\s` holds `\x1c`–`\x1f`, its `\w` is
//!   `str.isalnum()`), and the interpreter's Unicode version is not regex-syntax's;
//! * what Python's `re` reads differently from regex-syntax is refused: `(?i)` (Python
//!   folds case its own way, `(?i)i` matches `İ`), `(?x)` (Python keeps spaces inside
//!   classes), and `[`, `&&`, `--`, `~~` or `[:…:]` inside a class (plain characters to
//!   Python, nested classes and set operations to regex-syntax). `.` (all but `\n`), `(?s)`,
//!   `{,n}` (`{0,n}`) and lazy quantifiers mean the same to both; `^`, `$` (which Python
//!   also matches before a final `\n`) and every other assertion are refused;
//! * a part-isolating converter only ever sees one path segment, so `/` is removed from
//!   every class it uses (a custom `.+` must not cross segments);
//! * one code point is one *decoder unit*: Werkzeug decodes the path with
//!   `errors="replace"`, and Python's decoder, like Unicode's recommended practice, makes
//!   one U+FFFD of each *maximal subpart* of an ill-formed sequence (the longest start of a
//!   well-formed sequence: `F0 9F 98` is one U+FFFD, `C0 80` two, `ED A0 80` three). A
//!   class atom takes a whole unit, atomically and longest first as the decoder does: a
//!   well-formed sequence of a member, or, when the class holds U+FFFD, an ill-formed unit.
//!   A stray continuation byte is a unit of its own only where it does not continue the
//!   bytes before it (a lookbehind).
//!
//! A run of "anything but …" code points (`[^/]+`, `.*`) is printed as a plain byte run,
//! which is exact on its own but may stop inside a unit. What follows it copes: a literal
//! or a class atom cannot start inside a unit (see above), and a second run cannot take
//! the rest of a unit whose start the first one took (`[^/]+[^/]+` on `é`, one code point,
//! must fail): a run of at least one code point after one gets a lookahead refusing to
//! start inside a unit. When the second run starts another converter's fragment
//! (`/<a><b>`), the fragments carry placeholders that `Definitions::finish` turns into
//! that lookahead only where the two meet, so that a lone `[^/]+` stays a plain byte run.
//!
//! Large byte-sequence alternations (Unicode `\d` is ~1.5 KB) and the decoder's units are
//! printed once per regex in a `(?(DEFINE)…)` group and called with `(?N)`; `Fragment`
//! carries the placeholders until the final regex is assembled.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use regex_syntax::ast::{self, Ast, ClassPerl, ClassPerlKind, ClassSet, ClassSetItem};
use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Repetition};
use regex_syntax::utf8::Utf8Sequences;
use routewall_core::{PythonClasses, RouteTable};

/// Definitions longer than this are printed once per regex instead of inline.
const INLINE_LIMIT: usize = 64;

/// Marks a definition placeholder inside fragment text. PCRE text produced here is plain
/// ASCII without control characters, so this byte cannot occur otherwise.
const MARK: char = '\u{1}';

/// Placeholder (between [`MARK`]s) ending a fragment that may stop inside a decoder unit,
/// after a byte run of at least one code point.
const SPLIT_END: &str = "z";

/// Placeholder prefix (between [`MARK`]s, before the id of [`INSIDE_UNIT`]'s definition)
/// starting a fragment with a byte run of at least one code point: right after a
/// [`SPLIT_END`], the run must not start inside a unit.
const RUN_START: &str = "a";

/// Stands for the call of [`INSIDE_UNIT`]'s definition in [`HIGH_UNIT`].
const INSIDE_UNIT_CALL: &str = "INSIDE_UNIT";

/// One decoder unit that starts with a byte ≥ 0x80, as Python's UTF-8 decoder consumes it
/// with `errors="replace"`: a well-formed sequence, else the longest start of one (one
/// U+FFFD), else one byte (one U+FFFD). The branches start with different bytes and take
/// as many continuation bytes as fit, inside an atomic group; a continuation byte alone is
/// a unit only where it does not continue what precedes it.
const HIGH_UNIT: &str = concat!(
    r"(?>[\xc2-\xdf][\x80-\xbf]?",
    r"|\xe0(?:[\xa0-\xbf][\x80-\xbf]?)?",
    r"|[\xe1-\xec\xee\xef][\x80-\xbf]{0,2}",
    r"|\xed(?:[\x80-\x9f][\x80-\xbf]?)?",
    r"|\xf0(?:[\x90-\xbf][\x80-\xbf]{0,2})?",
    r"|[\xf1-\xf3][\x80-\xbf]{0,3}",
    r"|\xf4(?:[\x80-\x8f][\x80-\xbf]{0,2})?",
    r"|[\xc0\xc1\xf5-\xff]",
    r"|(?!INSIDE_UNIT)[\x80-\xbf])",
);

/// A well-formed UTF-8 sequence of two to four bytes.
const VALID_HIGH: &str = concat!(
    r"[\xc2-\xdf][\x80-\xbf]",
    r"|\xe0[\xa0-\xbf][\x80-\xbf]",
    r"|[\xe1-\xec\xee\xef][\x80-\xbf]{2}",
    r"|\xed[\x80-\x9f][\x80-\xbf]",
    r"|\xf0[\x90-\xbf][\x80-\xbf]{2}",
    r"|[\xf1-\xf3][\x80-\xbf]{3}",
    r"|\xf4[\x80-\x8f][\x80-\xbf]{2}",
);

/// Matches (one byte) where the position is inside a decoder unit: the byte there
/// continues the well-formed start of a sequence that the bytes before it hold (a lead
/// byte always starts a unit). Each lookbehind holds branches of one length.
const INSIDE_UNIT: &str = concat!(
    r"(?<=[\xc2-\xdf\xe1-\xec\xee\xef\xf1-\xf3])[\x80-\xbf]",
    r"|(?<=\xe0[\xa0-\xbf]|\xed[\x80-\x9f]|[\xe1-\xec\xee\xef\xf1-\xf3][\x80-\xbf]",
    r"|\xf0[\x90-\xbf]|\xf4[\x80-\x8f])[\x80-\xbf]",
    r"|(?<=\xf0[\x90-\xbf][\x80-\xbf]|[\xf1-\xf3][\x80-\xbf][\x80-\xbf]",
    r"|\xf4[\x80-\x8f][\x80-\xbf])[\x80-\xbf]",
    r"|(?<=\xe0)[\xa0-\xbf]|(?<=\xed)[\x80-\x9f]|(?<=\xf0)[\x90-\xbf]|(?<=\xf4)[\x80-\x8f]",
);

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

/// Shared definitions (big byte-sequence alternations, the decoder's units), by index,
/// and what every translation of one route table shares.
#[derive(Debug, Default)]
pub(crate) struct Definitions {
    bodies: Vec<String>,
    index: BTreeMap<String, usize>,
    pub(crate) style: DefinitionStyle,
    /// Python's `\d`, `\s` and `\w`, when the table carries them.
    classes: PerlClasses,
    /// Converter regexes already translated, by regex and part-isolation: a big app uses
    /// a handful of converters thousands of times, and a Unicode class takes a while to
    /// print as UTF-8 byte sequences.
    translated: BTreeMap<(String, bool), Fragment>,
    /// [`segment_items`] of converter regexes, for the same reason.
    items: BTreeMap<String, Option<Vec<SegmentItem>>>,
}

impl Definitions {
    /// Definitions for translating `table`'s converter regexes: with the table's Python
    /// classes, when it carries them.
    pub(crate) fn for_table(table: &RouteTable) -> Self {
        let mut defs = Self::default();
        defs.set_python_classes(table.python_classes.as_deref());
        defs
    }

    /// Translates `\d`, `\s` and `\w` as `classes` has them (those it has; regex-syntax's
    /// Unicode tables for the others, and for all of them with `None`).
    pub(crate) fn set_python_classes(&mut self, classes: Option<&PythonClasses>) {
        self.classes = classes.map(PerlClasses::new).unwrap_or_default();
        self.translated.clear();
        self.items.clear();
    }

    /// Python's classes, as the table carries them.
    pub(crate) fn classes(&self) -> &PerlClasses {
        &self.classes
    }

    /// [`segment_items`] of `regex`, computed once per regex.
    pub(crate) fn segment_items(&mut self, regex: &str) -> Option<Vec<SegmentItem>> {
        if let Some(items) = self.items.get(regex) {
            return items.clone();
        }
        let items = segment_items(regex, &self.classes);
        self.items.insert(regex.to_owned(), items.clone());
        items
    }

    /// The index of the definition of `body`, added if new.
    fn define(&mut self, body: String) -> usize {
        let next = self.bodies.len();
        let id = *self.index.entry(body.clone()).or_insert(next);
        if id == next {
            self.bodies.push(body);
        }
        id
    }

    /// A placeholder calling the definition of `body`.
    fn reference(&mut self, body: String) -> String {
        let id = self.define(body);
        format!("{MARK}{id}{MARK}")
    }

    /// The definitions (by index) that `fragment` refers to (not those they call in turn:
    /// [`Definitions::cost`] counts those).
    pub(crate) fn used_by(fragment: &Fragment) -> impl Iterator<Item = usize> + '_ {
        placeholders(&fragment.0)
    }

    /// Size a definition adds to a regex's `(?(DEFINE)…)` block, with the definitions it
    /// calls (counted again for each caller: an estimate from above).
    pub(crate) fn cost(&self, id: usize) -> usize {
        self.bodies.get(id).map_or(0, |body| {
            body.len() + 2 + placeholders(body).map(|n| self.cost(n)).sum::<usize>()
        })
    }

    /// Turns fragment text into a finished regex: placeholders become `(?N)` calls, the
    /// definitions they use (and those these call) are prepended in a DEFINE group, and
    /// where a fragment that may end inside a decoder unit meets one that starts with a
    /// byte run, the run gets its lookahead.
    pub(crate) fn finish(&self, body: &str) -> String {
        let mut numbers: BTreeMap<usize, usize> = BTreeMap::new();
        let mut order = Vec::new();
        let out = self.render(body, &mut numbers, &mut order);
        if order.is_empty() {
            return out;
        }
        let mut define = String::from("(?(DEFINE)");
        // Rendering a definition may number more of them: they go last, in that order.
        let mut n = 0;
        while let Some(&id) = order.get(n) {
            n += 1;
            let body = self.bodies.get(id).map_or("(?!)", String::as_str);
            let text = self.render(body, &mut numbers, &mut order);
            match self.style {
                DefinitionStyle::Numbered => define.push('('),
                DefinitionStyle::Named => {
                    let _ = write!(define, "(?<d{n}>");
                }
            }
            define.push_str(&text);
            define.push(')');
        }
        define.push(')');
        // `^` stays first so PCRE still sees an anchored pattern.
        match out.strip_prefix('^') {
            Some(rest) => format!("^{define}{rest}"),
            None => format!("{define}{out}"),
        }
    }

    /// `text` with its placeholders replaced, numbering the definitions it calls (in
    /// `numbers`, and in `order` as they are first met).
    fn render(
        &self,
        text: &str,
        numbers: &mut BTreeMap<usize, usize>,
        order: &mut Vec<usize>,
    ) -> String {
        let mut out = String::with_capacity(text.len());
        let mut split_end = false;
        for (i, piece) in text.split(MARK).enumerate() {
            if i % 2 == 0 {
                if !piece.is_empty() {
                    out.push_str(piece);
                    split_end = false;
                }
                continue;
            }
            if piece == SPLIT_END {
                split_end = true;
                continue;
            }
            let (run_start, id) = match piece.strip_prefix(RUN_START) {
                Some(id) => (true, id),
                None => (false, piece),
            };
            if run_start && !std::mem::take(&mut split_end) {
                continue;
            }
            split_end = false;
            let id: usize = id.parse().unwrap_or(usize::MAX);
            let n = *numbers.entry(id).or_insert_with(|| {
                order.push(id);
                order.len()
            });
            let call = match self.style {
                DefinitionStyle::Numbered => format!("(?{n})"),
                DefinitionStyle::Named => format!("(?&d{n})"),
            };
            if run_start {
                let _ = write!(out, "(?!{call})");
            } else {
                out.push_str(&call);
            }
        }
        out
    }
}

/// The definitions that the placeholders in `text` call.
fn placeholders(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.split(MARK)
        .skip(1)
        .step_by(2)
        .filter_map(|p| p.strip_prefix(RUN_START).unwrap_or(p).parse().ok())
}

/// Python's `\d`, `\s` and `\w` as classes (each `None` when the table lacks it).
#[derive(Debug, Default)]
pub(crate) struct PerlClasses {
    digit: Option<ClassUnicode>,
    space: Option<ClassUnicode>,
    word: Option<ClassUnicode>,
}

impl PerlClasses {
    /// Python's `\w`, when the table carries it.
    pub(crate) fn word(&self) -> Option<&ClassUnicode> {
        self.word.as_ref()
    }

    /// Python's `\d`, when the table carries it.
    pub(crate) fn digit(&self) -> Option<&ClassUnicode> {
        self.digit.as_ref()
    }

    fn new(classes: &PythonClasses) -> Self {
        let class = |ranges: &Option<Vec<(u32, u32)>>| ranges.as_deref().map(class_of);
        Self {
            digit: class(&classes.digit),
            space: class(&classes.space),
            word: class(&classes.word),
        }
    }

    /// `perl` (`\d`, `\S`, …) as a bracketed class of the Python ranges; `None` when the
    /// table lacks that class.
    fn bracketed(&self, perl: &ClassPerl) -> Option<ast::ClassBracketed> {
        let class = match perl.kind {
            ClassPerlKind::Digit => self.digit.as_ref(),
            ClassPerlKind::Space => self.space.as_ref(),
            ClassPerlKind::Word => self.word.as_ref(),
        }?;
        let span = perl.span;
        let literal = |c| ast::Literal {
            span,
            kind: ast::LiteralKind::Verbatim,
            c,
        };
        let items = class
            .iter()
            .map(|r| {
                if r.start() == r.end() {
                    ClassSetItem::Literal(literal(r.start()))
                } else {
                    ClassSetItem::Range(ast::ClassSetRange {
                        span,
                        start: literal(r.start()),
                        end: literal(r.end()),
                    })
                }
            })
            .collect();
        Some(ast::ClassBracketed {
            span,
            negated: perl.negated,
            kind: ClassSet::Item(ClassSetItem::Union(ast::ClassSetUnion { span, items })),
        })
    }
}

/// A class of inclusive code point ranges (as [`PythonClasses`] holds them); surrogates and
/// values beyond U+10FFFF (never decoded from a path) are left out.
pub fn class_of(ranges: &[(u32, u32)]) -> ClassUnicode {
    let mut out = Vec::new();
    for &(lo, hi) in ranges {
        for (start, end) in [(lo, hi.min(0xd7ff)), (lo.max(0xe000), hi.min(0x10ffff))] {
            if let (true, Some(start), Some(end)) =
                (start <= end, char::from_u32(start), char::from_u32(end))
            {
                out.push(ClassUnicodeRange::new(start, end));
            }
        }
    }
    ClassUnicode::new(out)
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

/// [`converter`] for a regex that is one greedy run of a class (possibly in a group), with
/// the run possessive: for a run that must end where its segment ends, the longest run is
/// the only candidate, and a possessive run keeps PCRE's backtracking depth constant
/// (a plain repeat of a code-point group nests a level per code point, which a depth
/// limit such as the nginx module's then cuts off on a long number).
pub(crate) fn possessive_run(
    regex: &str,
    part_isolating: bool,
    defs: &mut Definitions,
) -> Result<Fragment, Untranslatable> {
    let key = (format!("{regex}\u{0}possessive"), part_isolating);
    if let Some(done) = defs.translated.get(&key) {
        return Ok(done.clone());
    }
    let fragment = translate_with(regex, part_isolating, true, defs)?;
    defs.translated.insert(key, fragment.clone());
    Ok(fragment)
}

/// A converter regex (Python dialect) as regex-syntax reads it: Unicode-aware, over UTF-8,
/// with Python's own `\d`, `\s` and `\w` where `classes` has them.
///
/// Python's classes go in through the syntax tree, before regex-syntax resolves classes:
/// a class escape is one node there, at the top level and inside brackets alike
/// (`[\w.-]`, `[^\s/]`), which is replaced by a bracketed class of the Python ranges; in
/// the HIR it is already merged into its class. The tree is also where Python's readings
/// of the syntax are checked (see [`python_reading`]).
pub(crate) fn parse(regex: &str, classes: &PerlClasses) -> Result<Hir, Untranslatable> {
    let unparsable = |e: &dyn std::fmt::Display| {
        Untranslatable(format!(
            "cannot parse converter regex `{regex}`: {}",
            one_line(&e.to_string())
        ))
    };
    // Python reads `{,n}` as `{0,n}`.
    let mut ast = ast::parse::ParserBuilder::new()
        .empty_min_range(true)
        .build()
        .parse(regex)
        .map_err(|e| unparsable(&e))?;
    python_reading(&ast)
        .map_err(|why| Untranslatable(format!("converter regex `{regex}`: {why}")))?;
    substitute(&mut ast, classes);
    regex_syntax::hir::translate::TranslatorBuilder::new()
        .utf8(true)
        .unicode(true)
        .build()
        .translate(regex, &ast)
        .map_err(|e| unparsable(&e))
}

/// Refuses the syntax that Python's `re` reads differently from regex-syntax.
fn python_reading(ast: &Ast) -> Result<(), String> {
    match ast {
        Ast::Flags(set) => python_flags(&set.flags),
        Ast::Group(group) => {
            if let ast::GroupKind::NonCapturing(flags) = &group.kind {
                python_flags(flags)?;
            }
            python_reading(&group.ast)
        }
        Ast::ClassBracketed(class) => python_class(&class.kind),
        Ast::Repetition(rep) => python_reading(&rep.ast),
        Ast::Alternation(alt) => alt.asts.iter().try_for_each(python_reading),
        Ast::Concat(concat) => concat.asts.iter().try_for_each(python_reading),
        _ => Ok(()),
    }
}

fn python_flags(flags: &ast::Flags) -> Result<(), String> {
    let mut negated = false;
    for item in &flags.items {
        match item.kind {
            ast::FlagsItemKind::Negation => negated = true,
            ast::FlagsItemKind::Flag(ast::Flag::CaseInsensitive) if !negated => {
                return Err(
                    "`(?i)` is not supported: Python folds case by its own rules \
                            (`(?i)i` also matches `İ` and `ı`)"
                        .into(),
                );
            }
            ast::FlagsItemKind::Flag(ast::Flag::IgnoreWhitespace) if !negated => {
                return Err(
                    "`(?x)` is not supported: Python keeps the spaces inside a class, \
                            routewall's parser drops them"
                        .into(),
                );
            }
            ast::FlagsItemKind::Flag(_) => {}
        }
    }
    Ok(())
}

fn python_class(set: &ClassSet) -> Result<(), String> {
    let nested = || {
        Err(
            "Python reads `[`, `&&`, `--`, `~~` and `[:…:]` inside a class as plain \
             characters, routewall's parser as nested classes and set operations; escape them"
                .to_owned(),
        )
    };
    match set {
        ClassSet::BinaryOp(_) => nested(),
        ClassSet::Item(item) => python_class_item(item).or_else(|()| nested()),
    }
}

fn python_class_item(item: &ClassSetItem) -> Result<(), ()> {
    match item {
        ClassSetItem::Bracketed(_) | ClassSetItem::Ascii(_) => Err(()),
        ClassSetItem::Union(union) => union.items.iter().try_for_each(python_class_item),
        _ => Ok(()),
    }
}

/// Replaces each `\d`, `\s`, `\w` (or negation) that `classes` has with its Python ranges.
fn substitute(ast: &mut Ast, classes: &PerlClasses) {
    match ast {
        Ast::ClassPerl(perl) => {
            if let Some(class) = classes.bracketed(perl) {
                *ast = Ast::class_bracketed(class);
            }
        }
        Ast::ClassBracketed(class) => substitute_set(&mut class.kind, classes),
        Ast::Repetition(rep) => substitute(&mut rep.ast, classes),
        Ast::Group(group) => substitute(&mut group.ast, classes),
        Ast::Alternation(alt) => alt.asts.iter_mut().for_each(|a| substitute(a, classes)),
        Ast::Concat(concat) => concat.asts.iter_mut().for_each(|a| substitute(a, classes)),
        _ => {}
    }
}

fn substitute_set(set: &mut ClassSet, classes: &PerlClasses) {
    match set {
        ClassSet::Item(item) => substitute_item(item, classes),
        ClassSet::BinaryOp(op) => {
            substitute_set(&mut op.lhs, classes);
            substitute_set(&mut op.rhs, classes);
        }
    }
}

fn substitute_item(item: &mut ClassSetItem, classes: &PerlClasses) {
    match item {
        ClassSetItem::Perl(perl) => {
            if let Some(class) = classes.bracketed(perl) {
                *item = ClassSetItem::Bracketed(Box::new(class));
            }
        }
        ClassSetItem::Bracketed(class) => substitute_set(&mut class.kind, classes),
        ClassSetItem::Union(union) => union
            .items
            .iter_mut()
            .for_each(|i| substitute_item(i, classes)),
        _ => {}
    }
}

fn translate(
    regex: &str,
    part_isolating: bool,
    defs: &mut Definitions,
) -> Result<Fragment, Untranslatable> {
    translate_with(regex, part_isolating, false, defs)
}

fn translate_with(
    regex: &str,
    part_isolating: bool,
    possessive: bool,
    defs: &mut Definitions,
) -> Result<Fragment, Untranslatable> {
    let hir = parse(regex, &defs.classes)?;
    let mut out = Fragment::default();
    let mut printer = Printer {
        part_isolating,
        defs,
        edge: Edge::Start,
        head: true,
        possessive,
    };
    printer.hir(&hir, &mut out)?;
    if printer.edge != Edge::Aligned {
        out.push(&format!("{MARK}{SPLIT_END}{MARK}"));
    }
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
/// `\d`, `\s` and `\w` are Python's where `classes` has them.
pub(crate) fn segment_items(regex: &str, classes: &PerlClasses) -> Option<Vec<SegmentItem>> {
    let hir = parse(regex, classes).ok()?;
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
    /// Where the printed text leaves the match, relative to the decoder's units.
    edge: Edge,
    /// Nothing is printed yet.
    head: bool,
    /// The first repetition printed is made possessive (see [`possessive_run`]).
    possessive: bool,
}

/// Where a position stands relative to the decoder's units (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Edge {
    /// At the end of a unit: after a literal or a class atom.
    Aligned,
    /// At the start of the fragment: at the end of a unit, unless the fragment before it
    /// ended with a byte run.
    Start,
    /// Maybe inside a unit, after a byte run of at least one code point. Another such run
    /// must not start there: when the two runs together hold one unit of several bytes,
    /// Werkzeug sees one code point, too few for both. (A run that may be empty never
    /// needs that: the unit can go to it, or come from it, whole.)
    Split,
}

/// One code point's worth of a class, split by how it prints.
struct CodePoint {
    ascii: Vec<(u8, u8)>,
    /// Byte sequences of the non-ASCII members (none when `all_non_ascii`).
    non_ascii: Vec<String>,
    /// First bytes of the non-ASCII members' sequences.
    leads: Vec<(u8, u8)>,
    /// U+FFFD is a member, and so is every ill-formed unit, which decodes to it.
    replacement: bool,
    /// The class holds every non-ASCII scalar value (and so every unit from a byte ≥ 0x80).
    all_non_ascii: bool,
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
                // Whole characters, starting with a byte that starts a unit.
                self.printed(Edge::Aligned);
            }
            HirKind::Class(Class::Unicode(class)) => {
                let cp = self.code_point(class);
                out.push(&self.one_code_point(&cp));
                self.printed(Edge::Aligned);
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
                self.head = false;
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
                self.head = false;
                let entry = self.edge;
                let mut exit = Edge::Aligned;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push("|");
                    }
                    self.edge = entry;
                    self.hir(item, out)?;
                    exit = exit.max(self.edge);
                }
                self.edge = exit;
                out.push(")");
            }
        }
        Ok(())
    }

    fn printed(&mut self, edge: Edge) {
        self.edge = edge;
        self.head = false;
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
        let possessive = std::mem::take(&mut self.possessive) && rep.greedy;
        let lazy = match (rep.greedy, possessive) {
            (_, true) => "+",
            (true, false) => "",
            (false, false) => "?",
        };
        // A run of at least one "anything but …" code point is a run of the same bytes, so
        // a plain byte class is exact there; only counted repetitions need code points.
        if let (HirKind::Class(Class::Unicode(class)), None, 0..=1) =
            (rep.sub.kind(), rep.max, rep.min)
        {
            let cp = self.code_point(class);
            if cp.all_non_ascii {
                // Only a run of at least one code point can leave the match inside a unit
                // that matters: see `Edge::Split`.
                if rep.min > 0 {
                    self.run_start(out);
                }
                out.push(&byte_class(&cp.ascii, true));
                out.push(&quantifier);
                out.push(lazy);
                let edge = if rep.min > 0 { Edge::Split } else { self.edge };
                self.printed(edge);
                return Ok(());
            }
        }
        // Classes, groups and single bytes print as one atom; anything longer needs a group
        // for the quantifier to apply to all of it.
        let atom = match rep.sub.kind() {
            HirKind::Class(_) | HirKind::Capture(_) | HirKind::Alternation(_) => true,
            HirKind::Literal(lit) => lit.0.len() == 1,
            _ => false,
        };
        if !atom {
            self.head = false;
        }
        let entry = self.edge;
        let repeats = rep.max.is_none_or(|max| max > 1);
        let mut start = entry;
        let sub = loop {
            let mut sub = Fragment::default();
            self.edge = start;
            self.hir(&rep.sub, &mut sub)?;
            // A repeat starts where the one before it ended.
            let next = if repeats { start.max(self.edge) } else { start };
            if next == start {
                break sub;
            }
            start = next;
        };
        if rep.min == 0 {
            self.edge = self.edge.max(entry);
        }
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

    /// Before a byte run of at least one code point: it must not start inside a unit,
    /// which only such a run before it can leave the match in. At the very start of the
    /// fragment, that is for [`Definitions::finish`] to decide.
    fn run_start(&mut self, out: &mut Fragment) {
        match self.edge {
            Edge::Aligned => {}
            Edge::Start if self.head => {
                let id = self.defs.define(INSIDE_UNIT.to_owned());
                out.push(&format!("{MARK}{RUN_START}{id}{MARK}"));
            }
            Edge::Start | Edge::Split => {
                let inside = self.defs.reference(INSIDE_UNIT.to_owned());
                out.push(&format!("(?!{inside})"));
            }
        }
    }

    fn code_point(&self, class: &ClassUnicode) -> CodePoint {
        let mut class = class.clone();
        if self.part_isolating {
            class.difference(&ClassUnicode::new([ClassUnicodeRange::new('/', '/')]));
        }
        let all_non_ascii = {
            let mut rest = ClassUnicode::new([ClassUnicodeRange::new('\u{80}', '\u{10FFFF}')]);
            rest.difference(&class);
            rest.iter().next().is_none()
        };
        let replacement = class
            .iter()
            .any(|r| (r.start()..=r.end()).contains(&'\u{FFFD}'));
        let mut ascii = Vec::new();
        let mut non_ascii = Vec::new();
        let mut leads = Vec::new();
        for range in class.iter() {
            let (start, end) = (range.start() as u32, range.end() as u32);
            if start <= 0x7f {
                ascii.push((start as u8, end.min(0x7f) as u8));
            }
            if end <= 0x7f || all_non_ascii {
                continue;
            }
            let lo = char::from_u32(start.max(0x80)).unwrap_or('\u{80}');
            for seq in Utf8Sequences::new(lo, range.end()) {
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
        CodePoint {
            ascii,
            non_ascii,
            leads,
            replacement,
            all_non_ascii,
        }
    }

    /// The definition of one decoder unit from a byte ≥ 0x80, as a placeholder.
    fn high_unit(&mut self) -> String {
        let inside = self.defs.reference(INSIDE_UNIT.to_owned());
        self.defs
            .reference(HIGH_UNIT.replace(INSIDE_UNIT_CALL, &inside))
    }

    fn one_code_point(&mut self, cp: &CodePoint) -> String {
        let mut alternatives = Vec::new();
        if !cp.ascii.is_empty() {
            alternatives.push(byte_class(&cp.ascii, false));
        }
        // PCRE tries an alternation's branches one by one; a lookahead on the possible
        // first bytes makes the common case (an ASCII byte that ends a run of digits)
        // fail once instead of once per branch.
        if cp.all_non_ascii {
            alternatives.push(format!("(?=[\\x80-\\xff]){}", self.high_unit()));
        } else if !cp.non_ascii.is_empty() || cp.replacement {
            let mut branches = cp.non_ascii.clone();
            let mut leads = cp.leads.clone();
            if cp.replacement {
                // An ill-formed unit decodes to U+FFFD, a member; a well-formed sequence
                // that is not a member is not one, nor is any start of it.
                let valid = self.defs.reference(VALID_HIGH.to_owned());
                branches.push(format!("(?!{valid}){}", self.high_unit()));
                leads = vec![(0x80, 0xff)];
            }
            let body = branches.join("|");
            let guard = format!("(?={})", bytes_class(&leads));
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
            1 if !cp.ascii.is_empty() => alternatives.remove(0),
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
    use routewall_core::PythonClasses;

    use super::*;

    fn translate(regex: &str, part_isolating: bool) -> String {
        let mut defs = Definitions::default();
        let frag = converter(regex, part_isolating, &mut defs).expect("translates");
        defs.finish(&format!("^{}\\z", frag.0))
    }

    fn items(regex: &str) -> Option<Vec<SegmentItem>> {
        segment_items(regex, &PerlClasses::default())
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
        let digits = items(r"\d+").expect("int");
        let ascii_digits = (0x30..=0x39).fold(0u128, |bits, b| bits | 1 << b);
        assert_eq!(
            digits,
            [SegmentItem::Run {
                ascii: ascii_digits,
                min: 1,
                max: None
            }]
        );
        let uuid =
            items("[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}")
                .and_then(greedy_segment)
                .expect("uuid");
        assert_eq!(uuid.len(), 9);
        assert_eq!(uuid[1], SegmentItem::Text("-".into()));
        assert!(items("(?:ab|cd)").is_none(), "alternations stay regexes");
        assert!(items("a/b").is_none());
    }

    #[test]
    fn greedy_matching_needs_a_run_to_stop_where_its_class_does() {
        let word = items("[a-z]+").expect("run");
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

    /// Python's `\s` (3.11), as the Python host (`host.py`) ships it.
    const PYTHON_SPACE: [(u32, u32); 10] = [
        (0x09, 0x0d),
        (0x1c, 0x20),
        (0x85, 0x85),
        (0xa0, 0xa0),
        (0x1680, 0x1680),
        (0x2000, 0x200a),
        (0x2028, 0x2029),
        (0x202f, 0x202f),
        (0x205f, 0x205f),
        (0x3000, 0x3000),
    ];

    fn finished(defs: &mut Definitions, regex: &str) -> String {
        let frag = converter(regex, true, defs).expect("translates");
        defs.finish(&format!("^{}\\z", frag.0))
    }

    #[test]
    fn pythons_own_classes_replace_unicode_ones() {
        let mut classes = PythonClasses::default();
        classes.space = Some(PYTHON_SPACE.to_vec());
        let mut defs = Definitions::default();
        defs.set_python_classes(Some(&classes));
        // Python's `\s` holds \x1c-\x1f, Unicode's White_Space does not.
        let space = finished(&mut defs, r"\s+");
        assert!(space.contains(r"[\x09-\x0d\x1c-\x20]"), "{space}");
        assert!(!translate(r"\s+", true).contains(r"\x1c"));
        // Negated, and inside brackets.
        let ascii_non_space = r"[\x00-\x08\x0e-\x1b\x21-\x2e\x30-\x7f]";
        for regex in [r"\S", r"[^\s/]", r"[^\s]"] {
            let re = finished(&mut defs, regex);
            assert!(re.contains(ascii_non_space), "{regex}: {re}");
        }
        // What the module matches natively takes them too.
        let items = defs.segment_items(r"\s+").expect("a run");
        let [SegmentItem::Run { ascii, .. }] = items.as_slice() else {
            panic!("{items:?}");
        };
        assert_ne!(ascii & 1 << 0x1c, 0);
        // Classes the table lacks stay regex-syntax's.
        assert_eq!(finished(&mut defs, r"\d+"), translate(r"\d+", true));
    }

    #[test]
    fn syntax_python_reads_otherwise_is_refused() {
        for regex in [
            "(?i)abc",
            "(?i:x)",
            "(?x)[ a]",
            "[a[b]]",
            "[a&&b]",
            "[a--b]",
            "[[:alpha:]]",
        ] {
            let err = converter(regex, true, &mut Definitions::default()).expect_err(regex);
            assert!(err.0.contains("Python"), "{regex}: {}", err.0);
        }
        // Python's `{,n}` is `{0,n}`; `(?s)` and a flag turned off mean the same to both.
        assert_eq!(translate("a{,3}", true), r"^a{0,3}\z");
        assert!(converter("(?s:.)(?-i:x)", true, &mut Definitions::default()).is_ok());
    }

    #[test]
    fn adjacent_runs_meet_at_a_unit_boundary() {
        let mut defs = Definitions::default();
        let run = converter("[^/]{1,}", true, &mut defs).expect("string");
        // Alone, a run stays a plain byte class.
        assert_eq!(defs.finish(&format!("^/{}\\z", run.0)), r"^/[^\x2f]+\z");
        // `/<a><b>`: `/é` is one code point, too few for the two runs.
        let pair = defs.finish(&format!("^/{}{}\\z", run.0, run.0));
        assert!(pair.ends_with(r"/[^\x2f]+(?!(?1))[^\x2f]+\z"), "{pair}");
        // Inside one converter regex too.
        let inner = translate("[^/]+[^/]+", true);
        assert!(inner.ends_with(r"[^\x2f]+(?!(?1))[^\x2f]+\z"), "{inner}");
        // A run that may be empty needs no check.
        assert_eq!(translate("[^/]+[^/]*", true), r"^[^\x2f]+[^\x2f]*\z");
    }

    /// The Python that runs the tests' apps (`ROUTEWALL_TEST_VENV`), else `python3`.
    fn python() -> std::path::PathBuf {
        std::env::var_os("ROUTEWALL_TEST_VENV").map_or_else(
            || "python3".into(),
            |venv| std::path::Path::new(&venv).join("bin/python"),
        )
    }

    /// Runs `code` with `input` on stdin and returns its stdout.
    fn run_python(code: &str, input: &str) -> String {
        use std::io::Write as _;
        use std::process::{Command, Stdio};

        let python = python();
        let mut child = Command::new(&python)
            .args(["-c", code])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} ({e}); set ROUTEWALL_TEST_VENV",
                    python.display()
                )
            });
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("input written");
        let out = child.wait_with_output().expect("python runs");
        assert!(
            out.status.success(),
            "{} failed: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// Python's `\d`, `\s` and `\w`, as the Python host (`host.py`) computes them with `python()`.
    fn pythons_classes() -> PythonClasses {
        const DUMP_SCRIPT: &str = include_str!("../../python-host/python/host.py");
        const CODE: &str = r#"
import sys
ns = {"__name__": "routewall_host"}
exec(sys.stdin.read(), ns)
classes = ns["python_classes"]([r"\d", r"\s", r"\w"])
for name in ("digit", "space", "word"):
    print(name, " ".join(f"{a}-{b}" for a, b in classes[name]))
"#;
        let mut classes = PythonClasses::default();
        for line in run_python(CODE, DUMP_SCRIPT).lines() {
            let (name, ranges) = line.split_once(' ').expect("name, then ranges");
            let ranges = ranges
                .split(' ')
                .map(|r| {
                    let (a, b) = r.split_once('-').expect("a range");
                    (a.parse().expect("number"), b.parse().expect("number"))
                })
                .collect();
            match name {
                "digit" => classes.digit = Some(ranges),
                "space" => classes.space = Some(ranges),
                _ => classes.word = Some(ranges),
            }
        }
        classes
    }

    /// Reads cases (`ISOLATING PYTHON_REGEX PCRE_REGEX`, regexes in hex) and checks each
    /// PCRE regex, run by the system's PCRE2 (nginx's) on `/` + bytes, against Python's
    /// `re.fullmatch` of the Python regex on the bytes decoded as Werkzeug decodes them,
    /// for every byte string up to 3 bytes over an alphabet of ASCII, lead and
    /// continuation bytes at their boundaries, 4-byte strings from 4-byte leads, and
    /// random strings of valid, truncated, overlong, surrogate and stray sequences.
    const DECODER_CHECK: &str = r#"
import ctypes, ctypes.util, itertools, random, re, sys

lib = ctypes.CDLL(ctypes.util.find_library("pcre2-8") or "libpcre2-8.so.0")
lib.pcre2_compile_8.restype = ctypes.c_void_p
lib.pcre2_compile_8.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint32,
    ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_size_t), ctypes.c_void_p]
lib.pcre2_match_data_create_from_pattern_8.restype = ctypes.c_void_p
lib.pcre2_match_data_create_from_pattern_8.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
lib.pcre2_match_8.restype = ctypes.c_int
lib.pcre2_match_8.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
    ctypes.c_size_t, ctypes.c_uint32, ctypes.c_void_p, ctypes.c_void_p]

def pcre(pattern):
    error, offset = ctypes.c_int(), ctypes.c_size_t()
    code = lib.pcre2_compile_8(pattern, len(pattern), 0, ctypes.byref(error),
                               ctypes.byref(offset), None)
    if not code:
        sys.exit(f"PCRE2 refuses {pattern!r}: error {error.value} at {offset.value}")
    data = lib.pcre2_match_data_create_from_pattern_8(code, None)
    def match(subject):
        rc = lib.pcre2_match_8(code, subject, len(subject), 0, 0, data, None)
        if rc < -1:
            sys.exit(f"PCRE2 error {rc} matching {pattern!r} on {subject!r}")
        return rc >= 0
    return match

ALPHABET = [bytes([b]) for b in (0x00, 0x0a, 0x1c, 0x1f, 0x20, 0x2f, 0x31, 0x61, 0x7f,
    0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee,
    0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff)]
CONTINUATIONS = [bytes([b]) for b in (0x61, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf)]
CHUNKS = [c.encode() for c in "a/ _1\x1c\x1f\x85\xa0\xb2\xe9\u0301\u0663\u2028\u20ac\uff11\ufffd\U0001f600"] + [
    b"\xf0\x9f\x98", b"\xf0\x9f", b"\xf0", b"\xe2\x82", b"\xe2", b"\xc3", b"\xc0\x80",
    b"\xe0\x80\x80", b"\xf0\x80\x80\x80", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf4\x90\x80\x80",
    b"\xf5\x80\x80\x80", b"\x80", b"\xbf", b"\xfe", b"\xff"]

def inputs():
    for n in range(1, 4):
        yield from (b"".join(p) for p in itertools.product(ALPHABET, repeat=n))
    for lead in (b"\xe0", b"\xe1", b"\xed", b"\xf0", b"\xf1", b"\xf4"):
        yield from (lead + b"".join(p) for p in itertools.product(CONTINUATIONS, repeat=3))
    rng = random.Random(16)
    for _ in range(4000):
        yield b"".join(rng.choice(CHUNKS) if rng.random() < 0.8 else bytes([rng.randrange(256)])
                       for _ in range(rng.randint(1, 6)))

values = [(raw, b"/" + raw, raw.decode("utf-8", "replace")) for raw in dict.fromkeys(inputs())]
checked, bad = 0, []
for line in sys.stdin.read().splitlines():
    isolating, python, translated = line.split()
    python = bytes.fromhex(python).decode()
    truth, match = re.compile(python), pcre(bytes.fromhex(translated))
    for raw, subject, text in values:
        want = truth.fullmatch(text) is not None and not (isolating == "1" and "/" in text)
        checked += 1
        if want != match(subject) and len(bad) < 20:
            bad.append(f"mismatch: {python!r} on {raw!r} ({text!r}): Python says {want}")
print(f"checked {checked}")
print("\n".join(bad))
"#;

    /// Converter regexes (several: one segment holding several converters) and whether
    /// each is part-isolating. Part-isolating ones hold no `/` or sit alone, so that
    /// Python's regex alone tells the truth.
    const DECODER_CASES: &[&[(&str, bool)]] = &[
        &[("[^/]{1,}", true)],
        &[("[^/]{3}", true)],
        &[("[^/]{3,}", true)],
        &[("[^/]{2,3}", true)],
        &[("[^/].*?", false)],
        &[(".{2}", true)],
        &[("(?s:.{2})", false)],
        &[(r"\S{2}", true)],
        &[(r"\s+", true)],
        &[(r"[^\s/]+", true)],
        &[(r"\d{1,2}", true)],
        &[(r"\D{2}", true)],
        &[(r"\w+", true)],
        &[(r"[\w.-]{2}", true)],
        &[(r"\W", true)],
        &[(r"\d+\.\d+", true)],
        &[("[^é]{2}", true)],
        &[("é[^/]", true)],
        &[("[^/]+[^/]{2}", true)],
        &[("[^/]+[^/]+", true)],
        &[("[^/]*x?[^/]+", true)],
        &[("(?:[^/]+,)+[^/]", true)],
        &[("[^/]{1,}", true), ("[^/]{1,}", true)],
        &[("[^/]{1,}", true), ("[^/]{2}", true)],
        &[("[^/]{2}", true), ("[^/]{1,}", true)],
        &[("[^/]{1,}", true), ("x?", true), ("[^/]{1,}", true)],
        &[("[^/]{1,}", true), ("[^/]*", true), ("[^/]{1,}", true)],
        &[("[^/].*?", false), ("[^/]{1,}", true)],
    ];

    #[test]
    fn one_code_point_is_one_unit_of_pythons_decoder() {
        let mut defs = Definitions::default();
        defs.set_python_classes(Some(&pythons_classes()));
        let hex = |text: &str| {
            text.bytes().fold(String::new(), |mut out, b| {
                let _ = write!(out, "{b:02x}");
                out
            })
        };
        let mut input = String::new();
        for case in DECODER_CASES {
            let mut body = String::from("^/");
            for (regex, isolating) in *case {
                let fragment = converter(regex, *isolating, &mut defs).expect("translates");
                body.push_str(&fragment.0);
            }
            body.push_str("\\z");
            let python: String = case.iter().map(|(r, _)| format!("(?:{r})")).collect();
            let isolating = case.iter().all(|(_, i)| *i);
            let _ = writeln!(
                input,
                "{} {} {}",
                u8::from(isolating),
                hex(&python),
                hex(&defs.finish(&body))
            );
        }
        let report = run_python(DECODER_CHECK, &input);
        assert!(report.starts_with("checked "), "{report}");
        assert_eq!(report.lines().nth(1).unwrap_or(""), "", "{report}");
        eprintln!("{}", report.trim());
    }
}
