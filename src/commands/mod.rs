//! One module per subcommand.

mod doctor;
mod generate;
mod plugins;
mod routes;

use anyhow::Context as _;
use anyhow::Result;
use routewall_core::plugin::LoadedPlugin;
use routewall_core::{Registry, Route, RouteTable, SourceContext};

use crate::ExitStatus;
use crate::cli::{Cli, Command, PluginsCommand, SourceArgs, TemplatesCommand};
use crate::config::Config;

pub(crate) fn run(mut cli: Cli) -> Result<ExitStatus> {
    let config = Config::load(cli.config.as_deref())?;
    let source_args = match &mut cli.command {
        Command::Generate(args) | Command::Check(args) => Some(&mut args.source),
        Command::Routes(args) => Some(&mut args.source),
        _ => None,
    };
    if let Some(source) = source_args {
        let origin = format!("config {}", config.path.display());
        source.config_allow = config
            .allow
            .iter()
            .map(|a| (a.clone(), origin.clone()))
            .collect();
    }
    let mut registry = Registry::builtin()?;
    let paths = config
        .plugins
        .iter()
        .cloned()
        .chain(plugin_paths(&cli.plugins));
    for path in paths {
        let plugin = LoadedPlugin::load(&path)?;
        registry
            .add_plugin(plugin)
            .with_context(|| format!("cannot register plugin {}", path.display()))?;
    }
    match cli.command {
        Command::Generate(args) => generate::run(&registry, &args),
        Command::Check(args) => generate::check(&registry, &args),
        Command::Routes(args) => routes::run(&registry, &args),
        Command::Doctor(args) => doctor::run(&args),
        Command::Templates(TemplatesCommand::Export { target, dir }) => {
            export_templates(&registry, &target, &dir)
        }
        Command::Plugins(PluginsCommand::List { format }) => plugins::list(&registry, format),
    }
}

/// The plugin files to load: `ROUTEWALL_PLUGINS` (as the deploy environment sets it), then
/// each `--plugin`. Empty entries (`a.so::b.so`, a trailing `:`) are skipped, so that a
/// relative path never comes from an accident of quoting.
fn plugin_paths(flags: &[std::path::PathBuf]) -> Vec<std::path::PathBuf> {
    let from_env = std::env::var_os("ROUTEWALL_PLUGINS").unwrap_or_default();
    std::env::split_paths(&from_env)
        .filter(|p| !p.as_os_str().is_empty())
        .chain(flags.iter().cloned())
        .collect()
}

/// Writes `target`'s built-in templates under `dir`, keeping any file already there.
fn export_templates(
    registry: &Registry,
    target: &str,
    dir: &std::path::Path,
) -> Result<ExitStatus> {
    use anyhow::Context as _;
    let emitter = registry.emitter(target)?;
    for (name, body) in emitter.templates() {
        anyhow::ensure!(
            is_plain_relative(name),
            "the {target} emitter names a template `{}`, which is not a plain relative path",
            name.escape_debug()
        );
        let path = dir.join(name);
        if path.exists() {
            eprintln!("kept {} (exists)", path.display());
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, body).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(ExitStatus::Success)
}

/// Whether `name` (from an emitter, perhaps a plugin) stays below the directory it is
/// joined to: relative, and no `..` or `.` component.
fn is_plain_relative(name: &str) -> bool {
    let path = std::path::Path::new(name);
    path.components().next().is_some()
        && path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// Reads the route table the user named.
fn load_routes(registry: &Registry, args: &SourceArgs) -> Result<RouteTable> {
    let source = registry.source(&args.source)?;
    let cwd = std::env::current_dir()?;
    let mut ctx = SourceContext::new(&args.app, cwd).with_venv(args.venv.clone());
    if let Some(urlconf) = &args.urlconf {
        ctx = ctx.with_option("urlconf", urlconf);
    }
    if args.factory {
        ctx = ctx.with_option("factory", "true");
    }
    let mut table = source.load(&ctx)?;
    if let Some(prefix) = &args.prefix {
        table.mount(prefix).map_err(anyhow::Error::msg)?;
    }
    for pattern in &args.allow {
        table
            .routes
            .push(Route::extra(pattern, "--allow").map_err(|e| anyhow::anyhow!("--allow {e}"))?);
    }
    for (pattern, origin) in &args.config_allow {
        table.routes.push(
            Route::extra(pattern, origin.as_str())
                .map_err(|e| anyhow::anyhow!("{origin}: allow {e}"))?,
        );
    }
    if args.no_block_debugger {
        table.blocked_query_keys.retain(|key| key != "__debugger__");
    }
    eprintln!(
        "read {} routes of `{}` with {}",
        table.routes.len(),
        table.app,
        table.read_by.as_deref().unwrap_or(&args.source)
    );
    Ok(table)
}
