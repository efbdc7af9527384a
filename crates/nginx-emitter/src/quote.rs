//! Writing strings as nginx configuration tokens.

/// Quotes `text` as one nginx token that the configuration tokenizer reads back as exactly
/// `text`, whatever it contains (`;`, `{`, `}`, `#`, spaces, quotes).
///
/// nginx's tokenizer unescapes `\"`, `\'`, `\\`, `\t`, `\r` and `\n` inside any token and
/// keeps every other backslash as it is; so a backslash is doubled only where it would
/// otherwise start one of those sequences, which keeps regexes readable (`\d` stays `\d`).
pub(crate) fn token(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => {
                let special = matches!(
                    chars.peek(),
                    None | Some('"' | '\'' | '\\' | 't' | 'r' | 'n')
                );
                out.push_str(if special { "\\\\" } else { "\\" });
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Quotes `text` as a `map` value that nginx reads back as exactly `text`. Values expand
/// variables and nginx has no escape for `$`, so callers must refuse text holding one.
pub(crate) fn value(text: &str) -> String {
    debug_assert!(!text.contains('$'), "map values expand `$`");
    token(text)
}

/// Text safe inside a `#` comment: one line, control characters spelled out.
pub(crate) fn comment(text: &str) -> String {
    text.escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_config_syntax() {
        assert_eq!(token("/a;b{c}#d e"), "\"/a;b{c}#d e\"");
        assert_eq!(token("say \"hi\""), "\"say \\\"hi\\\"\"");
    }

    #[test]
    fn doubles_only_the_backslashes_nginx_would_eat() {
        assert_eq!(token(r"^\d+\z"), r#""^\d+\z""#);
        assert_eq!(token(r"\nope"), r#""\\nope""#);
        assert_eq!(token(r"a\\d"), r#""a\\\d""#);
        assert_eq!(token("end\\"), r#""end\\""#);
    }

    #[test]
    fn comments_stay_on_one_line() {
        assert_eq!(comment("/a\n}b"), "/a\\n}b");
    }
}
