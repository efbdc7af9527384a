use std::io::Write;

use anyhow::Result;
use routewall_core::Registry;

use crate::ExitStatus;
use crate::cli::OutputFormat;

pub(crate) fn list(registry: &Registry, format: OutputFormat) -> Result<ExitStatus> {
    let mut out = std::io::stdout().lock();
    let plugins = registry.list();
    match format {
        OutputFormat::Json => {
            let json: Vec<_> = plugins
                .iter()
                .map(|p| {
                    serde_json::json!({ "kind": p.kind.to_string(), "name": p.name, "summary": p.summary, "origin": p.origin, "version": p.version })
                })
                .collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        }
        OutputFormat::Text => {
            for p in plugins {
                writeln!(
                    out,
                    "{:<7} {:<8} {:<8} {:<9} {}",
                    p.kind, p.name, p.version, p.origin, p.summary
                )?;
            }
        }
    }
    Ok(ExitStatus::Success)
}
