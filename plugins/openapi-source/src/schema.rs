//! A path parameter's schema to the converter regex that accepts exactly its values.
//!
//! Errors are clauses meant to follow "parameter `id`": either a predicate (" has type
//! `array`, …") or, for problems with references, ": `$ref` cycle: …".

use std::collections::BTreeMap;

use routewall_core::Converter;
use serde_norway::{Mapping, Value};

use crate::document::{Doc, as_str, cycle, field, key_text, to_json, untag};
use crate::ecma;

/// A path value with no schema: anything but `/`, never empty.
pub(crate) const PLAIN: &str = "[^/]+";
/// A decimal integer that is not negative: digits, or a minus zero (`-0` is 0, which a
/// `minimum: 0` admits).
const UNSIGNED: &str = "[0-9]+|-0+";
/// A decimal integer.
const SIGNED: &str = "-?[0-9]+";
/// A decimal number without sign: `1`, `1.5`, `1.`, `.5`, `1e-3`.
const UNSIGNED_NUMBER: &str = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?";
/// RFC 9562 text form, either case.
const UUID: &str = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
/// The largest counted repetition PCRE accepts.
const MAX_COUNT: u64 = 65_535;
/// Nesting of `allOf`/`anyOf`/`$ref` deeper than this is refused (no stack overflow).
const MAX_DEPTH: usize = 64;

/// Keywords that describe a value without constraining it.
const ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "example",
    "examples",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$comment",
    "nullable",
    "xml",
    "externalDocs",
    "discriminator",
    "$schema",
    "$id",
    "$anchor",
    "$dynamicAnchor",
    "$defs",
    "definitions",
    "contentMediaType",
    "contentEncoding",
];

/// Keywords copied into [`Converter::kwargs`] for reports.
const REPORTED: &[&str] = &[
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
];

/// Numeric bound keywords.
const BOUNDS: &[&str] = &[
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
];

/// A schema's constraint keywords after `$ref` and `allOf` are folded in.
type Flat = BTreeMap<String, Value>;

/// The converter of a plain string parameter.
pub(crate) fn plain() -> Converter {
    Converter::new("string", PLAIN)
}

/// The converter for the path parameter `param` (a resolved Parameter Object).
pub(crate) fn path_parameter(doc: &Doc<'_>, param: &Mapping) -> Result<Converter, String> {
    if field(param, "content").is_some() {
        return Err(
            " is described by `content` (a media type), which routewall cannot express".into(),
        );
    }
    if let Some(style) = field(param, "style") {
        let style = as_str(style).ok_or(" has a `style` that is not a string")?;
        if style != "simple" {
            return Err(format!(
                " has style `{style}`, which routewall cannot express"
            ));
        }
    }
    match field(param, "schema") {
        None => Ok(plain()),
        Some(schema) => Walker {
            doc,
            chain: Vec::new(),
            depth: 0,
        }
        .convert(schema),
    }
}

struct Walker<'d, 'a> {
    doc: &'d Doc<'a>,
    /// References being expanded, outermost first (cycle detection).
    chain: Vec<String>,
    depth: usize,
}

impl Walker<'_, '_> {
    fn convert(&mut self, schema: &Value) -> Result<Converter, String> {
        let mut used = Vec::new();
        let flat = self.flatten(schema, &mut used)?;
        self.with_refs(used, |walker| walker.convert_flat(flat))
    }

    /// Runs `f` with `refs` counted as being expanded: a branch of an `anyOf` that leads
    /// back to them is a cycle.
    fn with_refs<T>(&mut self, refs: Vec<String>, f: impl FnOnce(&mut Self) -> T) -> T {
        let len = self.chain.len();
        self.chain.extend(refs);
        let result = f(self);
        self.chain.truncate(len);
        result
    }

