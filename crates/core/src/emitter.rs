//! Where route tables go.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{RouteTable, TemplateError};

/// A server whose configuration can allow exactly the routes of a [`RouteTable`].
///
/// Implementors write [`Emitter::name`] and [`Emitter::emit`]; [`Emitter::validate`] is
/// optional and lets the server's own checker (`nginx -t`) reject output before it is
/// written. The contract: everything a table's routes match is allowed, nothing else, and a
/// route the emitter cannot translate exactly is an error naming the rule — never a
/// silently wider pattern.
pub trait Emitter: Send + Sync {
    /// Name used on the command line (`--target nginx`).
    fn name(&self) -> &str;

    /// Built-in templates as `(name, body)`; users may override any of them by name.
    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// Renders the configuration files for `routes`.
    fn emit(&self, routes: &RouteTable, ctx: &EmitContext) -> Result<Output, EmitError>;

    /// Checks rendered output with the server itself. The default accepts everything.
    fn validate(&self, _output: &Output, _ctx: &EmitContext) -> Result<(), EmitError> {
        Ok(())
    }
}

/// Settings shared by every emitter.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct EmitContext {
    /// Prefix of every name the output defines (variables, files), so that several apps
    /// can share one server.
    pub name: String,
    /// The server binary used by [`Emitter::validate`]; `None` means look it up on `PATH`.
    pub server_binary: Option<PathBuf>,
    /// Answer a known path requested with a method its rules do not accept with 405 (and
    /// an `Allow` header) from the server, as the app would; otherwise any method passes.
    pub enforce_methods: bool,
    /// Monitor mode: let everything through, and log each request the allowlist would
    /// have refused to this file. `None` (enforce mode) refuses them.
    pub monitor_log: Option<PathBuf>,
    /// What to do with routes whose converters check values in code.
    pub code_checks: CodeChecks,
    /// A directory of user templates that override the built-in ones by name.
    pub templates_dir: Option<PathBuf>,
    /// Also write the check for the top of a `server { }` block (the seed tool's
    /// single-line layout), not only for app locations.
    pub server_include: bool,
    /// The absolute directory the files will be written to, for output that names its own
    /// files (HAProxy's pattern files); `None` when unknown (a dry run to stdout).
    pub output_dir: Option<PathBuf>,
    /// The tree layout, for emitters that have one (nginx): instead of a check inside the
    /// user's own locations, write the server's locations themselves, each location that
    /// lets requests through including this file (the app's `proxy_pass` and friends).
    /// `None`: the default layout.
    pub pass_include: Option<PathBuf>,
    /// With the tree layout: path prefixes the server's own locations serve (`/static/`);
    /// the routes under them are left out, as their locations would collide.
    pub served_prefixes: Vec<String>,
    /// The module layout, for emitters that have one (nginx): the allowlist as a table
    /// that a compiled module of the server checks, instead of configuration that checks
    /// it. This is that module's file, which validation loads. `None`: another layout.
    pub server_module: Option<PathBuf>,
}

/// What an emitter does with a route whose converters check values in code
/// (`int(max=10)`, a custom `to_python`): no server configuration can run that code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CodeChecks {
    /// Allow every value the converter's regex matches; the app refuses the rest itself.
    #[default]
    Allow,
    /// Leave such routes out, refusing even values the app would accept.
    Deny,
}

impl EmitContext {
    /// Sets the prefix of every name the output defines (builder style).
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets whether methods are enforced (builder style).
    #[must_use]
    pub fn with_methods(mut self, enforce: bool) -> Self {
        self.enforce_methods = enforce;
        self
    }

    /// Switches to monitor mode, logging would-be refusals to `log` (builder style).
    #[must_use]
    pub fn with_monitor_log(mut self, log: Option<PathBuf>) -> Self {
        self.monitor_log = log;
        self
    }

    /// Sets what happens to routes whose converters check values in code (builder style).
    #[must_use]
    pub fn with_code_checks(mut self, checks: CodeChecks) -> Self {
        self.code_checks = checks;
        self
    }

    /// Asks for the server-level include too (builder style).
    #[must_use]
    pub fn with_server_include(mut self, yes: bool) -> Self {
        self.server_include = yes;
        self
    }

    /// Asks for the tree layout, with `pass` included where requests pass (builder style).
    #[must_use]
    pub fn with_pass_include(mut self, pass: Option<PathBuf>) -> Self {
        self.pass_include = pass;
        self
    }

    /// Sets the prefixes the server serves itself, for the tree layout (builder style).
    #[must_use]
    pub fn with_served_prefixes(mut self, prefixes: Vec<String>) -> Self {
        self.served_prefixes = prefixes;
        self
    }

    /// Asks for the module layout, validated with the server module `module` loaded
    /// (builder style).
    #[must_use]
    pub fn with_server_module(mut self, module: Option<PathBuf>) -> Self {
        self.server_module = module;
        self
    }

