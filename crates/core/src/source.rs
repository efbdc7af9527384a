//! Where route tables come from.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::RouteTable;

/// A framework that can report every route an application defines.
///
/// Implementors write two methods: [`RouteSource::name`] and [`RouteSource::load`]. `load`
/// either returns the whole table or fails: a partial table would make the emitted
/// allowlist deny real routes, so there is no "best effort" result.
pub trait RouteSource: Send + Sync {
    /// Name used on the command line (`--source flask`).
    fn name(&self) -> &str;

    /// Reads the whole route table of the application named in `ctx`.
    fn load(&self, ctx: &SourceContext) -> Result<RouteTable, SourceError>;
}

/// What a source needs to find and load an application.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct SourceContext {
    /// The application, in the source's own notation (`app:create_app()`).
    pub app: String,
    /// The application's environment (a Python venv), if the user named one.
    pub venv: Option<PathBuf>,
    /// Directory the application is looked up from.
    pub working_dir: PathBuf,
    /// Options only some sources understand, by name (Django's `urlconf`). A source refuses
    /// an option it does not know rather than read a table the user did not ask for.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

impl SourceContext {
    /// A context for `app`, looked up from `working_dir`, with no explicit environment.
    pub fn new(app: impl Into<String>, working_dir: impl Into<PathBuf>) -> Self {
        Self {
            app: app.into(),
            venv: None,
            working_dir: working_dir.into(),
            options: BTreeMap::new(),
        }
    }

    /// Sets the application's environment (builder style).
    #[must_use]
    pub fn with_venv(mut self, venv: Option<PathBuf>) -> Self {
        self.venv = venv;
        self
    }

    /// Sets the source option `name` (builder style).
    #[must_use]
    pub fn with_option(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.insert(name.into(), value.into());
        self
    }
}

/// Why a route table could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The application itself failed: import error, `SystemExit`, no app object.
    #[error("cannot load `{app}`: {cause}")]
    App {
        /// The application as the user named it.
        app: String,
        /// One line: exception type and message.
        cause: String,
    },
    /// The environment the application needs is unusable (no interpreter, no framework).
    #[error("{0}")]
    Environment(String),
    /// A run-time plugin failed: it panicked, or answered something unreadable.
    #[error("plugin `{plugin}`: {message}")]
    Plugin {
        /// The plugin's name.
        plugin: String,
        /// What went wrong, on one line.
        message: String,
    },
    /// The source's helper answered something that is not a route table.
    #[error("unreadable route table from `{app}`: {cause}")]
    Protocol {
        /// The application as the user named it.
        app: String,
        /// What was wrong with the answer.
        cause: String,
    },
}