    /// Folds `$ref` targets and `allOf` members into one keyword map (they all must hold,
    /// and keywords act independently, so a union of distinct keywords is exact). The
    /// references followed are added to `used`.
    fn flatten(&mut self, schema: &Value, used: &mut Vec<String>) -> Result<Flat, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(" has a schema nested too deeply".into());
        }
        let result = self.flatten_inner(schema, used);
        self.depth -= 1;
        result
    }

    fn flatten_inner(&mut self, schema: &Value, used: &mut Vec<String>) -> Result<Flat, String> {
        let map = match untag(schema) {
            Value::Mapping(map) => map,
            Value::Bool(true) => return Ok(Flat::new()),
            Value::Bool(false) => return Err(" has schema `false`, which allows no value".into()),
            _ => return Err(" has a schema that is not an object".into()),
        };
        let mut flat = Flat::new();
        let mut reference = None;
        let mut all_of = None;
        for (key, value) in map {
            let Some(key) = key_text(key) else { continue };
            if key.starts_with("x-") || ANNOTATIONS.contains(&key.as_str()) {
                continue;
            }
            match key.as_str() {
                "$ref" => {
                    reference = Some(as_str(value).ok_or(" has a `$ref` that is not a string")?);
                }
                "allOf" => all_of = Some(value),
                _ => {
                    flat.insert(key, value.clone());
                }
            }
        }
        if let Some(reference) = reference {
            if !self.doc.v31 {
                // OpenAPI 3.0: a Reference Object's siblings are ignored.
                flat.clear();
                all_of = None;
            }
            if self.chain.iter().any(|r| r == reference) {
                return Err(format!(
                    ": {}",
                    cycle(self.chain.iter().map(String::as_str), reference)
                ));
            }
            let target = self.doc.pointer(reference).map_err(|e| format!(": {e}"))?;
            self.chain.push(reference.to_owned());
            let sub = self.flatten(target, used);
            self.chain.pop();
            merge(&mut flat, sub?)?;
            used.push(reference.to_owned());
        }
        if let Some(all_of) = all_of {
            let Value::Sequence(members) = untag(all_of) else {
                return Err(" has an `allOf` that is not a list".into());
            };
            for member in members {
                let sub = self.flatten(member, used)?;
                merge(&mut flat, sub)?;
            }
        }
        Ok(flat)
    }

    fn convert_flat(&mut self, mut flat: Flat) -> Result<Converter, String> {
        for keyword in ["not", "if", "then", "else"] {
            if flat.contains_key(keyword) {
                return Err(format!(
                    " has a schema with `{keyword}`, which routewall cannot express"
                ));
            }
        }
        if flat.contains_key("anyOf") && flat.contains_key("oneOf") {
            return Err(
                " has a schema with both `anyOf` and `oneOf`, which routewall cannot express"
                    .into(),
            );
        }
        for keyword in ["anyOf", "oneOf"] {
            let Some(branches) = flat.remove(keyword) else {
                continue;
            };
            let Value::Sequence(branches) = untag(&branches) else {
                return Err(format!(" has a `{keyword}` that is not a list"));
            };
            if branches.is_empty() {
                return Err(format!(" has an empty `{keyword}`, which allows no value"));
            }
            let mut converters = Vec::new();
            for branch in branches {
                let mut used = Vec::new();
                let mut sub = self.flatten(branch, &mut used)?;
                merge(&mut sub, flat.clone())?;
                converters.push(self.with_refs(used, |walker| walker.convert_flat(sub))?);
            }
            // `oneOf` also refuses a value that more than one branch accepts.
            let overlap = keyword == "oneOf" && converters.len() > 1;
            return Ok(alternation(keyword, &converters, overlap));
        }
        primitive(&flat)
    }
}

/// Adds `sub`'s keywords to `flat`; the same keyword with two different values is refused
/// (their conjunction would need real reasoning).
fn merge(flat: &mut Flat, sub: Flat) -> Result<(), String> {
    for (key, value) in sub {
        match flat.get(&key) {
            Some(existing) if *existing != value => {
                return Err(format!(
                    " has a schema that combines two different `{key}` values (through `allOf` or `$ref`), which routewall cannot express"
                ));
            }
            Some(_) => {}
            None => {
                flat.insert(key, value);
            }
        }
    }
    Ok(())
}

/// One converter accepting what any of `converters` accepts.
fn alternation(name: &str, converters: &[Converter], overlap: bool) -> Converter {
    if let [only] = converters {
        return only.clone();
    }
    let regex = converters
        .iter()
        .map(|c| format!("(?:{})", c.regex))
        .collect::<Vec<_>>()
        .join("|");
    let mut converter = Converter::new(name, regex);
    converter.validates = overlap || converters.iter().any(|c| c.validates);
    converter.args = converters
        .iter()
        .map(|c| serde_json::Value::String(c.name.clone()))
        .collect();
    converter
}

