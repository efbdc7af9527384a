//! The Django route source: reads a project's URLconf through Python.
//!
//! The project is set up as `manage.py` sets it up (the working directory first on
//! `sys.path`, `DJANGO_SETTINGS_MODULE`, `django.setup()`) by `python/read_table.py`, run by
//! routewall's Python host (`routewall-python-host`: in-process when the project's venv
//! runs the embedded Python, in the venv's own interpreter otherwise). It walks
//! `get_resolver().url_patterns` and prints every endpoint as a route: `path()` patterns as
//! text and converters (each with the regex Django compiled), `re_path()` patterns as their
//! Python regex, under every language the project serves; the script's docs say how
//! Django's matching maps onto routewall's model. `python/methods.py` reads the methods
//! each view accepts (`require_http_methods`, class-based views, DRF views), for
//! `--methods`.
//!
//! Options (`SourceContext::options`): `urlconf`, a URLconf module to read instead of
//! `ROOT_URLCONF`.
//!
//! # Example
//!
//! ```no_run
//! use routewall_core::{RouteSource, SourceContext};
//!
//! let table = routewall_django::DjangoSource.load(&SourceContext::new("mysite.settings", "."))?;
//! for route in &table.routes {
//!     println!("{} -> {}", route.rule, route.endpoint);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use routewall_core::{RouteSource, RouteTable, SourceContext, SourceEntry, SourceError};
use routewall_python_host::DumpScript;

/// The Django part of the dump script: the route table, then the methods of each view.
pub const SCRIPT: DumpScript = DumpScript {
    source: "django",
    code: concat!(
        include_str!("../python/read_table.py"),
        "\n",
        include_str!("../python/methods.py")
    ),
};

/// Reads Django projects (`--source django`).
#[derive(Debug, Default, Clone, Copy)]
pub struct DjangoSource;

inventory::submit! {
    SourceEntry {
        name: "django",
        summary: "Django projects: the URLconf, read by setting the project up (--app mysite.settings)",
        make: || Box::new(DjangoSource),
    }
}

impl RouteSource for DjangoSource {
    fn name(&self) -> &str {
        "django"
    }

    fn load(&self, ctx: &SourceContext) -> Result<RouteTable, SourceError> {
        SCRIPT.read(ctx)
    }
}
