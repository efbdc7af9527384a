//! JSON Schema `pattern` (ECMA-262, unanchored) to a full-match regex in the dialect the
//! route model uses (Python syntax as `regex-syntax` parses it).
//!
//! A value is valid when the pattern matches *anywhere* in it. Each top-level alternative
//! is translated on its own: a leading `^` keeps it anchored at the start, a trailing `$`
//! at the end, and each unanchored side gets `(?s:.*)` (any text, newlines included: a
//! percent-decoded path value may hold one). `.*` is enough there, rather than `[^/]*`:
//! path parameters are part-isolating, so the emitter already takes `/` out of every class
//! of the regex, the padding's and the pattern's own `.` alike. `^`/`$` anywhere else, and
//! every other assertion (`\b`, lookarounds) or back-reference, is refused: the route model
//! has no assertions.
//!
//! ECMA-262 classes are ASCII where Python's are Unicode, so `\d`, `\w`, `\s` and `.` are
//! spelled out as explicit classes.
//!
//! Written by hand, on purpose: the crates that know ECMA-262 regexes (`regress`) match
//! with them, while routewall needs the pattern as *text* in the route model's dialect, so
//! that every server target can translate it for its own engine. The translator is small
//! because it only rewrites the few places where the two dialects differ and refuses
//! everything the model cannot express.

use std::fmt::Write as _;

/// `\d` as class content.
const DIGIT: &str = "0-9";
/// `\w` as class content.
const WORD: &str = "0-9A-Za-z_";
/// `\s` as class content: ECMA-262 WhiteSpace and LineTerminator.
const SPACE: &str = r"\x{9}-\x{d}\x{20}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}\x{feff}";
/// What `.` matches: anything but a line terminator.
const DOT: &str = r"[^\x{a}\x{d}\x{2028}\x{2029}]";

/// Translates `pattern` into a full-match regex accepting exactly the values the pattern
/// finds a match in. The error is one clause naming the problem.
pub(crate) fn translate(pattern: &str) -> Result<String, String> {
    let mut parser = Parser {
        chars: pattern.chars().collect(),
        pos: 0,
        depth: 0,
    };
    let regex = parser.top()?;
    // Catch whatever this translator let through that `regex-syntax` still refuses
    // (an unknown `\p{…}` property, say).
    regex_syntax::ParserBuilder::new()
        .utf8(true)
        .unicode(true)
        .build()
        .parse(&regex)
        .map_err(|e| {
            format!(
                "cannot be translated: {}",
                crate::document::one_line(&e.to_string())
            )
        })?;
    Ok(regex)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// Groups open at the cursor.
    depth: usize,
}

/// Groups nested deeper than this are refused (no stack overflow on hostile input).
const MAX_DEPTH: usize = 100;

/// A class escape (`\d`, `\W`…): its content and whether it is negated.
struct ClassEscape {
    content: &'static str,
    negated: bool,
}

impl ClassEscape {
    fn standalone(&self) -> String {
        let caret = if self.negated { "^" } else { "" };
        format!("[{caret}{}]", self.content)
    }

    /// As a member of an enclosing class: positive ones inline, negated ones nested.
    fn member(&self) -> String {
        if self.negated {
            self.standalone()
        } else {
            self.content.to_owned()
        }
    }
}

/// One class member before ranges are formed.
enum Member {
    Char(char),
    Escape(ClassEscape),
    /// An unescaped `-`: a range between two characters, else itself.
    Dash,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn top(&mut self) -> Result<String, String> {
        let mut alternatives = Vec::new();
        loop {
            let start = self.eat('^');
            let (body, end) = self.alternative(true)?;
            alternatives.push((start, body, end));
            if !self.eat('|') {
                break;
            }
        }
        if self.pos < self.chars.len() {
            return Err("has an unmatched `)`".to_owned());
        }
        if let [(true, body, true)] = alternatives.as_slice() {
            return Ok(body.clone());
        }
        let any = "(?s:.*)";
        let parts: Vec<String> = alternatives
            .into_iter()
            .map(|(start, body, end)| {
                format!(
                    "{}{body}{}",
                    if start { "" } else { any },
                    if end { "" } else { any }
                )
            })
            .collect();
        Ok(parts.join("|"))
    }

