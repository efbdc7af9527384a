//! The Flask route source: reads `app.url_map` through Python.
//!
//! The app is imported by one stdlib-only script, `python/dump_routes.py`, which prints the
//! route table as JSON. When the app's virtualenv runs the same Python `major.minor` as the
//! interpreter embedded in routewall, the script runs in-process (fast, no second
//! interpreter); otherwise compiled wheels of the venv would not load in the embedded
//! interpreter, so the venv's own `bin/python` runs the same script in a child process.
//!
//! # Example
//!
//! ```no_run
//! use routewall_core::{RouteSource, SourceContext};
//!
//! let table = routewall_flask::FlaskSource.load(&SourceContext::new("app:create_app()", "."))?;
//! for route in &table.routes {
//!     println!("{} -> {}", route.rule, route.endpoint);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod env;

use std::ffi::CString;
use std::path::Path;
use std::process::{Command, Stdio};

use pyo3::prelude::*;
use pyo3::types::PyModule;
use routewall_core::{RouteSource, RouteTable, SourceContext, SourceEntry, SourceError};

pub use env::Venv;

/// The dump script, shared by both transports.
pub const DUMP_SCRIPT: &str = include_str!("../python/dump_routes.py");

/// Forces one transport: `in-process` or `subprocess` (tests compare the two).
pub const MODE_VARIABLE: &str = "ROUTEWALL_PYTHON_MODE";

/// Reads Flask apps (`--source flask`).
#[derive(Debug, Default, Clone, Copy)]
pub struct FlaskSource;

inventory::submit! {
    SourceEntry {
        name: "flask",
        summary: "Flask apps: app.url_map, read by importing the app (--app module:name)",
        make: || Box::new(FlaskSource),
    }
}

impl RouteSource for FlaskSource {
    fn name(&self) -> &str {
        "flask"
    }

    fn load(&self, ctx: &SourceContext) -> Result<RouteTable, SourceError> {
        let venv = Venv::discover(ctx.venv.as_deref(), &ctx.working_dir)?;
        let forced = std::env::var(MODE_VARIABLE).ok();
        let in_process = match forced.as_deref() {
            Some("subprocess") => false,
            Some("in-process") => true,
            _ => venv
                .as_ref()
                .is_none_or(|v| v.version == embedded_version()),
        };
        let (envelope, read_by) = if in_process {
            let (major, minor) = embedded_version();
            (
                dump_in_process(ctx, venv.as_ref())?,
                format!("embedded Python {major}.{minor}"),
            )
        } else {
            let venv = venv.ok_or_else(|| {
                SourceError::Environment(
                    "the subprocess transport needs a virtualenv (--venv DIR)".to_owned(),
                )
            })?;
            let (major, minor) = venv.version;
            let read_by = format!("{} (Python {major}.{minor})", venv.python().display());
            (dump_in_subprocess(ctx, &venv)?, read_by)
        };
        let mut table = parse_envelope(&ctx.app, &envelope)?;
        table.read_by = Some(read_by);
        Ok(table)
    }
}

/// `(major, minor)` of the Python embedded in this binary.
pub fn embedded_version() -> (u8, u8) {
    Python::initialize();
    Python::attach(|py| {
        let v = py.version_info();
        (v.major, v.minor)
    })
}

fn dump_in_process(ctx: &SourceContext, venv: Option<&Venv>) -> Result<String, SourceError> {
    let code = CString::new(DUMP_SCRIPT).map_err(|e| SourceError::Environment(e.to_string()))?;
    Python::initialize();
    Python::attach(|py| -> PyResult<String> {
        // One module per call: a fresh namespace, while the interpreter (and the app's
        // imports in sys.modules) lives as long as the process.
        let module = PyModule::from_code(py, &code, c"dump_routes.py", c"_routewall_dump_routes")?;
        if let Some(venv) = venv {
            let site = venv.site_packages().to_string_lossy().into_owned();
            module
                .getattr("activate")?
                .call1((vec![site], venv.include_system_site_packages))?;
        }
        let working_dir = ctx.working_dir.to_string_lossy().into_owned();
        module
            .getattr("dump")?
            .call1((ctx.app.as_str(), working_dir))?
            .extract()
    })
    .map_err(|e| SourceError::Environment(format!("embedded Python failed: {e}")))
}

