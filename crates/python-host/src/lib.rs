//! What routewall's Python route sources share: finding the app's virtualenv, running a
//! dump script, and reading its answer.
//!
//! A source is a [`DumpScript`]: the Python that reads one framework's router into a route
//! table. It runs after `python/host.py`, the part every source shares (the envelope, the
//! venv activation, stdout kept clean, Python's own regex classes). When the app's
//! virtualenv runs the same Python `major.minor` as the interpreter embedded in routewall,
//! the script runs in-process (fast, no second interpreter); otherwise compiled wheels of
//! the venv would not load in the embedded interpreter, so the venv's own `bin/python`
//! runs the same script in a child process. Both transports answer with the same JSON
//! envelope, so a source's Rust side is its script and a name.
//!
//! # Example
//!
//! ```no_run
//! use routewall_core::SourceContext;
//! use routewall_python_host::DumpScript;
//!
//! const SCRIPT: DumpScript = DumpScript {
//!     source: "mine",
//!     code: "def read_table(spec, working_dir, options):\n    \
//!            return {'schema_version': 3, 'source': 'mine', 'app': spec, 'routes': []}\n",
//! };
//! let table = SCRIPT.read(&SourceContext::new("app", "."))?;
//! assert!(table.routes.is_empty());
//! # Ok::<(), routewall_core::SourceError>(())
//! ```

mod env;

use std::collections::BTreeMap;
use std::ffi::CString;
use std::path::Path;
use std::process::{Command, Stdio};

use pyo3::prelude::*;
use pyo3::types::PyModule;
use routewall_core::{RouteTable, SourceContext, SourceError};

pub use env::Venv;

/// The part of every dump script that all Python sources share: the host (`host.py`) and
/// the route pieces' helpers with the regex quotient by `/` (`pieces.py`), which the
/// sources of frameworks with slash redirects use.
pub const HOST_SCRIPT: &str = concat!(
    include_str!("../python/host.py"),
    "\n\n",
    include_str!("../python/pieces.py")
);

/// Forces one transport: `in-process` or `subprocess` (tests compare the two).
pub const MODE_VARIABLE: &str = "ROUTEWALL_PYTHON_MODE";

/// One framework's reader: Python code defining
/// `read_table(spec, working_dir, options) -> dict` (a [`RouteTable`] as JSON), run after
/// [`HOST_SCRIPT`] in the app's environment.
#[derive(Debug, Clone, Copy)]
pub struct DumpScript {
    /// The source's name, for the script's file and module names (`flask`).
    pub source: &'static str,
    /// The source's part of the script.
    pub code: &'static str,
}

impl DumpScript {
    /// The whole script: the host's part, the source's part, and the entry point that runs
    /// it as a file.
    pub fn text(&self) -> String {
        format!(
            "{HOST_SCRIPT}\n\n# ---- the {source} source ----\n\n{code}\n\n\
             if __name__ == \"__main__\":\n    \
             # Run as a file, sys.path[0] is this script's temporary directory, so nothing\n    \
             # in the app's directory can shadow the standard library modules it imports.\n    \
             sys.exit(main(sys.argv[1:]))\n",
            source = self.source,
            code = self.code
        )
    }

    /// Reads the app `ctx` names: in-process or in the venv's own Python (see the crate
    /// docs), `ctx.options` passed to `read_table`.
    pub fn read(&self, ctx: &SourceContext) -> Result<RouteTable, SourceError> {
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
                self.run_in_process(ctx, venv.as_ref())?,
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
            (self.run_in_subprocess(ctx, &venv)?, read_by)
        };
        let mut table = parse_envelope(&ctx.app, &envelope)?;
        table.read_by = Some(read_by);
        Ok(table)
    }

    fn run_in_process(
        &self,
        ctx: &SourceContext,
        venv: Option<&Venv>,
    ) -> Result<String, SourceError> {
        let code =
            CString::new(self.text()).map_err(|e| SourceError::Environment(e.to_string()))?;
        let file = CString::new(format!("routewall_{}.py", self.source))
            .map_err(|e| SourceError::Environment(e.to_string()))?;
        let module_name = CString::new(format!("_routewall_{}", self.source))
            .map_err(|e| SourceError::Environment(e.to_string()))?;
        Python::initialize();
        Python::attach(|py| -> PyResult<String> {
            // One module per call: a fresh namespace, while the interpreter (and the app's
            // imports in sys.modules) lives as long as the process.
            let module = PyModule::from_code(py, &code, &file, &module_name)?;
            if let Some(venv) = venv {
                let site = venv.site_packages().to_string_lossy().into_owned();
                module
                    .getattr("activate")?
                    .call1((vec![site], venv.include_system_site_packages))?;
            }
            let working_dir = ctx.working_dir.to_string_lossy().into_owned();
            let options: BTreeMap<&str, &str> = ctx
                .options
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            module
                .getattr("dump")?
                .call1((ctx.app.as_str(), working_dir, options))?
                .extract()
        })
        .map_err(|e| SourceError::Environment(format!("embedded Python failed: {e}")))
    }

    fn run_in_subprocess(&self, ctx: &SourceContext, venv: &Venv) -> Result<String, SourceError> {
        let python = venv.python();
        let script_dir = tempfile::tempdir().map_err(|e| {
            SourceError::Environment(format!("cannot create a temporary directory: {e}"))
        })?;
        // Not the framework's own module name: the script's directory is first on
        // sys.path, and `flask.py` there would shadow Flask.
        let script = script_dir
            .path()
            .join(format!("routewall_{}.py", self.source));
        std::fs::write(&script, self.text()).map_err(|e| {
            SourceError::Environment(format!("cannot write {}: {e}", script.display()))
        })?;
        let options = serde_json::to_string(&ctx.options)
            .map_err(|e| SourceError::Environment(e.to_string()))?;
        let output = Command::new(&python)
            .arg(&script)
            .arg("--app")
            .arg(&ctx.app)
            .arg("--working-dir")
            .arg(&ctx.working_dir)
            .arg("--options")
            .arg(options)
            .current_dir(&ctx.working_dir)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| {
                SourceError::Environment(format!("cannot run {}: {e}", python.display()))
            })?;
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
}