    /// A sequence of quantified atoms up to `|`, `)` or the end. At the top level a final
    /// `$` is allowed and reported.
    fn alternative(&mut self, top: bool) -> Result<(String, bool), String> {
        let mut out = String::new();
        loop {
            match self.peek() {
                None | Some('|') | Some(')') => return Ok((out, false)),
                Some('$') => {
                    let last = matches!(self.peek_at(1), None | Some('|'));
                    if top && last {
                        self.pos += 1;
                        return Ok((out, true));
                    }
                    return Err(
                        "uses `$` inside the pattern, which routewall cannot express".into(),
                    );
                }
                Some('^') => {
                    return Err(
                        "uses `^` inside the pattern, which routewall cannot express".into(),
                    );
                }
                Some(_) => {
                    let atom = self.atom()?;
                    out.push_str(&atom);
                    out.push_str(&self.quantifier()?);
                }
            }
        }
    }

    /// One atom, printed so that a quantifier may follow it directly.
    fn atom(&mut self) -> Result<String, String> {
        let Some(c) = self.peek() else {
            return Err("ends unexpectedly".into());
        };
        self.pos += 1;
        match c {
            '.' => Ok(DOT.to_owned()),
            '(' => self.group(),
            '[' => self.class(),
            '\\' => self.escape(),
            '*' | '+' | '?' => Err(format!("has `{c}` with nothing to repeat")),
            '{' => {
                self.pos -= 1;
                if self.braces()?.is_some() {
                    Err("has `{…}` with nothing to repeat".into())
                } else {
                    self.pos += 1;
                    Ok(literal(c))
                }
            }
            _ => Ok(literal(c)),
        }
    }

