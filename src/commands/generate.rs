use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use routewall_core::{CodeChecks, EmitContext, Output, OutputFile, Registry, Route, RouteTable};

use crate::ExitStatus;
use crate::cli::{CodeChecksArg, GenerateArgs, LayoutArg, Mode};

/// The route table an output was made from, written beside it so that `check` and
/// `--diff` can name the routes that changed instead of showing a text diff.
const MANIFEST: &str = "routes.json";

pub(crate) fn run(registry: &Registry, args: &GenerateArgs) -> Result<ExitStatus> {
    let (table, output) = render(registry, args)?;
    if args.diff {
        print_changes(&args.output, &table)?;
    }
    if args.dry_run {
        let mut stdout = std::io::stdout().lock();
        for file in &output.files {
            writeln!(stdout, "# ==> {} <==\n{}", file.name, file.contents)?;
        }
        return Ok(ExitStatus::Success);
    }
    let nginx = args
        .server_binary
        .clone()
        .unwrap_or_else(routewall_nginx_emitter::find_nginx);
    let whole_config_test = |staged: &Path| -> Result<()> {
        match &args.nginx_conf {
            Some(conf) => Ok(routewall_nginx_emitter::nginx_t_in_place(
                &nginx,
                conf,
                &args.output,
                staged,
            )?),
            None => Ok(()),
        }
    };
    write_all(&args.output, &output, &whole_config_test)?;
    let names: Vec<&str> = output.files.iter().map(|f| f.name.as_str()).collect();
    eprintln!(
        "wrote {} for {} routes of `{}` to {}",
        names.join(", "),
        table.routes.len(),
        table.app,
        args.output.display()
    );
    if args.reload {
        routewall_nginx_emitter::nginx_reload(&nginx, args.nginx_conf.as_deref())
            .context("the new files are in place, but nginx was not reloaded")?;
        eprintln!("reloaded nginx");
    }
    Ok(ExitStatus::Success)
}

pub(crate) fn check(registry: &Registry, args: &GenerateArgs) -> Result<ExitStatus> {
    let (table, output) = render(registry, args)?;
    let stale: Vec<&str> = output
        .files
        .iter()
        .filter(|f| {
            std::fs::read(args.output.join(&f.name)).ok().as_deref() != Some(f.contents.as_bytes())
        })
        .map(|f| f.name.as_str())
        .collect();
    if stale.is_empty() {
        eprintln!(
            "up to date: {} ({} routes)",
            args.output.display(),
            table.routes.len()
        );
        return Ok(ExitStatus::Success);
    }
    let changed_routes = print_changes(&args.output, &table)?;
    if !changed_routes {
        eprintln!(
            "routes unchanged, but the output differs (another routewall version or other options)"
        );
    }
    eprintln!(
        "out of date: {} in {}",
        stale.join(", "),
        args.output.display()
    );
    Ok(ExitStatus::Failure)
}

/// Where Debian's nginx keeps dynamic modules, and this one's name there.
const DEFAULT_NGINX_MODULE: &str = "/usr/lib/nginx/modules/ngx_http_routewall_module.so";

/// Reads the routes and renders (and, unless told not to, validates) the output, plus the
/// manifest.
fn render(registry: &Registry, args: &GenerateArgs) -> Result<(RouteTable, Output)> {
    // Look both plugins up before reading routes: a typo should not cost an app import.
    let emitter = registry.emitter(&args.target)?;
    if args.target != "nginx" {
        let nginx_only = [
            (args.reload, "--reload"),
            (args.nginx_conf.is_some(), "--nginx-conf"),
            (args.layout == LayoutArg::Server, "--layout server"),
            (args.layout == LayoutArg::Tree, "--layout tree"),
            (args.layout == LayoutArg::Module, "--layout module"),
        ];
        if let Some((_, flag)) = nginx_only.iter().find(|(set, _)| *set) {
            anyhow::bail!("{flag} applies to --target nginx only");
        }
    }
    match (args.layout, &args.pass) {
        (LayoutArg::Tree, None) => anyhow::bail!(
            "--layout tree needs --pass FILE: the file each allowing location includes (proxy_pass ...)"
        ),
        (LayoutArg::Location | LayoutArg::Server | LayoutArg::Module, Some(_)) => {
            anyhow::bail!("--pass applies to --layout tree only")
        }
        _ => {}
    }
    if args.layout != LayoutArg::Tree && !args.nginx_serves.is_empty() {
        anyhow::bail!("--nginx-serves applies to --layout tree only");
    }
    if args.layout != LayoutArg::Module && args.nginx_module.is_some() {
        anyhow::bail!("--nginx-module applies to --layout module only");
    }
    let mut table = super::load_routes(registry, &args.source)?;
    if args.methods && table.source == "starlette" {
        eprintln!(
            "warning: --methods for Starlette: where two routes' patterns overlap, the 405's Allow may list both routes' methods, and a redirect_slashes or frontend path may pass a method that a route on it refuses (README, \"Starlette and FastAPI\")"
        );
    }
    if args.layout == LayoutArg::Server {
        add_nginx_owned_paths(&mut table, args)?;
    }
    let ctx = EmitContext::default()
        .with_name(&args.name)
        .with_methods(args.methods)
        .with_templates_dir(args.templates.clone())
        .with_server_include(args.layout == LayoutArg::Server)
        .with_pass_include(args.pass.clone())
        .with_served_prefixes(args.nginx_serves.clone())
        .with_server_module((args.layout == LayoutArg::Module).then(|| {
            args.nginx_module
                .clone()
                .unwrap_or_else(|| DEFAULT_NGINX_MODULE.into())
        }))
        .with_code_checks(match args.converter_checks {
            CodeChecksArg::Allow => CodeChecks::Allow,
            CodeChecksArg::Deny => CodeChecks::Deny,
        })
        .with_monitor_log((args.mode == Mode::Monitor).then(|| {
            args.monitor_log
                .clone()
                .unwrap_or_else(|| format!("/var/log/nginx/{}-would-refuse.log", args.name).into())
        }))
        .with_server_binary(args.server_binary.clone())
        .with_output_dir(std::path::absolute(&args.output).ok());
    let mut output = emitter.emit(&table, &ctx)?;
    if !args.no_validate {
        emitter.validate(&output, &ctx)?;
    }
    for warning in &output.warnings {
        eprintln!("warning: {warning}");
    }
    // Which interpreter read the table is not part of it: both transports must agree.
    table.read_by = None;
    let manifest = serde_json::to_string_pretty(&table)? + "\n";
    output.files.push(OutputFile::new(
        MANIFEST,
        "the route table this output was made from (for `routewall check`)",
        manifest,
    ));
    Ok((table, output))
}

