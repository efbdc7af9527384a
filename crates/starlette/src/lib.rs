//! The Starlette route source (FastAPI apps included): reads an ASGI app's router through
//! Python.
//!
//! The app is imported as uvicorn imports it (`--app module:attribute`, the working
//! directory first on `sys.path`, `--factory` to call what it names) by
//! `python/read_table.py`, run by routewall's Python host (`routewall-python-host`:
//! in-process when the app's venv runs the embedded Python, in the venv's own interpreter
//! otherwise). It walks the router the way Starlette matches: `Route`s and FastAPI's
//! `APIRoute`s with their convertors' own regexes and methods, `WebSocketRoute`s, `Mount`s
//! (a router under a prefix is read in place; any other ASGI app takes the whole prefix),
//! FastAPI's included routers, and the paths `redirect_slashes` answers with a 307. The
//! script's docs say how that maps onto routewall's model.
//!
//! Registered twice: `starlette`, and `fastapi` for the users who think of their app as
//! a FastAPI one. Options (`SourceContext::options`): `factory` (`"true"`: call the named
//! object for the app, as `uvicorn --factory`).
//!
//! # Example
//!
//! ```no_run
//! use routewall_core::{RouteSource, SourceContext};
//!
//! let table = routewall_starlette::StarletteSource.load(&SourceContext::new("main:app", "."))?;
//! for route in &table.routes {
//!     println!("{} -> {}", route.rule, route.endpoint);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use routewall_core::{RouteSource, RouteTable, SourceContext, SourceEntry, SourceError};
use routewall_python_host::DumpScript;

/// The Starlette part of the dump script.
pub const SCRIPT: DumpScript = DumpScript {
    source: "starlette",
    code: include_str!("../python/read_table.py"),
};

/// Reads Starlette and FastAPI apps (`--source starlette`, `--source fastapi`).
#[derive(Debug, Default, Clone, Copy)]
pub struct StarletteSource;

inventory::submit! {
    SourceEntry {
        name: "starlette",
        summary: "Starlette apps: the ASGI router, read by importing the app (--app main:app)",
        make: || Box::new(StarletteSource),
    }
}

inventory::submit! {
    SourceEntry {
        name: "fastapi",
        summary: "FastAPI apps: the starlette source under FastAPI's name (--app main:app)",
        make: || Box::new(StarletteSource),
    }
}

impl RouteSource for StarletteSource {
    fn name(&self) -> &str {
        "starlette"
    }

    fn load(&self, ctx: &SourceContext) -> Result<RouteTable, SourceError> {
        SCRIPT.read(ctx)
    }
}
