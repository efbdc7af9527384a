//! A custom emitter written against `routewall-core`: it turns a route table into a plain
//! list of anchored patterns, one per line, for a server that routewall does not know yet.
//! Run: `cargo run --example custom_emitter`.

use routewall_core::{
    Converter, EmitContext, EmitError, Emitter, Output, OutputFile, Param, Route, RouteTable,
    Segment,
};

/// Writes `allowlist.txt`: `^/literal/(?:PARAM-REGEX)$` per route.
struct PatternList;

impl Emitter for PatternList {
    fn name(&self) -> &str {
        "pattern-list"
    }

    fn emit(&self, routes: &RouteTable, _ctx: &EmitContext) -> Result<Output, EmitError> {
        let mut lines = Vec::new();
        for route in &routes.routes {
            let mut pattern = String::from("^");
            for segment in &route.segments {
                match segment {
                    Segment::Static { text } => pattern.push_str(&escape(text)),
                    Segment::Param(param) => {
                        if param.converter.dialect != routewall_core::RegexDialect::Python {
                            return Err(EmitError::Unsupported {
                                rule: route.rule.clone(),
                                endpoint: route.endpoint.clone(),
                                reason: "only Python-dialect converters".to_owned(),
                            });
                        }
                        pattern.push_str(&format!("(?:{})", param.converter.regex));
                    }
                }
            }
            pattern.push('$');
            lines.push(pattern);
        }
        let file = OutputFile::new(
            "allowlist.txt",
            "one pattern per route",
            lines.join("\n") + "\n",
        );
        Ok(Output::new(vec![file]))
    }
}

/// Escapes regex metacharacters of literal rule text.
fn escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let table = RouteTable::new("example", "example")
        .with_route(Route::new("index", "/", vec![Segment::text("/")]))
        .with_route(Route::new(
            "user",
            "/user/<int:id>",
            vec![
                Segment::text("/user/"),
                Segment::Param(Param::new("id", Converter::new("int", r"\d+"))),
            ],
        ));
    let output = PatternList.emit(&table, &EmitContext::default())?;
    for file in &output.files {
        print!("{}", file.contents);
    }
    Ok(())
}
