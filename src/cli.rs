//! Command-line interface definition.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Serve only the routes your app defines.
///
/// routewall reads an application's route table and writes a web-server configuration that
/// lets exactly those routes through; everything else gets a 404 from the server itself.
#[derive(Debug, Parser)]
#[command(name = "routewall", version, long_version = long_version(), about, long_about)]
pub(crate) struct Cli {
    /// Load a run-time plugin (a shared library built with `export_plugin!`); repeatable.
    /// Also read from ROUTEWALL_PLUGINS (paths separated by `:`). Plugins load only from
    /// the paths named here, never from the working directory.
    #[arg(long = "plugin", value_name = "FILE", global = true)]
    pub(crate) plugins: Vec<PathBuf>,
    /// A TOML file with `plugins = [...]` and `allow = [...]` (see the README). Also read
    /// from ROUTEWALL_CONFIG; never looked for in the working directory.
    #[arg(long, value_name = "FILE", global = true)]
    pub(crate) config: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

fn long_version() -> &'static str {
    concat!(
        env!("CARGO_PKG_VERSION"),
        "\nembedded Python: ",
        env!("ROUTEWALL_PYTHON_BUILD")
    )
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Write the server configuration that allows exactly the app's routes.
    Generate(GenerateArgs),
    /// Exit 1 if the files in --output differ from what `generate` would write (same
    /// arguments), printing the routes added and removed; exit 0 if they are up to date.
    Check(GenerateArgs),
    /// Print the route table the source reads.
    Routes(RoutesArgs),
    /// Work with the templates the output is rendered from.
    #[command(subcommand)]
    Templates(TemplatesCommand),
    /// Check an nginx configuration: does every location that passes requests to the app
    /// include the allowlist? Exit 1, with the lines to add, when one does not.
    Doctor(DoctorArgs),
    /// Inspect the sources and targets routewall knows.
    #[command(subcommand)]
    Plugins(PluginsCommand),
}

/// Which app to read.
#[derive(Debug, Args)]
pub(crate) struct SourceArgs {
    /// Where routes come from (`routewall plugins list` shows the choices).
    #[arg(long, value_name = "NAME")]
    pub(crate) source: String,
    /// The app. Flask: as `flask --app` takes it (`module`, `module:name`,
    /// `module:create_app()`, `module:create_app("arg")` or `path/to/app.py`). Django: the
    /// settings module, as DJANGO_SETTINGS_MODULE takes it (`mysite.settings`). Starlette
    /// and FastAPI: as uvicorn takes it (`main:app`, `package.module:attribute`). Looked up
    /// from the current directory first, then PYTHONPATH, then the environment's
    /// site-packages.
    #[arg(long, value_name = "APP")]
    pub(crate) app: String,
    /// Django: the URLconf module to read instead of the settings' ROOT_URLCONF.
    #[arg(long, value_name = "MODULE")]
    pub(crate) urlconf: Option<String>,
    /// Starlette and FastAPI: APP names a factory to call for the app (as `uvicorn
    /// --factory`).
    #[arg(long)]
    pub(crate) factory: bool,
    /// The app's virtualenv. Default: $VIRTUAL_ENV, else ./.venv, else the Python routewall
    /// embeds. A venv of another Python version is read with its own interpreter.
    #[arg(long, value_name = "DIR")]
    pub(crate) venv: Option<PathBuf>,
    /// The sub-path the app is mounted at (gunicorn's SCRIPT_NAME, a DispatcherMiddleware
    /// mount): every route is allowed under it, `/` as both PREFIX and PREFIX/.
    #[arg(long, value_name = "PREFIX")]
    pub(crate) prefix: Option<String>,
    /// Also allow a path the framework's route table cannot see (Socket.IO, a mounted
    /// sub-app, SharedDataMiddleware). `PATH` allows exactly that path, `PATH*` every path
    /// starting with PATH. Repeatable; listed in the output as coming from --allow.
    #[arg(long, value_name = "PATH")]
    pub(crate) allow: Vec<String>,
    /// Let requests carrying Werkzeug's debugger query (`?__debugger__=…`) through. By
    /// default they are refused on every path, since the debugger answers them anywhere.
    #[arg(long)]
    pub(crate) no_block_debugger: bool,
    /// Paths from the config file's `allow`, with the file they came from.
    #[arg(skip)]
    pub(crate) config_allow: Vec<(String, String)>,
}

