//! routewall's core: the route model, the [`RouteSource`] and [`Emitter`] traits, the
//! plugin [`Registry`] and [`Templates`].
//!
//! A source reads an application's routes into a [`RouteTable`]; an emitter turns the table
//! into server configuration that allows exactly those routes.
//!
//! # Example
//!
//! ```
//! use routewall_core::{Converter, Param, Route, RouteTable, Segment};
//!
//! let table = RouteTable::new("flask", "app").with_route(Route::new(
//!     "user",
//!     "/user/<int:id>",
//!     vec![
//!         Segment::text("/user/"),
//!         Segment::Param(Param::new("id", Converter::new("int", r"\d+"))),
//!     ],
//! ));
//! let json = serde_json::to_string(&table)?;
//! assert!(json.contains(r#""regex":"\\d+""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod emitter;
mod model;
pub mod plugin;
mod registry;
mod source;
mod template;

pub use emitter::{CodeChecks, EmitContext, EmitError, Emitter, Output, OutputFile, find_program};
pub use model::{
    Converter, DomainBinding, Param, PythonClasses, RegexDialect, Route, RouteTable,
    SCHEMA_VERSION, Segment,
};
pub use registry::{EmitterEntry, PluginInfo, PluginKind, Registry, RegistryError, SourceEntry};
pub use source::{RouteSource, SourceContext, SourceError};
pub use template::{BUILTIN_PREFIX, TemplateError, Templates};

pub use inventory;
