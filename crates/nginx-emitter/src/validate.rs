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
    output
        .write_into(dir)
        .map_err(|e| validator(e.to_string()))?;
    if let Some(pass) = &ctx.pass_include {
        // The scratch test checks the output, not the operator's pass file: that one may
        // name upstreams only their own configuration defines (--nginx-conf tests the
        // whole). So tree.conf includes a scratch stand-in here.
        let tree = dir.join("tree.conf");
        let stand_in = dir.join("pass.conf");
        std::fs::write(&stand_in, "return 204;\n").map_err(|e| validator(e.to_string()))?;
        let text = std::fs::read_to_string(&tree).map_err(|e| validator(e.to_string()))?;
        let swapped = text.replace(
            &format!("include {};", crate::tree::pass_token(pass)),
            &format!("include {};", crate::tree::pass_token(&stand_in)),
        );
        std::fs::write(&tree, swapped).map_err(|e| validator(e.to_string()))?;
    }
    let module = match &ctx.server_module {
        Some(module) => Some(loadable(module).map_err(validator)?),
        None => None,
    };
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, scratch_config(dir, module.as_deref()))
        .map_err(|e| validator(e.to_string()))?;
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

/// The module file as a `load_module` argument: there, and absolute (nginx reads a
/// relative one from its own prefix, here the scratch directory).
fn loadable(module: &Path) -> Result<String, String> {
    let absolute = std::path::absolute(module).map_err(|e| e.to_string())?;
    if !absolute.is_file() {
        return Err(format!(
            "the routewall nginx module `{}` is not there: build it with nginx-module/build.sh, or name it with --nginx-module",
            module.display()
        ));
    }
    Ok(crate::quote::token(&absolute.to_string_lossy()))
}

fn scratch_config(dir: &Path, module: Option<&str>) -> String {
    let d = dir.display();
    let load = module.map_or(String::new(), |m| format!("load_module {m};\n"));
    // server.conf, when there is one, is tested at the top of a second server.
    let server = if dir.join("server.conf").exists() {
        format!(
            "    server {{\n        listen 127.0.0.1:10;\n        include {d}/server.conf;\n        location / {{ return 204; }}\n    }}\n"
        )
    } else {
        String::new()
    };
    // tree.conf, in the tree layout, holds the whole server's locations.
    let app_server = if dir.join("tree.conf").exists() {
        format!("        include {d}/tree.conf;\n")
    } else {
        format!(
            "        location / {{\n            include {d}/location.conf;\n            return 204;\n        }}\n"
        )
    };
    format!(
        "{load}pid {d}/nginx.pid;\nevents {{}}\nhttp {{\n    access_log off;\n    client_body_temp_path {d}/body;\n    proxy_temp_path {d}/proxy;\n    include {d}/http.conf;\n    server {{\n        listen 127.0.0.1:9;\n{app_server}    }}\n{server}}}\n"
    )
}

/// `nginx` on `PATH`, else Debian's and the upstream default locations.
pub fn find_nginx() -> PathBuf {
    routewall_core::find_program("nginx", &["/usr/sbin/nginx", "/usr/local/nginx/sbin/nginx"])
}

/// Runs `nginx -t -c CONF` on the user's whole configuration as it will be once `staged`
/// (a directory holding the new files) replaces `output_dir` — without touching
/// `output_dir`: the test runs in a private mount namespace where `staged` is bind-mounted
/// over it. Nothing on disk changes, so a crash or a failed test leaves the previous files
/// exactly as they were. Needs root (or CAP_SYS_ADMIN) and util-linux's `unshare`.
pub fn nginx_t_in_place(
    nginx: &Path,
    conf: &Path,
    output_dir: &Path,
    staged: &Path,
) -> Result<(), EmitError> {
    let program = format!("{} -t -c {}", nginx.display(), conf.display());
    // Paths travel as positional parameters, never spliced into the script.
    let result = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
        .arg(r#"mount --bind "$1" "$2" || exit 97; exec "$3" -t -q -c "$4""#)
        .arg("routewall")
        .arg(staged)
        .arg(output_dir)
        .arg(nginx)
        .arg(conf)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| EmitError::Validator {
            program: "unshare".to_owned(),
            cause: e.to_string(),
        })?;
    if result.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&result.stderr);
    if result.status.code() == Some(97) || stderr.contains("unshare failed") {
        return Err(EmitError::Validator {
            program,
            cause: format!(
                "cannot test the new files in place (a private mount namespace needs root): {}",
                stderr.trim()
            ),
        });
    }
    let message = stderr
        .lines()
        .find(|l| l.contains("[emerg]") || l.contains("[alert]"))
        .or_else(|| stderr.lines().next())
        .unwrap_or("no message")
        .to_owned();
    Err(EmitError::Rejected {
        server: program,
        message,
    })
}

/// Asks the running nginx to reload its configuration (`nginx -s reload`).
pub fn nginx_reload(nginx: &Path, conf: Option<&Path>) -> Result<(), EmitError> {
    let mut command = Command::new(nginx);
    command.args(["-s", "reload"]);
    if let Some(conf) = conf {
        command.arg("-c").arg(conf);
    }
    let result = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| EmitError::Validator {
            program: nginx.display().to_string(),
            cause: e.to_string(),
        })?;
    if result.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&result.stderr);
    Err(EmitError::Rejected {
        server: format!("{} -s reload", nginx.display()),
        message: stderr.lines().last().unwrap_or("no message").to_owned(),
    })
}