#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    #[command(flatten)]
    pub(crate) source: SourceArgs,
    /// The server to configure (`nginx`).
    #[arg(long, value_name = "NAME")]
    pub(crate) target: String,
    /// Directory to write into; created if missing. For nginx: http.conf, location.conf,
    /// routes.json (server.conf too with --layout server; http.conf, tree.conf and
    /// routes.json with --layout tree).
    /// Files are replaced atomically, and only after the whole output passed validation.
    #[arg(long, short, value_name = "DIR")]
    pub(crate) output: PathBuf,
    /// Prefix of every variable the output defines, so several apps can share one server.
    #[arg(long, value_name = "NAME", default_value = "routewall")]
    pub(crate) name: String,
    /// The server binary used to validate the output (`nginx -t`). Default: on PATH.
    #[arg(long, value_name = "PATH")]
    pub(crate) server_binary: Option<PathBuf>,
    /// Answer a known path asked with a method its rules do not accept with 405 and an
    /// Allow header from the server, as the app would (HEAD comes with GET, OPTIONS unless
    /// the route disables it). Without it, any method passes and the app answers.
    #[arg(long)]
    pub(crate) methods: bool,
    /// The main nginx configuration that includes the output. The whole configuration is
    /// then tested with the new files in place (`nginx -t -c FILE`, in a private mount
    /// namespace, so the files on disk only change after it passed). Needs root.
    #[arg(long, value_name = "FILE")]
    pub(crate) nginx_conf: Option<PathBuf>,
    /// After writing, reload nginx (`nginx -s reload`, with `-c FILE` when --nginx-conf is
    /// given). Never a restart, and only after the configuration test passed.
    #[arg(long)]
    pub(crate) reload: bool,
    /// `location` (default): the check goes first in each location that passes requests
    /// to the app. `server`: also write server.conf, one line at the top of the server block
    /// as the seed tool had it; the paths of the server's own nginx locations (static files,
    /// ACME, error pages) are then read from --nginx-conf and let through. `tree`: write
    /// tree.conf, the server's locations themselves (one per exact path, one per prefix
    /// group), each allowing one including --pass; no map runs per request. `module`: the
    /// same allowlist as a table in http.conf that routewall's nginx module checks in
    /// compiled code, switched on by location.conf (`routewall NAME;`); nginx must load
    /// the module (nginx-module/build.sh builds it). README, "Cost, measured", compares
    /// the three.
    #[arg(long, value_enum, default_value_t = LayoutArg::Location)]
    pub(crate) layout: LayoutArg,
    /// With --layout tree: the file (absolute path) each location that lets a request
    /// through includes, holding what the app's location held (`proxy_pass` and friends).
    #[arg(long, value_name = "FILE")]
    pub(crate) pass: Option<PathBuf>,
    /// With --layout tree (repeatable): a path prefix your own nginx location serves
    /// (`/static/`); the app's routes under it are left out of tree.conf, whose locations
    /// would collide with yours.
    #[arg(long, value_name = "PREFIX")]
    pub(crate) nginx_serves: Vec<String>,
    /// With --layout module: the module file validation loads into its scratch nginx.
    #[arg(long, value_name = "FILE")]
    pub(crate) nginx_module: Option<PathBuf>,
    /// `enforce` refuses what the app does not route; `monitor` lets everything through and
    /// logs each request enforce mode would refuse (to --monitor-log), for a first rollout.
    #[arg(long, value_enum, default_value_t = Mode::Enforce)]
    pub(crate) mode: Mode,
    /// Where monitor mode logs (one line per request: time, client, request line, host,
    /// and the status enforce mode would answer). Default: /var/log/nginx/NAME-would-refuse.log.
    #[arg(long, value_name = "FILE")]
    pub(crate) monitor_log: Option<PathBuf>,
    /// Routes whose converters check values in code (`int(max=10)`, a custom to_python),
    /// which nginx cannot run: `allow` every value the converter's regex matches (the app
    /// refuses the rest itself), or `deny` such routes entirely.
    #[arg(long, value_enum, default_value_t = CodeChecksArg::Allow)]
    pub(crate) converter_checks: CodeChecksArg,
    /// A directory of templates that replace the built-in ones by name (`nginx/location.conf`)
    /// or extend them (`{% extends "__routewall/nginx/location.conf" %}`) and replace a block.
    /// `routewall templates export` writes the built-ins out as a starting point.
    #[arg(long, value_name = "DIR")]
    pub(crate) templates: Option<PathBuf>,
    /// Print the routes added and removed against the files in --output before writing.
    #[arg(long)]
    pub(crate) diff: bool,
    /// Print the files to stdout instead of writing them.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Write without asking the server to check the output first.
    #[arg(long)]
    pub(crate) no_validate: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// The main nginx configuration file. Default: the one nginx was built to read
    /// (`--conf-path` in `nginx -V`).
    #[arg(long, value_name = "FILE")]
    pub(crate) nginx_conf: Option<PathBuf>,
    /// The allowlist's name, as given to `generate --name`.
    #[arg(long, value_name = "NAME", default_value = "routewall")]
    pub(crate) name: String,
    /// The nginx binary, to find the default configuration.
    #[arg(long, value_name = "PATH")]
    pub(crate) server_binary: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct RoutesArgs {
    #[command(flatten)]
    pub(crate) source: SourceArgs,
    /// Output format: an aligned table, or the route model as JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub(crate) format: OutputFormat,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TemplatesCommand {
    /// Write a target's built-in templates into DIR, as a starting point for --templates.
    Export {
        /// The target whose templates to write (`nginx`).
        target: String,
        /// Where to write them; created if missing. Existing files are not overwritten.
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PluginsCommand {
    /// List every registered source and target.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
}

/// See `--layout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LayoutArg {
    /// In each app location.
    Location,
    /// At the top of the server block.
    Server,
    /// The server's locations, written by routewall.
    Tree,
    /// A table checked by routewall's nginx module.
    Module,
}

/// See `--converter-checks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CodeChecksArg {
    /// Allow what the regex matches.
    Allow,
    /// Leave the route out.
    Deny,
}

/// What the allowlist does with a request it does not vouch for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Mode {
    /// Answer it with 404 (or 405) from nginx.
    Enforce,
    /// Let it through and log it.
    Monitor,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub(crate) enum OutputFormat {
    /// For people.
    #[default]
    Text,
    /// For programs; stdout holds only JSON.
    Json,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
