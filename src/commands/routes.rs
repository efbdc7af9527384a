use std::io::Write;

use anyhow::Result;
use routewall_core::{Registry, Segment};

use crate::ExitStatus;
use crate::cli::{OutputFormat, RoutesArgs};

pub(crate) fn run(registry: &Registry, args: &RoutesArgs) -> Result<ExitStatus> {
    let table = super::load_routes(registry, &args.source)?;
    let mut out = std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&table)?)?,
        OutputFormat::Text => {
            let width = table
                .routes
                .iter()
                .map(|r| r.rule.chars().count())
                .max()
                .unwrap_or(0);
            for route in &table.routes {
                let methods = route
                    .methods
                    .as_ref()
                    .map_or_else(|| "*".to_owned(), |m| m.join(","));
                let params: Vec<String> = route
                    .segments
                    .iter()
                    .filter_map(|s| match s {
                        Segment::Param(p) => Some(format!("{}={}", p.name, p.converter.name)),
                        Segment::Static { .. } => None,
                    })
                    .collect();
                let rule = route.rule.escape_debug().to_string();
                // The host or subdomain pattern, when the route answers on some hosts only.
                let host = match (&route.host, &route.subdomain) {
                    (Some(host), _) if table.host_matching => format!("  host={host}"),
                    (_, Some(sub)) if table.subdomain_matching => format!("  subdomain={sub}"),
                    _ => String::new(),
                };
                writeln!(
                    out,
                    "{rule:<width$}  {:<28} {methods}  {}{host}",
                    route.endpoint,
                    params.join(" ")
                )?;
            }
        }
    }
    Ok(ExitStatus::Success)
}