fn dump_in_subprocess(ctx: &SourceContext, venv: &Venv) -> Result<String, SourceError> {
    let python = venv.python();
    let script_dir = tempfile::tempdir().map_err(|e| {
        SourceError::Environment(format!("cannot create a temporary directory: {e}"))
    })?;
    let script = script_dir.path().join("dump_routes.py");
    std::fs::write(&script, DUMP_SCRIPT)
        .map_err(|e| SourceError::Environment(format!("cannot write {}: {e}", script.display())))?;
    let output = Command::new(&python)
        .arg(&script)
        .arg("--app")
        .arg(&ctx.app)
        .arg("--working-dir")
        .arg(&ctx.working_dir)
        .current_dir(&ctx.working_dir)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| SourceError::Environment(format!("cannot run {}: {e}", python.display())))?;
    if !output.status.success() {
        return Err(SourceError::Environment(format!(
            "{} exited with {} while reading routes",
            python.display(),
            output.status
        )));
    }
    String::from_utf8(output.stdout).map_err(|e| SourceError::Protocol {
        app: ctx.app.clone(),
        cause: e.to_string(),
    })
}

/// What `dump_routes.py` prints: a table, or why there is none.
#[derive(serde::Deserialize)]
struct Envelope {
    table: Option<RouteTable>,
    error: Option<EnvelopeError>,
}

#[derive(serde::Deserialize)]
struct EnvelopeError {
    cause: Option<String>,
}

fn parse_envelope(app: &str, envelope: &str) -> Result<RouteTable, SourceError> {
    let protocol = |cause: String| SourceError::Protocol {
        app: app.to_owned(),
        cause,
    };
    // Straight into the model, without a `serde_json::Value` copy of the whole table (5 MB
    // of JSON at 10,000 rules) in between.
    let envelope: Envelope =
        serde_json::from_str(envelope.trim()).map_err(|e| protocol(e.to_string()))?;
    if let Some(error) = envelope.error {
        return Err(SourceError::App {
            app: app.to_owned(),
            cause: error.cause.unwrap_or_else(|| "unknown error".to_owned()),
        });
    }
    envelope
        .table
        .ok_or_else(|| protocol("no `table` in the answer".to_owned()))
}

/// Where the embedded interpreter lives, for `--version`.
pub fn embedded_description() -> String {
    Python::initialize();
    Python::attach(|py| {
        let v = py.version_info();
        let prefix = py
            .import("sys")
            .and_then(|sys| sys.getattr("base_prefix"))
            .and_then(|p| p.extract::<String>())
            .unwrap_or_else(|_| "?".to_owned());
        format!(
            "Python {}.{}.{} ({})",
            v.major,
            v.minor,
            v.patch,
            Path::new(&prefix).display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_envelope_becomes_an_app_error() {
        let err =
            parse_envelope("app", r#"{"error": {"cause": "SystemExit: 3"}}"#).expect_err("error");
        assert_eq!(err.to_string(), "cannot load `app`: SystemExit: 3");
    }

    #[test]
    fn the_dump_script_ships_pythons_own_classes_for_the_escapes_in_use() {
        Python::initialize();
        let json = Python::attach(|py| -> PyResult<String> {
            let code = CString::new(DUMP_SCRIPT).expect("no NUL");
            let module = PyModule::from_code(py, &code, c"dump_routes.py", c"_test_classes")?;
            let classes = module
                .getattr("python_classes")?
                .call1((vec![r"[^\s/]+", r"[^/]{1,}"],))?;
            py.import("json")?
                .getattr("dumps")?
                .call1((classes,))?
                .extract()
        })
        .expect("the script runs");
        let envelope = format!(
            r#"{{"table": {{"schema_version": 3, "source": "flask", "app": "app",
                "routes": [], "python_classes": {json}}}}}"#
        );
        let table = parse_envelope("app", &envelope).expect("parses");
        let classes = table.python_classes.expect("classes");
        assert!(classes.unicode_version.is_some());
        let space = classes.space.expect("`\\s` is used");
        assert!(
            space.contains(&(0x1c, 0x20)),
            "Python's `\\s` holds \\x1c-\\x1f"
        );
        assert!(
            classes.digit.is_none() && classes.word.is_none(),
            "classes no regex uses are left out"
        );
    }

    #[test]
    fn garbage_is_a_protocol_error() {
        let err = parse_envelope("app", "hello").expect_err("error");
        assert!(matches!(err, SourceError::Protocol { .. }), "{err}");
    }
}
