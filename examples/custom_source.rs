//! A custom route source written against `routewall-core`: it reads routes from a small
//! text file (`METHOD /path/<int:id>` per line) and hands them to the built-in NGINX
//! emitter. Run: `cargo run --example custom_source -- routes.txt`.

use routewall_core::{
    Converter, EmitContext, Emitter, Param, Route, RouteSource, RouteTable, Segment, SourceContext,
    SourceError,
};
use routewall_nginx_emitter::NginxEmitter;

/// Reads `METHOD PATH` lines; `<int:name>` and `<name>` are parameters.
struct TextFileSource;

impl RouteSource for TextFileSource {
    fn name(&self) -> &str {
        "text-file"
    }

    fn load(&self, ctx: &SourceContext) -> Result<RouteTable, SourceError> {
        let text = std::fs::read_to_string(&ctx.app).map_err(|e| SourceError::App {
            app: ctx.app.clone(),
            cause: e.to_string(),
        })?;
        let mut table = RouteTable::new("text-file", ctx.app.clone());
        for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            let (method, path) =
                line.trim()
                    .split_once(' ')
                    .ok_or_else(|| SourceError::Protocol {
                        app: ctx.app.clone(),
                        cause: format!("line {}: expected `METHOD PATH`", i + 1),
                    })?;
            let mut route = Route::new(format!("route{i}"), path, segments(path));
            route.methods = Some(vec![method.to_owned()]);
            table.routes.push(route);
        }
        Ok(table)
    }
}

/// Splits `/user/<int:id>` into static text and parameters.
fn segments(path: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('<') {
        let Some(end) = rest[start..].find('>').map(|e| e + start) else {
            break;
        };
        if start > 0 {
            out.push(Segment::text(&rest[..start]));
        }
        let inner = &rest[start + 1..end];
        let (converter, name) = inner.split_once(':').unwrap_or(("default", inner));
        let regex = if converter == "int" { r"\d+" } else { "[^/]+" };
        out.push(Segment::Param(Param::new(
            name,
            Converter::new(converter, regex),
        )));
        rest = &rest[end + 1..];
    }
    if !rest.is_empty() {
        out.push(Segment::text(rest));
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let file = std::env::args()
        .nth(1)
        .ok_or("usage: custom_source ROUTES.TXT")?;
    let table = TextFileSource.load(&SourceContext::new(file, "."))?;
    let output = NginxEmitter.emit(&table, &EmitContext::default())?;
    let http = output.file("http.conf").ok_or("no http.conf")?;
    println!(
        "{} routes -> {} bytes of http.conf",
        table.routes.len(),
        http.contents.len()
    );
    Ok(())
}
