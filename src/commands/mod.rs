//! One module per subcommand.

mod generate;
mod plugins;
mod routes;

use anyhow::Result;
use routewall_core::{Registry, RouteTable, SourceContext};

use crate::ExitStatus;
use crate::cli::{Cli, Command, PluginsCommand, SourceArgs};

pub(crate) fn run(cli: Cli) -> Result<ExitStatus> {
    let registry = Registry::builtin()?;
    match cli.command {
        Command::Generate(args) => generate::run(&registry, &args),
        Command::Routes(args) => routes::run(&registry, &args),
        Command::Plugins(PluginsCommand::List { format }) => plugins::list(&registry, format),
    }
}

/// Reads the route table the user named.
fn load_routes(registry: &Registry, args: &SourceArgs) -> Result<RouteTable> {
    let source = registry.source(&args.source)?;
    let cwd = std::env::current_dir()?;
    let ctx = SourceContext::new(&args.app, cwd).with_venv(args.venv.clone());
    let table = source.load(&ctx)?;
    eprintln!(
        "read {} routes of `{}` with {}",
        table.routes.len(),
        table.app,
        table.read_by.as_deref().unwrap_or(&args.source)
    );
    Ok(table)
}