/// The server layout checks requests before nginx picks a location, so the paths of the
/// locations nginx serves itself must be allowed too: read from the configuration.
fn add_nginx_owned_paths(table: &mut RouteTable, args: &GenerateArgs) -> Result<()> {
    let conf = args.nginx_conf.as_deref().context(
        "--layout server needs --nginx-conf, to let the server's own nginx locations through",
    )?;
    let tree = routewall_nginx_emitter::conf::load(conf)?;
    let owned = routewall_nginx_emitter::conf::nginx_owned(&tree).map_err(anyhow::Error::msg)?;
    for path in owned {
        let origin = format!("the nginx location at {}", path.at);
        table
            .routes
            .push(Route::extra(&path.pattern, origin).map_err(anyhow::Error::msg)?);
    }
    Ok(())
}

/// Prints `+ rule` / `- rule` lines against the manifest in `dir`; whether any route
/// changed.
fn print_changes(dir: &Path, table: &RouteTable) -> Result<bool> {
    let old: Option<RouteTable> = std::fs::read_to_string(dir.join(MANIFEST))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok());
    let Some(old) = old else {
        eprintln!(
            "no previous output in {}: every route is new",
            dir.display()
        );
        return Ok(!table.routes.is_empty());
    };
    let (before, after) = (route_lines(&old), route_lines(table));
    for line in before.difference(&after) {
        eprintln!("- {line}");
    }
    for line in after.difference(&before) {
        eprintln!("+ {line}");
    }
    Ok(before != after)
}

fn route_lines(table: &RouteTable) -> BTreeSet<String> {
    table
        .routes
        .iter()
        .map(|r| {
            let methods = r
                .methods
                .as_ref()
                .map_or_else(|| "any method".to_owned(), |m| m.join(","));
            let origin = r
                .origin
                .as_deref()
                .map(|o| format!(", from {o}"))
                .unwrap_or_default();
            format!(
                "{} ({}; {methods}{origin})",
                r.rule.escape_debug(),
                r.endpoint.escape_debug()
            )
        })
        .collect()
}

/// Removes what a crashed run left behind (`.staging.XXXXXX`). Only called while holding
/// the lock, so no other run is using it.
fn remove_stale_staging(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(".staging.") {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Writes every file into a staging directory inside `dir`, lets `test` check the staged
/// files, then renames each into place: a reader never sees a half-written file, and a
/// failure or a crash before the renames leaves the previous files as they were. An
/// exclusive lock on `DIR/.routewall.lock` keeps two runs from interleaving.
fn write_all(dir: &Path, output: &Output, test: &dyn Fn(&Path) -> Result<()>) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let lock_path = dir.join(".routewall.lock");
    let lock = std::fs::File::create(&lock_path)
        .with_context(|| format!("cannot create {}", lock_path.display()))?;
    lock.lock()
        .with_context(|| format!("cannot lock {}", lock_path.display()))?;
    remove_stale_staging(dir);
    let staging = tempfile::Builder::new()
        .prefix(".staging.")
        .tempdir_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    for file in &output.files {
        // Names come from the emitter, perhaps a plugin: one plain file name each.
        let plain = super::is_plain_relative(&file.name) && !file.name.contains('/');
        if !plain || file.name.starts_with(".staging.") || file.name == ".routewall.lock" {
            anyhow::bail!(
                "the emitter named an output file `{}`, which is not a plain file name",
                file.name.escape_debug()
            );
        }
        let path = staging.path().join(&file.name);
        let mut handle = std::fs::File::create(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        handle.write_all(file.contents.as_bytes())?;
        handle.sync_all()?;
    }
    // Files of the output directory that this run does not write stay visible to the test.
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let keep = !name.to_string_lossy().starts_with('.') && entry.path().is_file();
            if keep && !staging.path().join(&name).exists() {
                let _ = std::fs::copy(entry.path(), staging.path().join(&name));
            }
        }
    }
    test(staging.path())?;
    // Tests stop the process here to show that a crash leaves the previous files whole.
    if std::env::var_os("ROUTEWALL_FAILPOINT").is_some_and(|v| v == "before-rename") {
        std::process::abort();
    }
    for file in &output.files {
        let target = dir.join(&file.name);
        std::fs::rename(staging.path().join(&file.name), &target)
            .with_context(|| format!("cannot replace {}", target.display()))?;
    }
    Ok(())
}
