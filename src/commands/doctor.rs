use std::io::Write;

use anyhow::{Context, Result};
use routewall_nginx_emitter::conf;

use crate::ExitStatus;
use crate::cli::DoctorArgs;

pub(crate) fn run(args: &DoctorArgs) -> Result<ExitStatus> {
    let main = match &args.nginx_conf {
        Some(path) => path.clone(),
        None => {
            let nginx = args
                .server_binary
                .clone()
                .unwrap_or_else(routewall_nginx_emitter::find_nginx);
            conf::default_conf_path(&nginx).with_context(|| {
                format!(
                    "cannot ask `{} -V` for its configuration file; pass --nginx-conf",
                    nginx.display()
                )
            })?
        }
    };
    let tree = conf::load(&main)?;
    let report = conf::doctor(&tree, &args.name);
    let location_file = report.location_include.as_ref().map_or_else(
        || format!("/path/to/{}/location.conf", args.name),
        |p| p.display().to_string(),
    );
    let mut out = std::io::stdout().lock();
    match &report.http_include {
        Some(at) => writeln!(out, "http: allowlist maps loaded ({at})")?,
        None => writeln!(
            out,
            "http: MISSING — add inside http {{ }} in {}: include /path/to/{}/http.conf;",
            main.display(),
            args.name
        )?,
    }
    for server in &report.servers {
        writeln!(out, "server {} ({})", server.names.join(" "), server.at)?;
        if server.app_locations.is_empty() {
            writeln!(out, "  (no location passes requests to an app)")?;
        }
        for location in &server.app_locations {
            if location.forwards_host == Some(false) {
                writeln!(
                    out,
                    "  warning {} ({}): proxy_pass without `proxy_set_header Host $host`: the app sees the upstream's name as Host, so Werkzeug's trusted-host check cannot work",
                    location.location, location.at
                )?;
            }
            if report.checks_hosts && location.host_header.as_deref() == Some("$http_host") {
                writeln!(
                    out,
                    "  warning {} ({}): forwards `Host $http_host`, but the allowlist checks hosts as `$host` (no port, lower case): set `proxy_set_header Host $host;` so the app routes the host that was checked",
                    location.location, location.at
                )?;
            }
            if location.protected {
                writeln!(out, "  ok      {} ({})", location.location, location.at)?;
            } else if report.tree_layout {
                // tree.conf replaces the app's locations; there is no file to include.
                writeln!(
                    out,
                    "  BYPASS  {} ({}): passes to the app outside the tree layout's locations; remove it: tree.conf's own locations pass every allowed request to the app through the --pass file",
                    location.location, location.at
                )?;
            } else {
                writeln!(
                    out,
                    "  BYPASS  {} ({}): passes to the app without the allowlist; add as its first line:\n            include {location_file};",
                    location.location, location.at
                )?;
            }
        }
    }
    if report.is_protected() {
        writeln!(
            out,
            "protected: every location that reaches the app checks the allowlist"
        )?;
        Ok(ExitStatus::Success)
    } else {
        writeln!(out, "NOT protected")?;
        Ok(ExitStatus::Failure)
    }
}