    fn group(&mut self) -> Result<String, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("nests groups too deeply".into());
        }
        let group = self.group_inner();
        self.depth -= 1;
        group
    }

    fn group_inner(&mut self) -> Result<String, String> {
        if self.eat('?') {
            match (self.peek(), self.peek_at(1)) {
                (Some(':'), _) => self.pos += 1,
                (Some('=' | '!'), _) | (Some('<'), Some('=' | '!')) => {
                    return Err("uses a lookaround, which routewall cannot express".into());
                }
                (Some('<'), _) => {
                    // A named group: the name does not change what matches.
                    while let Some(c) = self.peek() {
                        self.pos += 1;
                        if c == '>' {
                            break;
                        }
                    }
                }
                _ => return Err("has an unknown group `(?`".into()),
            }
        }
        let mut alternatives = Vec::new();
        loop {
            let (body, _) = self.alternative(false)?;
            alternatives.push(body);
            if !self.eat('|') {
                break;
            }
        }
        if !self.eat(')') {
            return Err("has an unclosed `(`".into());
        }
        Ok(format!("(?:{})", alternatives.join("|")))
    }

    /// `{n}`, `{n,}` or `{n,m}` at the cursor, consumed; `None` (nothing consumed) when the
    /// brace is literal text (ECMA-262 Annex B).
    fn braces(&mut self) -> Result<Option<(u32, Option<u32>)>, String> {
        let start = self.pos;
        if !self.eat('{') {
            return Ok(None);
        }
        let min = self.digits();
        let max = if self.eat(',') {
            Some(self.digits())
        } else {
            None
        };
        let bounds = match (min, max) {
            (Some(min), None) => Some((min.clone(), Some(min))),
            (Some(min), Some(None)) => Some((min, None)),
            (Some(min), Some(Some(max))) => Some((min, Some(max))),
            _ => None,
        };
        match bounds {
            Some(bounds) if self.eat('}') => {
                let parse = |text: &str| {
                    text.parse::<u32>()
                        .map_err(|_| format!("has a repetition count `{text}` that is too large"))
                };
                let min = parse(&bounds.0)?;
                let max = bounds.1.as_deref().map(parse).transpose()?;
                if max.is_some_and(|max| max < min) {
                    return Err("has a repetition `{n,m}` with m < n".into());
                }
                Ok(Some((min, max)))
            }
            _ => {
                self.pos = start;
                Ok(None)
            }
        }
    }

    fn digits(&mut self) -> Option<String> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        (self.pos > start).then(|| self.chars[start..self.pos].iter().collect())
    }

    fn quantifier(&mut self) -> Result<String, String> {
        let mut out = match self.peek() {
            Some(c @ ('*' | '+' | '?')) => {
                self.pos += 1;
                c.to_string()
            }
            Some('{') => match self.braces()? {
                Some((min, Some(max))) if min == max => format!("{{{min}}}"),
                Some((min, Some(max))) => format!("{{{min},{max}}}"),
                Some((min, None)) => format!("{{{min},}}"),
                None => return Ok(String::new()),
            },
            _ => return Ok(String::new()),
        };
        if self.eat('?') {
            out.push('?');
        }
        if matches!(self.peek(), Some('*' | '+' | '?')) {
            return Err("has a quantifier with nothing to repeat".into());
        }
        Ok(out)
    }

    /// After a `\` outside a class.
    fn escape(&mut self) -> Result<String, String> {
        let Some(c) = self.peek() else {
            return Err("ends with a lone `\\`".into());
        };
        match c {
            'b' | 'B' => Err(format!(
                "uses `\\{c}` (a word boundary), which routewall cannot express"
            )),
            '1'..='9' => Err("uses a back-reference, which routewall cannot express".into()),
            // `\k<name>` is a back-reference (and `\k` alone an error in any pattern with
            // named groups).
            'k' => Err("uses a back-reference, which routewall cannot express".into()),
            'p' | 'P' if self.peek_at(1) == Some('{') => {
                let start = self.pos;
                while let Some(c) = self.peek() {
                    self.pos += 1;
                    if c == '}' {
                        return Ok(format!(
                            "\\{}",
                            self.chars[start..self.pos].iter().collect::<String>()
                        ));
                    }
                }
                Err("has an unclosed `\\p{`".into())
            }
            _ => match self.class_escape_or_char(false)? {
                Member::Char(c) => Ok(literal(c)),
                Member::Escape(e) => Ok(e.standalone()),
                Member::Dash => Ok(literal('-')),
            },
        }
    }

    /// A character escape or class escape after `\` (cursor on the letter).
    fn class_escape_or_char(&mut self, in_class: bool) -> Result<Member, String> {
        let Some(c) = self.peek() else {
            return Err("ends with a lone `\\`".into());
        };
        self.pos += 1;
        let escape = |content, negated| Ok(Member::Escape(ClassEscape { content, negated }));
        match c {
            'd' => escape(DIGIT, false),
            'D' => escape(DIGIT, true),
            'w' => escape(WORD, false),
            'W' => escape(WORD, true),
            's' => escape(SPACE, false),
            'S' => escape(SPACE, true),
            't' => Ok(Member::Char('\t')),
            'n' => Ok(Member::Char('\n')),
            'v' => Ok(Member::Char('\u{b}')),
            'f' => Ok(Member::Char('\u{c}')),
            'r' => Ok(Member::Char('\r')),
            'b' if in_class => Ok(Member::Char('\u{8}')),
            '0' if !self.peek().is_some_and(|c| c.is_ascii_digit()) => Ok(Member::Char('\0')),
            'c' => match self.peek() {
                Some(letter) if letter.is_ascii_alphabetic() => {
                    self.pos += 1;
                    Ok(Member::Char(char::from(letter as u8 % 32)))
                }
                _ => {
                    // Annex B: `\c` without a letter is a backslash, then a `c`.
                    self.pos -= 1;
                    Ok(Member::Char('\\'))
                }
            },
            'x' => Ok(Member::Char(self.hex(2).unwrap_or('x'))),
            'u' => self.unicode_escape().map(Member::Char),
            '1'..='9' | '0' => {
                Err("uses a back-reference or octal escape, which routewall cannot express".into())
            }
            'p' | 'P' if in_class && self.peek() == Some('{') => {
                Err("uses `\\p{…}` inside a class, which routewall cannot express".into())
            }
            _ => Ok(Member::Char(c)),
        }
    }

    /// `n` hex digits at the cursor as a character, consumed; `None` (nothing consumed)
    /// when they are not there.
    fn hex(&mut self, n: usize) -> Option<char> {
        let text: String = self.chars.get(self.pos..self.pos + n)?.iter().collect();
        if !text.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let c = char::from_u32(u32::from_str_radix(&text, 16).ok()?)?;
        self.pos += n;
        Some(c)
    }

    /// After `\u`: `XXXX`, a surrogate pair `XXXX\uXXXX`, or `{X…}`.
    fn unicode_escape(&mut self) -> Result<char, String> {
        if self.eat('{') {
            let start = self.pos;
            while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                self.pos += 1;
            }
            let text: String = self.chars[start..self.pos].iter().collect();
            if !self.eat('}') {
                return Err("has an unclosed `\\u{`".into());
            }
            return u32::from_str_radix(&text, 16)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| format!("has an invalid escape `\\u{{{text}}}`"));
        }
        let text: String = match self.chars.get(self.pos..self.pos + 4) {
            Some(four) if four.iter().all(char::is_ascii_hexdigit) => four.iter().collect(),
            // Annex B: a `u` on its own.
            _ => return Ok('u'),
        };
        self.pos += 4;
        let high = u32::from_str_radix(&text, 16).map_err(|e| e.to_string())?;
        if let Some(c) = char::from_u32(high) {
            return Ok(c);
        }
        if (0xD800..0xDC00).contains(&high)
            && self.peek() == Some('\\')
            && self.peek_at(1) == Some('u')
        {
            let low: String = self
                .chars
                .get(self.pos + 2..self.pos + 6)
                .map(|s| s.iter().collect())
                .unwrap_or_default();
            if let Ok(low) = u32::from_str_radix(&low, 16)
                && (0xDC00..0xE000).contains(&low)
                && let Some(c) = char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
            {
                self.pos += 6;
                return Ok(c);
            }
        }
        Err(format!(
            "has a lone surrogate `\\u{text}`, which routewall cannot express"
        ))
    }

    /// After `[`.
    fn class(&mut self) -> Result<String, String> {
        let negated = self.eat('^');
        let mut members = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err("has an unclosed `[`".into());
            };
            self.pos += 1;
            let member = match c {
                ']' => break,
                '-' => Member::Dash,
                '\\' => self.class_escape_or_char(true)?,
                _ => Member::Char(c),
            };
            members.push(member);
        }
        if members.is_empty() {
            // `[]` matches nothing, `[^]` any character.
            return Ok(if negated {
                r"[\x{0}-\x{10ffff}]"
            } else {
                r"[^\x{0}-\x{10ffff}]"
            }
            .to_owned());
        }
        let mut out = String::from(if negated { "[^" } else { "[" });
        let mut i = 0;
        while i < members.len() {
            match (&members[i], members.get(i + 1), members.get(i + 2)) {
                (Member::Char(lo), Some(Member::Dash), Some(Member::Char(hi))) => {
                    if lo > hi {
                        return Err(format!(
                            "has a class range `{}-{}` out of order",
                            lo.escape_debug(),
                            hi.escape_debug()
                        ));
                    }
                    let _ = write!(out, "{}-{}", class_char(*lo), class_char(*hi));
                    i += 3;
                }
                (Member::Char(c), _, _) => {
                    out.push_str(&class_char(*c));
                    i += 1;
                }
                (Member::Escape(e), _, _) => {
                    out.push_str(&e.member());
                    i += 1;
                }
                (Member::Dash, _, _) => {
                    out.push_str(&class_char('-'));
                    i += 1;
                }
            }
        }
        out.push(']');
        Ok(out)
    }
}