/// `(major, minor)` of the Python embedded in this binary.
pub fn embedded_version() -> (u8, u8) {
    Python::initialize();
    Python::attach(|py| {
        let v = py.version_info();
        (v.major, v.minor)
    })
}

/// What the dump script prints: a table, or why there is none.
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
    fn the_host_ships_pythons_own_classes_for_the_escapes_in_use() {
        Python::initialize();
        let json = Python::attach(|py| -> PyResult<String> {
            let code = CString::new(HOST_SCRIPT).expect("no NUL");
            let module = PyModule::from_code(py, &code, c"host.py", c"_test_classes")?;
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
    fn both_transports_run_a_source_and_pass_its_options() {
        const ECHO: DumpScript = DumpScript {
            source: "echo",
            code: "def read_table(spec, working_dir, options):\n    \
                   print('noise on stdout')\n    \
                   if 'fail' in options:\n        raise AppError('asked to fail')\n    \
                   return {'schema_version': SCHEMA_VERSION, 'source': 'echo', 'app': spec,\n            \
                   'framework': options.get('label'), 'routes': []}\n",
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = SourceContext::new("spec", dir.path()).with_option("label", "x y");
        let table = ECHO.read(&ctx).expect("in-process");
        assert_eq!(table.framework.as_deref(), Some("x y"));
        assert_eq!(table.app, "spec");

        let failing = SourceContext::new("spec", dir.path()).with_option("fail", "1");
        let err = ECHO.read(&failing).expect_err("fails");
        assert_eq!(err.to_string(), "cannot load `spec`: asked to fail");

        // The subprocess transport, with the Python this test links as the "venv".
        let python = Python::attach(|py| -> PyResult<String> {
            py.import("sys")?.getattr("executable")?.extract()
        })
        .expect("sys.executable");
        let (major, minor) = embedded_version();
        let venv = dir.path().join("venv");
        std::fs::create_dir_all(venv.join("bin")).expect("mkdir");
        std::fs::write(
            venv.join("pyvenv.cfg"),
            format!("version = {major}.{minor}.0\n"),
        )
        .expect("write");
        std::os::unix::fs::symlink(&python, venv.join("bin/python")).expect("symlink");
        let venv = Venv::read(&venv).expect("a venv");
        let ctx = SourceContext::new("spec", dir.path()).with_option("label", "z");
        let envelope = ECHO.run_in_subprocess(&ctx, &venv).expect("the child runs");
        let table = parse_envelope("spec", &envelope).expect("stdout holds the envelope only");
        assert_eq!(table.framework.as_deref(), Some("z"));
    }

    #[test]
    fn garbage_is_a_protocol_error() {
        let err = parse_envelope("app", "hello").expect_err("error");
        assert!(matches!(err, SourceError::Protocol { .. }), "{err}");
    }

    /// The regex algebra of `pieces.py`, checked against Python's `re` on every string of
    /// up to five letters over an alphabet that holds each letter the regexes and the
    /// words use, `/` and a newline.
    #[test]
    fn the_regex_helpers_agree_with_python_on_every_short_string() {
        const CHECK: &str = r#"
import itertools
alphabet = "apib/x\n"
strings = ["".join(t) for n in range(6) for t in itertools.product(alphabet, repeat=n)]
for regex, words in [("[^/]+", ["api"]), ("[^/]+", ["api", "ap", "b"]), ("[a-z]*", ["x"]), (".*", ["ab"])]:
    out = without_words_regex(regex, words)
    for s in strings:
        want = re.fullmatch(regex, s) is not None and s not in words
        assert (re.fullmatch(out, s) is not None) == want, (regex, words, s)
for regex, prefixes, words in [(".*", ["api/"], []), (".*", ["api/", "ap/", "a/b/", "x"], []),
                               ("(?s:.*)", ["api/"], ["", "a", "xb", "api"]), ("[^/]+", ["api/", "ab"], ["p"]),
                               (".+", ["a"], ["b"]), (".*", [], ["ab", "a"])]:
    parts = prefix_free_parts(regex, prefixes, words)
    for s in strings:
        want = (re.fullmatch(regex, s) is not None and not any(s.startswith(p) for p in prefixes)
                and s not in words)
        got = any(s.startswith(t) and re.fullmatch(tail, s[len(t):]) is not None for t, tail in parts)
        assert got == want, (regex, prefixes, s)
for regex in ["[^/]+", ".*", "(?s:.*)", "[0-9]+", "(?:a|[b\n])*", "\\W+"]:
    out = without_character_regex(regex, 0x0A)
    for s in strings:
        want = re.fullmatch(regex, s) is not None and "\n" not in s
        assert (re.fullmatch(out, s) is not None) == want, (regex, s)
    assert can_match_char(regex, 0x0A) == any("\n" in s for s in strings if re.fullmatch(regex, s)), regex
"#;
        Python::initialize();
        Python::attach(|py| -> PyResult<()> {
            let code = CString::new(format!("{HOST_SCRIPT}\n{CHECK}")).expect("no NUL");
            PyModule::from_code(py, &code, c"pieces.py", c"_test_pieces")?;
            Ok(())
        })
        .expect("every check holds");
    }
}
