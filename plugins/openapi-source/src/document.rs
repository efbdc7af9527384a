//! Reading the document into one tree, and following its local `$ref`s.

use serde_norway::{Mapping, Value};

/// Parses `text` as JSON when it looks like JSON (starts with `{`), else as YAML.
pub(crate) fn parse(text: &str) -> Result<Value, String> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    if body.trim_start().starts_with('{') {
        return match serde_json::from_str::<Value>(body) {
            Ok(value) => Ok(value),
            // A YAML flow mapping starts with `{` too.
            Err(json) => parse_yaml(body)
                .map_err(|_| format!("invalid JSON: {}", one_line(&json.to_string()))),
        };
    }
    parse_yaml(body).map_err(|e| format!("invalid YAML: {}", one_line(&e.to_string())))
}

fn parse_yaml(body: &str) -> Result<Value, serde_norway::Error> {
    let mut value: Value = serde_norway::from_str(body)?;
    // `<<: *defaults` merge keys, as YAML 1.1 documents use them.
    value.apply_merge()?;
    Ok(value)
}

/// `text` on one line: runs of whitespace (newlines included) become one space.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The value under a YAML tag (`!tag value`), or the value itself.
pub(crate) fn untag(value: &Value) -> &Value {
    match value {
        Value::Tagged(tagged) => untag(&tagged.value),
        _ => value,
    }
}

/// The text of a scalar mapping key: YAML allows `200:` or `true:` as keys.
pub(crate) fn key_text(key: &Value) -> Option<String> {
    match untag(key) {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(crate) fn as_map(value: &Value) -> Option<&Mapping> {
    match untag(value) {
        Value::Mapping(map) => Some(map),
        _ => None,
    }
}

pub(crate) fn as_str(value: &Value) -> Option<&str> {
    match untag(value) {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// The field `key` of `map`.
pub(crate) fn field<'v>(map: &'v Mapping, key: &str) -> Option<&'v Value> {
    map.get(key)
}

/// A scalar as JSON, for the converter's report fields.
pub(crate) fn to_json(value: &Value) -> serde_json::Value {
    match untag(value) {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into()
            } else if let Some(u) = n.as_u64() {
                u.into()
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or_else(
                        || serde_json::Value::String(n.to_string()),
                        serde_json::Value::Number,
                    )
            }
        }
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Sequence(items) => items.iter().map(to_json).collect(),
        Value::Mapping(map) => map
            .iter()
            .filter_map(|(k, v)| Some((key_text(k)?, to_json(v))))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        Value::Tagged(_) => serde_json::Value::Null,
    }
}

/// Decodes `%XX` escapes; the result must be UTF-8. A `%` not followed by two hex digits
/// stays as it is.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The whole document, for resolving references.
pub(crate) struct Doc<'a> {
    pub(crate) root: &'a Value,
    /// OpenAPI 3.1: schemas are JSON Schema 2020-12 (`$ref` has sibling keywords).
    pub(crate) v31: bool,
}

impl<'a> Doc<'a> {
    /// The value a local reference (`#/components/schemas/Pet`) points at.
    pub(crate) fn pointer(&self, reference: &str) -> Result<&'a Value, String> {
        let Some(fragment) = reference.strip_prefix('#') else {
            return Err(format!(
                "`$ref` `{reference}` points outside the document; routewall reads only local `#/…` references"
            ));
        };
        let fragment = percent_decode(fragment)
            .ok_or_else(|| format!("`$ref` `{reference}` is not valid UTF-8 once decoded"))?;
        if fragment.is_empty() {
            return Ok(self.root);
        }
        let Some(pointer) = fragment.strip_prefix('/') else {
            return Err(format!(
                "`$ref` `{reference}` names an anchor; routewall reads only JSON-pointer references (`#/…`)"
            ));
        };
        let mut current = self.root;
        for token in pointer.split('/') {
            let token = token.replace("~1", "/").replace("~0", "~");
            let next = match untag(current) {
                Value::Mapping(map) => map
                    .iter()
                    .find(|(k, _)| key_text(k).as_deref() == Some(token.as_str()))
                    .map(|(_, v)| v),
                Value::Sequence(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            current = next.ok_or_else(|| format!("`$ref` `{reference}` points at nothing"))?;
        }
        Ok(current)
    }

    /// Follows `$ref` from `value` until an object without one (a Reference Object's
    /// sibling fields are only descriptions).
    pub(crate) fn follow(&self, value: &'a Value) -> Result<&'a Value, String> {
        let mut chain: Vec<&str> = Vec::new();
        let mut current = value;
        while let Some(reference) = reference_of(current)? {
            if chain.contains(&reference) {
                return Err(cycle(chain.iter().copied(), reference));
            }
            chain.push(reference);
            current = self.pointer(reference)?;
        }
        Ok(current)
    }
}

/// The `$ref` of an object, if it has one.
pub(crate) fn reference_of(value: &Value) -> Result<Option<&str>, String> {
    match as_map(value).and_then(|map| field(map, "$ref")) {
        None => Ok(None),
        Some(reference) => as_str(reference)
            .map(Some)
            .ok_or_else(|| "has a `$ref` that is not a string".to_owned()),
    }
}

/// The message for a reference cycle: the chain that came back to `again`.
pub(crate) fn cycle<'r>(chain: impl Iterator<Item = &'r str>, again: &str) -> String {
    let mut steps: Vec<&str> = chain.skip_while(|r| *r != again).collect();
    steps.push(again);
    format!("`$ref` cycle: {}", steps.join(" -> "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_yaml_give_the_same_tree() {
        let json = parse(r#"{"a": [1, "x"], "b": {"200": true}}"#).expect("json");
        let yaml = parse("a: [1, x]\nb:\n  200: true\n").expect("yaml");
        assert_eq!(to_json(&json), to_json(&yaml));
    }

    #[test]
    fn flow_mapping_yaml_starting_with_a_brace() {
        let value = parse("{a: 1}").expect("yaml flow mapping");
        assert_eq!(to_json(&value), serde_json::json!({"a": 1}));
        let err = parse("{\"a\": [}").expect_err("bad json");
        assert!(err.starts_with("invalid JSON: "), "{err}");
    }

    #[test]
    fn merge_keys_are_applied() {
        let value = parse("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n").expect("yaml");
        assert_eq!(
            to_json(&value)["other"],
            serde_json::json!({"x": 1, "y": 2})
        );
    }

    #[test]
    fn pointers_unescape_their_tokens() {
        let root =
            parse("paths:\n  /a/{b}:\n    get: {operationId: x}\n  '~t': 1\n").expect("yaml");
        let doc = Doc {
            root: &root,
            v31: false,
        };
        let op = doc
            .pointer("#/paths/~1a~1%7Bb%7D/get/operationId")
            .expect("resolves");
        assert_eq!(as_str(op), Some("x"));
        assert!(doc.pointer("#/paths/~0t").is_ok());
        assert!(
            doc.pointer("#/nope")
                .expect_err("missing")
                .contains("points at nothing")
        );
        assert!(
            doc.pointer("other.yaml#/a")
                .expect_err("external")
                .contains("outside the document")
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("/a%20b%zz").as_deref(), Some("/a b%zz"));
        assert_eq!(percent_decode("%C3%A9").as_deref(), Some("é"));
        assert_eq!(percent_decode("%FF"), None);
    }
}
