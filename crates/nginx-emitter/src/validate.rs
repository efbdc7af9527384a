//! Checking output with nginx itself before anything is written.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use routewall_core::{EmitContext, EmitError, Output};

/// Runs `nginx -t` on a scratch configuration that includes the output the way the README
/// tells users to: `http.conf` in `http { }`, `location.conf` in an app location.
pub(crate) fn nginx_t(output: &Output, ctx: &EmitContext) -> Result<(), EmitError> {
    let program = ctx.server_binary.clone().unwrap_or_else(find_nginx);
    let validator = |cause: String| EmitError::Validator {
        program: program.display().to_string(),
        cause,
    };
    let scratch = tempfile::tempdir()
        .map_err(|e| validator(format!("cannot create a scratch directory: {e}")))?;
    let dir = scratch.path();
    for file in &output.files {
        std::fs::write(dir.join(&file.name), &file.contents)
            .map_err(|e| validator(e.to_string()))?;
    }
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, scratch_config(dir)).map_err(|e| validator(e.to_string()))?;
    let result = Command::new(&program)
        .arg("-t")
        .arg("-q")
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf)
        .arg("-e")
        .arg(dir.join("error.log"))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| validator(e.to_string()))?;
    if result.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&result.stderr);
    let message = stderr
        .lines()
        .find(|l| l.contains("[emerg]") || l.contains("[alert]"))
        .or_else(|| stderr.lines().next())
        .unwrap_or("no message")
        .replace(&format!("{}/", dir.display()), "");
    Err(EmitError::Rejected {
        server: "nginx -t".to_owned(),
        message,
    })
}

fn scratch_config(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "pid {d}/nginx.pid;\nevents {{}}\nhttp {{\n    access_log off;\n    client_body_temp_path {d}/body;\n    proxy_temp_path {d}/proxy;\n    include {d}/http.conf;\n    server {{\n        listen 127.0.0.1:9;\n        location / {{\n            include {d}/location.conf;\n            return 204;\n        }}\n    }}\n}}\n"
    )
}

/// `nginx` on `PATH`, else Debian's and the upstream default locations.
pub fn find_nginx() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("nginx"));
    on_path
        .chain(["/usr/sbin/nginx", "/usr/local/nginx/sbin/nginx"].map(PathBuf::from))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("nginx"))
}