/// One literal character as a regex atom.
fn literal(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        format!("\\x{{{:x}}}", u32::from(c))
    } else {
        regex_syntax::escape(c.encode_utf8(&mut [0; 4]))
    }
}

/// One literal character inside a class.
fn class_char(c: char) -> String {
    if c.is_ascii_alphanumeric() {
        c.to_string()
    } else {
        format!("\\x{{{:x}}}", u32::from(c))
    }
}

#[cfg(test)]
mod tests {
    use super::translate;

    fn full(pattern: &str) -> regex::Regex {
        let translated = translate(pattern).expect("translates");
        regex::Regex::new(&format!("^(?:{translated})$")).expect("compiles")
    }

    #[test]
    fn anchored_patterns_lose_their_anchors() {
        assert_eq!(translate("^[a-z]+$").expect("ok"), "[a-z]+");
        assert_eq!(translate(r"^\d{3}$").expect("ok"), "[0-9]{3}");
    }

    #[test]
    fn unanchored_patterns_match_anywhere() {
        let re = full("ab");
        assert!(re.is_match("ab") && re.is_match("xaby") && re.is_match("x\nab"));
        assert!(!re.is_match("a") && !re.is_match("ba"));
        let re = full("^ab");
        assert!(re.is_match("abc") && !re.is_match("cab"));
        let re = full("ab$");
        assert!(re.is_match("cab") && !re.is_match("abc"));
    }

