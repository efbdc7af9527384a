//! The Flask route source: reads `app.url_map` through Python.
//!
//! The app is imported by `python/read_table.py`, run by routewall's Python host
//! (`routewall-python-host`: in-process when the app's venv runs the embedded Python,
//! in the venv's own interpreter otherwise), which prints the route table as JSON.
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

use routewall_core::{RouteSource, RouteTable, SourceContext, SourceEntry, SourceError};
use routewall_python_host::DumpScript;

pub use routewall_python_host::{MODE_VARIABLE, Venv, embedded_description, embedded_version};

/// The Flask part of the dump script.
pub const SCRIPT: DumpScript = DumpScript {
    source: "flask",
    code: include_str!("../python/read_table.py"),
};

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
        SCRIPT.read(ctx)
    }
}