    /// Sets the directory of user templates (builder style).
    #[must_use]
    pub fn with_templates_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.templates_dir = dir;
        self
    }

    /// Checks [`EmitContext::name`]: it becomes part of the output's variable names, so it
    /// must be letters, digits and `_`.
    pub fn check_name(&self) -> Result<(), EmitError> {
        let plain = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        if !self.name.is_empty() && self.name.bytes().all(plain) {
            return Ok(());
        }
        Err(EmitError::unsupported(format!(
            "name `{}` must be letters, digits and `_`",
            self.name.escape_debug()
        )))
    }

    /// Sets [`EmitContext::output_dir`] (builder style).
    #[must_use]
    pub fn with_output_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.output_dir = dir;
        self
    }

    /// Sets the server binary used for validation (builder style).
    #[must_use]
    pub fn with_server_binary(mut self, binary: Option<std::path::PathBuf>) -> Self {
        self.server_binary = binary;
        self
    }
}

impl Default for EmitContext {
    fn default() -> Self {
        Self {
            name: "routewall".to_owned(),
            server_binary: None,
            enforce_methods: false,
            monitor_log: None,
            code_checks: CodeChecks::Allow,
            templates_dir: None,
            server_include: false,
            output_dir: None,
            pass_include: None,
            served_prefixes: Vec::new(),
            server_module: None,
        }
    }
}

/// The files an emitter produced, in the order a user should read them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Output {
    /// Each file, by name relative to the output directory.
    pub files: Vec<OutputFile>,
    /// What the user should know about the output (over-approximations, skipped rules).
    pub warnings: Vec<String>,
}

impl Output {
    /// Output made of `files`, with no warnings.
    pub fn new(files: Vec<OutputFile>) -> Self {
        Self {
            files,
            warnings: Vec::new(),
        }
    }

    /// Adds warnings (builder style).
    #[must_use]
    pub fn with_warnings(mut self, warnings: Vec<String>) -> Self {
        self.warnings.extend(warnings);
        self
    }

    /// Writes every file into `dir` (a server's scratch directory for its config check).
    pub fn write_into(&self, dir: &std::path::Path) -> std::io::Result<()> {
        self.files
            .iter()
            .try_for_each(|file| std::fs::write(dir.join(&file.name), &file.contents))
    }

    /// The file called `name`, if the emitter produced one.
    pub fn file(&self, name: &str) -> Option<&OutputFile> {
        self.files.iter().find(|f| f.name == name)
    }
}

/// One rendered file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OutputFile {
    /// File name, relative to the output directory (`http.conf`).
    pub name: String,
    /// What the file is for, one line, for `--help`-style listings.
    pub purpose: String,
    /// The file's contents.
    pub contents: String,
}

impl OutputFile {
    /// A file called `name` holding `contents`.
    pub fn new(name: impl Into<String>, purpose: impl Into<String>, contents: String) -> Self {
        Self {
            name: name.into(),
            purpose: purpose.into(),
            contents,
        }
    }
}

impl EmitError {
    /// [`EmitError::Unsupported`] for a setting rather than a rule: what the emitter cannot
    /// express for this table or context as a whole.
    pub fn unsupported(reason: impl Into<String>) -> Self {
        EmitError::Unsupported {
            rule: String::new(),
            endpoint: String::new(),
            reason: reason.into(),
        }
    }
}

/// `name` on `PATH`, else the first of `fallbacks` that exists (Debian keeps servers in
/// `/usr/sbin`, which is not on a user's `PATH`), else the bare name.
pub fn find_program(name: &str, fallbacks: &[&str]) -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .chain(fallbacks.iter().map(std::path::PathBuf::from))
        .find(|p| p.is_file())
        .unwrap_or_else(|| std::path::PathBuf::from(name))
}

/// Why a configuration could not be produced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// A rule cannot be expressed exactly in the target's configuration language.
    #[error("rule `{rule}` (endpoint `{endpoint}`): {reason}")]
    Unsupported {
        /// The rule text.
        rule: String,
        /// The rule's endpoint.
        endpoint: String,
        /// Why it cannot be translated.
        reason: String,
    },
    /// Rendering a template failed.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The server's own check rejected the output.
    #[error("{server} rejected the generated configuration: {message}")]
    Rejected {
        /// The checking program (`nginx -t`).
        server: String,
        /// What it said, on one line.
        message: String,
    },
    /// A run-time plugin failed: it reported an error of a kind this routewall does not
    /// know, panicked, or answered something unreadable.
    #[error("plugin `{plugin}`: {message}")]
    Plugin {
        /// The plugin's name.
        plugin: String,
        /// What went wrong, on one line.
        message: String,
    },
    /// The server's checker could not be run.
    #[error("cannot validate with `{program}`: {cause}")]
    Validator {
        /// The program that was tried.
        program: String,
        /// Why it could not run.
        cause: String,
    },
}
