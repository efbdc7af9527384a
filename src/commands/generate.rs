use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use routewall_core::{EmitContext, Output, Registry};

use crate::ExitStatus;
use crate::cli::GenerateArgs;

pub(crate) fn run(registry: &Registry, args: &GenerateArgs) -> Result<ExitStatus> {
    // Look both plugins up before reading routes: a typo should not cost an app import.
    let emitter = registry.emitter(&args.target)?;
    let table = super::load_routes(registry, &args.source)?;
    let ctx = EmitContext::default()
        .with_name(&args.name)
        .with_methods(args.methods)
        .with_server_binary(args.server_binary.clone());
    let output = emitter.emit(&table, &ctx)?;
    if !args.no_validate {
        emitter.validate(&output, &ctx)?;
    }
    for warning in &output.warnings {
        eprintln!("warning: {warning}");
    }
    write_all(&args.output, &output)?;
    eprintln!(
        "wrote {} for {} routes of `{}` to {}",
        output
            .files
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(" and "),
        table.routes.len(),
        table.app,
        args.output.display()
    );
    Ok(ExitStatus::Success)
}

/// Writes every file to a temporary name in the target directory, then renames it into
/// place, so a reader never sees a half-written file and a failure leaves the old one.
fn write_all(dir: &Path, output: &Output) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut staged = Vec::new();
    for file in &output.files {
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!(".{}.", file.name))
            .tempfile_in(dir)
            .with_context(|| format!("cannot write in {}", dir.display()))?;
        tmp.write_all(file.contents.as_bytes())?;
        tmp.as_file().sync_all()?;
        staged.push((tmp, dir.join(&file.name)));
    }
    for (tmp, target) in staged {
        tmp.persist(&target)
            .with_context(|| format!("cannot replace {}", target.display()))?;
    }
    Ok(())
}