    #[test]
    fn top_level_alternatives_keep_their_own_anchors() {
        let re = full("^a|b$");
        assert!(re.is_match("ax") && re.is_match("xb") && !re.is_match("xa") && !re.is_match("bx"));
    }

    #[test]
    fn ecma_classes_are_ascii() {
        let re = full(r"^\d+$");
        assert!(re.is_match("042") && !re.is_match("４２"));
        let re = full(r"^\w+$");
        assert!(re.is_match("a_Z9") && !re.is_match("é"));
        let re = full(r"^[\w-]+$");
        assert!(re.is_match("a-b") && !re.is_match("a.b"));
        let re = full(r"^[a\-z]+$");
        assert!(re.is_match("a-z") && !re.is_match("b"));
        let re = full(r"^[a-]+$");
        assert!(re.is_match("a-") && !re.is_match("b"));
        let re = full(r"^[^\d]$");
        assert!(re.is_match("x") && !re.is_match("1"));
        let re = full(r"^[\D]$");
        assert!(re.is_match("x") && !re.is_match("1"));
        let re = full("^.$");
        assert!(re.is_match("x") && !re.is_match("\n") && !re.is_match("\u{2028}"));
    }

    #[test]
    fn escapes_and_literals() {
        let re = full(r"^a\.b\u00e9\x41\/[.]{2}$");
        assert!(re.is_match("a.béA/.."));
        assert!(!re.is_match("aXbéA/.."));
        let re = full(r"^\uD83D\uDE00$");
        assert!(re.is_match("😀"));
        let re = full("^x{2,3}a{b$");
        assert!(re.is_match("xxa{b") && !re.is_match("xa{b"));
        let re = full("^[]a");
        assert!(!re.is_match("a") && !re.is_match("xa"));
        let re = full("^[^]$");
        assert!(re.is_match("q") && re.is_match("\n") && !re.is_match("qq"));
        let re = full("^(?<y>[0-9]{4})-(?:0[1-9]|1[0-2])$");
        assert!(re.is_match("2024-12") && !re.is_match("2024-13"));
    }

    #[test]
    fn never_panics_and_always_parses() {
        let alphabet: Vec<char> = r"^$|()[]{}\*+?.-,:<=!09adDwWsSbBkpuxc}".chars().collect();
        let mut pattern = String::new();
        let mut count = 0;
        for a in &alphabet {
            for b in &alphabet {
                for c in &alphabet {
                    pattern.clear();
                    pattern.extend([*a, *b, *c]);
                    if let Ok(regex) = translate(&pattern) {
                        regex_syntax::Parser::new()
                            .parse(&regex)
                            .expect("checked by translate");
                        count += 1;
                    }
                }
            }
        }
        assert!(count > 1000, "{count}");
        let deep = format!("{}a{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(translate(&deep).expect_err("deep").contains("too deeply"));
    }

    #[test]
    fn refuses_what_the_model_cannot_express() {
        for (pattern, needle) in [
            (r"\bfoo", "word boundary"),
            ("(?=a)b", "lookaround"),
            (r"(a)\1", "back-reference"),
            ("a^b", "`^`"),
            ("a$b", "`$`"),
            ("(a$)", "`$`"),
            ("(a", "unclosed `(`"),
            ("a)", "unmatched `)`"),
            ("[a", "unclosed `[`"),
            ("*a", "nothing to repeat"),
            ("[z-a]", "out of order"),
            (r"\p{Nope}", "cannot be translated"),
        ] {
            let err = translate(pattern).expect_err(pattern);
            assert!(err.contains(needle), "{pattern}: {err}");
        }
    }
}