/// A schema without `anyOf`/`oneOf`.
fn primitive(flat: &Flat) -> Result<Converter, String> {
    let mut converter = if flat.contains_key("enum") || flat.contains_key("const") {
        enumeration(flat)?
    } else {
        let types = match flat.get("type").map(untag) {
            // No type: any JSON value, and a path value is text.
            None => vec!["string".to_owned()],
            Some(Value::String(t)) => vec![t.clone()],
            Some(Value::Sequence(ts)) => ts
                .iter()
                .map(|t| {
                    as_str(t)
                        .map(str::to_owned)
                        .ok_or(" has a `type` list with a non-string entry")
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(" has a `type` that is neither a string nor a list".into()),
        };
        let types: Vec<String> = types.into_iter().filter(|t| t != "null").collect();
        match types.as_slice() {
            [] => return Err(" has type `null`, which no path value can have".into()),
            [only] => typed(only, flat)?,
            several => {
                let converters = several
                    .iter()
                    .map(|t| typed(t, flat))
                    .collect::<Result<Vec<_>, _>>()?;
                alternation(&several.join("|"), &converters, false)
            }
        }
    };
    for keyword in REPORTED {
        if let Some(value) = flat.get(*keyword) {
            converter
                .kwargs
                .insert((*keyword).to_owned(), to_json(value));
        }
    }
    Ok(converter)
}

fn typed(kind: &str, flat: &Flat) -> Result<Converter, String> {
    match kind {
        "string" => string(flat),
        "integer" => numeric(flat, true),
        "number" => numeric(flat, false),
        "boolean" => Ok(Converter::new("boolean", "true|false")),
        "object" | "array" => Err(format!(
            " has type `{kind}`, which routewall cannot express"
        )),
        other => Err(format!(" has unknown type `{other}`")),
    }
}

/// `enum`/`const`: the values themselves.
fn enumeration(flat: &Flat) -> Result<Converter, String> {
    let mut values: Vec<&Value> = match flat.get("enum").map(untag) {
        Some(Value::Sequence(values)) => values.iter().collect(),
        Some(_) => return Err(" has an `enum` that is not a list".into()),
        None => Vec::new(),
    };
    if let Some(constant) = flat.get("const") {
        if flat.contains_key("enum") {
            values.retain(|v| untag(v) == untag(constant));
        } else {
            values.push(constant);
        }
    }
    let (min, max) = lengths(flat)?;
    let mut texts: Vec<String> = Vec::new();
    for value in values {
        let text = match untag(value) {
            // `null` has no path form.
            Value::Null => continue,
            Value::String(s) => {
                let len = s.chars().count() as u64;
                if min.is_some_and(|min| len < min) || max.is_some_and(|max| len > max) {
                    continue;
                }
                s.clone()
            }
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => {
                return Err(" has an `enum` value that is a list or an object, which routewall cannot express".into());
            }
        };
        // A path value is never empty.
        if !text.is_empty() && !texts.contains(&text) {
            texts.push(text);
        }
    }
    if texts.is_empty() {
        return Err(" has an `enum` with no value a path segment can hold".into());
    }
    let regex = texts
        .iter()
        .map(|t| regex_syntax::escape(t))
        .collect::<Vec<_>>()
        .join("|");
    let mut converter = Converter::new("enum", regex);
    // The values are not checked against these.
    converter.validates = ["pattern", "format"]
        .iter()
        .chain(BOUNDS)
        .any(|k| flat.contains_key(*k));
    converter.args = texts.into_iter().map(serde_json::Value::String).collect();
    Ok(converter)
}

/// `minLength` and `maxLength`.
fn lengths(flat: &Flat) -> Result<(Option<u64>, Option<u64>), String> {
    let read = |keyword: &str| {
        flat.get(keyword)
            .map(|v| match untag(v) {
                Value::Number(n) => n.as_u64().ok_or(()),
                _ => Err(()),
            })
            .transpose()
            .map_err(|()| format!(" has a `{keyword}` that is not a non-negative integer"))
    };
    Ok((read("minLength")?, read("maxLength")?))
}

fn string(flat: &Flat) -> Result<Converter, String> {
    let (min, max) = lengths(flat)?;
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        return Err(" has `minLength` above `maxLength`, which allows no value".into());
    }
    if max == Some(0) {
        return Err(" has `maxLength: 0`, but a path value is never empty".into());
    }
    let format = flat
        .get("format")
        .map(|f| as_str(f).ok_or(" has a `format` that is not a string"))
        .transpose()?;
    let pattern = flat
        .get("pattern")
        .map(|p| as_str(p).ok_or(" has a `pattern` that is not a string"))
        .transpose()?;
    let has_lengths = min.is_some() || max.is_some();
    if format == Some("uuid") {
        let mut converter = Converter::new("uuid", UUID);
        let fits = min.is_none_or(|min| min <= 36) && max.is_none_or(|max| max >= 36);
        converter.validates = pattern.is_some() || !fits;
        return Ok(converter);
    }
    // Other formats (`date`, `email`…) are checked, if at all, by the server's code.
    let format_checked = format.is_some();
    if let Some(pattern) = pattern {
        let regex =
            ecma::translate(pattern).map_err(|e| format!(" has pattern `{pattern}` that {e}"))?;
        let mut converter = Converter::new("string", regex);
        // The pattern may accept the empty value, which no router hands to the server.
        let may_be_empty = matches!(
            regex_syntax::Parser::new()
                .parse(&converter.regex)
                .map(|h| h.properties().minimum_len()),
            Ok(Some(0))
        );
        converter.validates = has_lengths || format_checked || may_be_empty;
        return Ok(converter);
    }
    let low = min.unwrap_or(0).max(1);
    let mut validates = format_checked;
    let low = if low > MAX_COUNT {
        validates = true;
        MAX_COUNT
    } else {
        low
    };
    let high = match max {
        Some(max) if max > MAX_COUNT => {
            validates = true;
            None
        }
        other => other,
    };
    let regex = match (low, high) {
        (1, None) => PLAIN.to_owned(),
        (low, None) => format!("[^/]{{{low},}}"),
        (low, Some(high)) if low == high => format!("[^/]{{{low}}}"),
        (low, Some(high)) => format!("[^/]{{{low},{high}}}"),
    };
    let mut converter = Converter::new("string", regex);
    converter.validates = validates;
    Ok(converter)
}

/// `integer` (`whole`) or `number`.
fn numeric(flat: &Flat, whole: bool) -> Result<Converter, String> {
    let number = |keyword: &str| -> Result<Option<f64>, String> {
        match flat.get(keyword).map(untag) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(Value::Bool(_)) if keyword.starts_with("exclusive") => Ok(None),
            Some(_) => Err(format!(" has a `{keyword}` that is not a number")),
        }
    };
    let minimum = number("minimum")?;
    // 3.0 writes `exclusiveMinimum: true` next to `minimum`; 3.1 gives the bound itself.
    let exclusive_flag = matches!(
        flat.get("exclusiveMinimum").map(untag),
        Some(Value::Bool(true))
    );
    let (inclusive, exclusive) = match (minimum, exclusive_flag) {
        (Some(m), true) => (None, Some(m)),
        (m, _) => (m, number("exclusiveMinimum")?),
    };
    // Whether every value is >= 0, and whether the bound is exactly that (no other
    // lower bound to check).
    let (unsigned, exact_lower) = if whole {
        // For integers, `> e` is `>= floor(e) + 1`.
        let lower = [inclusive.map(f64::ceil), exclusive.map(|e| e.floor() + 1.0)]
            .into_iter()
            .flatten()
            .reduce(f64::max);
        match lower {
            None => (false, true),
            Some(lower) => (lower >= 0.0, lower == 0.0),
        }
    } else {
        match (inclusive, exclusive) {
            (None, None) => (false, true),
            (Some(m), None) => (m >= 0.0, m == 0.0),
            (m, e) => (
                m.unwrap_or(f64::NEG_INFINITY)
                    .max(e.unwrap_or(f64::NEG_INFINITY))
                    >= 0.0,
                false,
            ),
        }
    };
    let other_bounds = ["maximum", "exclusiveMaximum", "multipleOf"]
        .iter()
        .any(|k| match flat.get(*k).map(untag) {
            Some(Value::Bool(flag)) => *flag && flat.contains_key("maximum"),
            Some(_) => true,
            None => false,
        });
    let (name, body) = if whole {
        ("integer", UNSIGNED.to_owned())
    } else {
        // Minus zero (`-0.0`, `-.0e3`) is not negative either.
        (
            "number",
            format!(r"{UNSIGNED_NUMBER}|-(?:0+(?:\.0*)?|\.0+)(?:[eE][+-]?[0-9]+)?"),
        )
    };
    let regex = match (unsigned, whole) {
        (true, _) => body,
        (false, true) => SIGNED.to_owned(),
        (false, false) => format!("-?{UNSIGNED_NUMBER}"),
    };
    let mut converter = Converter::new(name, regex);
    converter.validates = !exact_lower || other_bounds;
    Ok(converter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::parse;

    fn convert(doc_text: &str, schema: &str) -> Result<Converter, String> {
        let root = parse(doc_text).expect("document");
        let v31 = doc_text.contains("3.1");
        let doc = Doc { root: &root, v31 };
        let schema = parse(schema).expect("schema");
        Walker {
            doc: &doc,
            chain: Vec::new(),
            depth: 0,
        }
        .convert(&schema)
    }

    fn one(schema: &str) -> Converter {
        convert("openapi: 3.0.3", schema).expect(schema)
    }

    #[test]
    fn integers() {
        let c = one("{type: integer}");
        assert_eq!(
            (c.name.as_str(), c.regex.as_str(), c.validates),
            ("integer", SIGNED, false)
        );
        let c = one("{type: integer, minimum: 0}");
        assert_eq!((c.regex.as_str(), c.validates), (UNSIGNED, false));
        let c = one("{type: integer, minimum: 1}");
        assert_eq!((c.regex.as_str(), c.validates), (UNSIGNED, true));
        let c = one("{type: integer, minimum: -1, exclusiveMinimum: true}");
        assert_eq!((c.regex.as_str(), c.validates), (UNSIGNED, false));
        let c = convert("openapi: 3.1.0", "{type: integer, exclusiveMinimum: -1}").expect("ok");
        assert_eq!((c.regex.as_str(), c.validates), (UNSIGNED, false));
        let c = one("{type: integer, minimum: -5}");
        assert_eq!((c.regex.as_str(), c.validates), (SIGNED, true));
        let c = one("{type: integer, minimum: 0, maximum: 10}");
        assert_eq!((c.regex.as_str(), c.validates), (UNSIGNED, true));
        let c = one("{type: integer, exclusiveMaximum: false}");
        assert!(!c.validates);
    }

    #[test]
    fn numbers_booleans_strings() {
        let c = one("{type: number}");
        assert_eq!(c.regex, format!("-?{UNSIGNED_NUMBER}"));
        let c = one("{type: number, minimum: 0}");
        assert!(
            c.regex.starts_with(UNSIGNED_NUMBER) && !c.validates,
            "{}",
            c.regex
        );
        assert!(
            c.regex
                .ends_with(r"|-(?:0+(?:\.0*)?|\.0+)(?:[eE][+-]?[0-9]+)?")
        );
        assert_eq!(one("{type: boolean}").regex, "true|false");
        assert_eq!(one("{type: string}").regex, PLAIN);
        assert_eq!(one("{}").regex, PLAIN);
        assert_eq!(one("{type: string, minLength: 0}").regex, PLAIN);
        assert_eq!(one("{type: string, minLength: 2}").regex, "[^/]{2,}");
        assert_eq!(one("{type: string, maxLength: 8}").regex, "[^/]{1,8}");
        assert_eq!(
            one("{type: string, minLength: 3, maxLength: 3}").regex,
            "[^/]{3}"
        );
        let c = one("{type: string, maxLength: 100000}");
        assert_eq!((c.regex.as_str(), c.validates), (PLAIN, true));
        let c = one("{type: string, format: date}");
        assert_eq!((c.regex.as_str(), c.validates), (PLAIN, true));
        let c = one("{type: string, format: uuid}");
        assert_eq!(
            (c.name.as_str(), c.regex.as_str(), c.validates),
            ("uuid", UUID, false)
        );
        assert_eq!(one("{type: [string, 'null'], format: uuid}").regex, UUID);
    }

    #[test]
    fn enums() {
        let c = one("{type: string, enum: [a.b, c, c, '', null]}");
        assert_eq!(
            (c.name.as_str(), c.regex.as_str(), c.validates),
            ("enum", r"a\.b|c", false)
        );
        assert_eq!(one("{type: integer, enum: [1, 20]}").regex, "1|20");
        assert_eq!(one("{const: x}").regex, "x");
        assert_eq!(one("{enum: [abc, d], minLength: 2}").regex, "abc");
        assert!(
            convert("openapi: 3.0.3", "{enum: ['']}")
                .expect_err("empty")
                .contains("no value")
        );
    }

    #[test]
    fn patterns() {
        let c = one("{type: string, pattern: '^[a-z]+$'}");
        assert_eq!((c.regex.as_str(), c.validates), ("[a-z]+", false));
        let c = one("{type: string, pattern: '^[a-z]*$'}");
        assert!(c.validates, "may be empty");
        let c = one("{type: string, pattern: '^[a-z]+$', maxLength: 3}");
        assert!(c.validates);
        assert_eq!(c.kwargs["pattern"], "^[a-z]+$");
    }

    #[test]
    fn composition() {
        let doc = "openapi: 3.0.3\ncomponents:\n  schemas:\n    Id: {type: integer, minimum: 0}\n    Name: {type: string}\n";
        let c = convert(doc, "{$ref: '#/components/schemas/Id'}").expect("ref");
        assert_eq!(c.regex, UNSIGNED);
        let c = convert(
            doc,
            "{allOf: [{$ref: '#/components/schemas/Id'}, {maximum: 9}]}",
        )
        .expect("allOf");
        assert_eq!((c.regex.as_str(), c.validates), (UNSIGNED, true));
        let c = convert(
            doc,
            "{anyOf: [{$ref: '#/components/schemas/Id'}, {enum: [me]}]}",
        )
        .expect("anyOf");
        assert_eq!(
            (c.regex.as_str(), c.validates),
            ("(?:[0-9]+|-0+)|(?:me)", false)
        );
        let c = convert(doc, "{oneOf: [{type: integer}, {type: boolean}]}").expect("oneOf");
        assert!(c.validates);
        // 3.0 ignores a `$ref`'s siblings, 3.1 applies them.
        let c = convert(doc, "{$ref: '#/components/schemas/Id', maximum: 9}").expect("3.0");
        assert!(!c.validates);
        let doc31 = doc.replace("3.0.3", "3.1.0");
        let c = convert(&doc31, "{$ref: '#/components/schemas/Id', maximum: 9}").expect("3.1");
        assert!(c.validates);
        let err = convert(doc, "{allOf: [{type: integer}, {type: string}]}").expect_err("conflict");
        assert!(err.contains("two different `type` values"), "{err}");
    }

    #[test]
    fn cycles_and_refusals() {
        let doc = "openapi: 3.1.0\ncomponents:\n  schemas:\n    A: {anyOf: [{$ref: '#/components/schemas/B'}]}\n    B: {allOf: [{$ref: '#/components/schemas/A'}]}\n";
        let err = convert(doc, "{$ref: '#/components/schemas/A'}").expect_err("cycle");
        assert_eq!(
            err,
            ": `$ref` cycle: #/components/schemas/A -> #/components/schemas/B -> #/components/schemas/A"
        );
        for (schema, needle) in [
            ("{type: array, items: {type: string}}", "type `array`"),
            ("{type: object}", "type `object`"),
            ("{not: {type: string}}", "`not`"),
            ("{type: 'null'}", "type `null`"),
            (
                "{type: string, minLength: 3, maxLength: 2}",
                "above `maxLength`",
            ),
            ("{$ref: 'other.yaml#/X'}", "outside the document"),
            ("{$ref: '#/nope'}", "points at nothing"),
        ] {
            let err = convert("openapi: 3.0.3", schema).expect_err(schema);
            assert!(err.contains(needle), "{schema}: {err}");
        }
    }
}
