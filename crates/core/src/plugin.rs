//! Run-time plugins: a [`RouteSource`] or an [`Emitter`] in a shared library, loaded from
//! a path the operator names.
//!
//! The boundary is a C ABI three functions wide, and everything that crosses it is JSON of
//! this crate's serde types. Rust trait objects cannot cross a shared-library boundary
//! soundly unless both sides were built by the same rustc with the same crates; JSON can,
//! so a plugin built by another compiler, or against another patch release of
//! `routewall-core`, still loads. The cost (serializing a route table) is microseconds
//! next to reading an app.
//!
//! A plugin crate is a `cdylib` that ends with one line:
//!
//! ```ignore
//! routewall_core::export_plugin!(source, MySource::default(), "Routes from my framework");
//! ```
//!
//! The macro exports [`ENTRY_SYMBOL`], which returns a [`PluginV1`]. The host checks
//! [`PluginV1::abi_version`] before it reads anything else, then asks the plugin for its
//! [`Manifest`]. Every call into the plugin runs under `catch_unwind`: a panic comes back
//! as an error naming the plugin, never as an unwind across `extern "C"` (which aborts). (A plugin built with `panic = "abort"` cannot be caught: its panic ends routewall.)
//!
//! Loading a library runs its initialisers with routewall's rights, so plugins load only
//! from paths the operator gives (`--plugin FILE`, `ROUTEWALL_PLUGINS`), never from the
//! working directory or a search path.

// The FFI boundary is the one place routewall needs `unsafe`: loading a library, calling
// through its function pointers, and handing buffers across.
#![allow(unsafe_code)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{
    EmitContext, EmitError, Emitter, Output, RouteSource, RouteTable, SCHEMA_VERSION,
    SourceContext, SourceError,
};

/// The plugin ABI this routewall speaks. A plugin built for another version is refused.
pub const ABI_VERSION: u32 = 1;

/// The symbol a plugin exports: `extern "C" fn() -> *const PluginV1`. The version is part
/// of the name, so a library built for another ABI has no such symbol at all.
pub const ENTRY_SYMBOL: &str = "routewall_plugin_v1";

/// [`PluginV1::kind`] of a route source.
pub const KIND_SOURCE: u32 = 1;
/// [`PluginV1::kind`] of an emitter (a server target).
pub const KIND_TARGET: u32 = 2;

/// A byte buffer allocated by one side and freed by the same side: the plugin frees what it
/// returned through [`PluginV1::free`].
#[repr(C)]
#[derive(Debug)]
pub struct RwBuf {
    /// Start of the bytes.
    pub ptr: *mut u8,
    /// Number of bytes.
    pub len: usize,
    /// Allocated capacity, for the side that frees it.
    pub cap: usize,
}

impl RwBuf {
    /// Hands `bytes` over; [`RwBuf::into_vec`] on the same side of the boundary takes it
    /// back.
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        let mut bytes = std::mem::ManuallyDrop::new(bytes);
        Self {
            ptr: bytes.as_mut_ptr(),
            len: bytes.len(),
            cap: bytes.capacity(),
        }
    }

    /// Takes back a buffer made by [`RwBuf::from_vec`].
    ///
    /// # Safety
    /// `self` must come from [`RwBuf::from_vec`] in this same library, and not be used
    /// again.
    pub unsafe fn into_vec(self) -> Vec<u8> {
        // SAFETY: the caller guarantees the parts come from a Vec of this allocator.
        unsafe { Vec::from_raw_parts(self.ptr, self.len, self.cap) }
    }

    /// Copies the bytes without taking ownership.
    ///
    /// # Safety
    /// `ptr` must point to `len` readable bytes (or `len` be 0).
    unsafe fn to_vec(&self) -> Vec<u8> {
        if self.len == 0 || self.ptr.is_null() {
            return Vec::new();
        }
        // SAFETY: the caller guarantees `len` readable bytes at `ptr`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }.to_vec()
    }
}

/// What [`ENTRY_SYMBOL`] returns: the plugin's ABI version, then its functions. Fields are
/// only ever appended, and [`PluginV1::struct_size`] says how many the plugin has.
#[repr(C)]
#[derive(Debug)]
pub struct PluginV1 {
    /// [`ABI_VERSION`] the plugin was built for; read before anything else.
    pub abi_version: u32,
    /// `size_of::<PluginV1>()` in the plugin.
    pub struct_size: usize,
    /// [`KIND_SOURCE`] or [`KIND_TARGET`].
    pub kind: u32,
    /// The plugin's [`Manifest`], as JSON. (`Option` so that a null pointer from a plugin
    /// written by hand is an error, not undefined behaviour; the layout is a plain pointer.)
    pub info: Option<unsafe extern "C" fn() -> RwBuf>,
    /// Runs one [`Request`] (JSON, `len` bytes at `request`) and always writes the answer
    /// to `out`: returns 0 with the result's JSON, 1 with a [`WireError`]'s, 2 with a panic
    /// message (a JSON string).
    pub call: Option<unsafe extern "C" fn(request: *const u8, len: usize, out: *mut RwBuf) -> i32>,
    /// Frees a buffer the plugin returned.
    pub free: Option<unsafe extern "C" fn(RwBuf)>,
}

/// What a plugin says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Its command-line name (`--source openapi`).
    pub name: String,
    /// The plugin crate's version.
    pub version: String,
    /// One line for `routewall plugins list`.
    pub summary: String,
    /// An emitter's built-in templates, `(name, body)`.
    #[serde(default)]
    pub templates: Vec<(String, String)>,
}

/// One call into a plugin.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// [`RouteSource::load`]; answers a [`RouteTable`].
    Load {
        /// Which app to read.
        ctx: SourceContext,
    },
    /// [`Emitter::emit`]; answers an [`Output`].
    Emit {
        /// The routes to allow.
        routes: RouteTable,
        /// The emitter settings.
        ctx: EmitContext,
    },
    /// [`Emitter::validate`]; answers `null`.
    Validate {
        /// The rendered files.
        output: Output,
        /// The emitter settings.
        ctx: EmitContext,
    },
}

/// An error as it crosses the boundary: [`SourceError`] and [`EmitError`] flattened.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WireError {
    /// [`SourceError::App`].
    App {
        /// The app.
        app: String,
        /// Why it failed.
        cause: String,
    },
    /// [`SourceError::Environment`].
    Environment {
        /// What is wrong.
        message: String,
    },
    /// [`SourceError::Protocol`].
    Protocol {
        /// The app.
        app: String,
        /// What was unreadable.
        cause: String,
    },
    /// [`EmitError::Unsupported`].
    Unsupported {
        /// The rule.
        rule: String,
        /// Its endpoint.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// [`EmitError::Rejected`].
    Rejected {
        /// The checker.
        server: String,
        /// What it said.
        message: String,
    },
    /// [`EmitError::Validator`].
    Validator {
        /// The checker.
        program: String,
        /// Why it could not run.
        cause: String,
    },
    /// Anything else (a template error, a request the plugin cannot serve), as text.
    Other {
        /// The message.
        message: String,
    },
}

impl From<SourceError> for WireError {
    fn from(e: SourceError) -> Self {
        match e {
            SourceError::App { app, cause } => WireError::App { app, cause },
            SourceError::Environment(message) => WireError::Environment { message },
            SourceError::Protocol { app, cause } => WireError::Protocol { app, cause },
            other => WireError::Other {
                message: other.to_string(),
            },
        }
    }
}

impl From<EmitError> for WireError {
    fn from(e: EmitError) -> Self {
        match e {
            EmitError::Unsupported {
                rule,
                endpoint,
                reason,
            } => WireError::Unsupported {
                rule,
                endpoint,
                reason,
            },
            EmitError::Rejected { server, message } => WireError::Rejected { server, message },
            EmitError::Validator { program, cause } => WireError::Validator { program, cause },
            other => WireError::Other {
                message: other.to_string(),
            },
        }
    }
}

impl WireError {
    fn into_source_error(self, plugin: &str) -> SourceError {
        match self {
            WireError::App { app, cause } => SourceError::App { app, cause },
            WireError::Environment { message } => SourceError::Environment(message),
            WireError::Protocol { app, cause } => SourceError::Protocol { app, cause },
            other => SourceError::Plugin {
                plugin: plugin.to_owned(),
                message: one_line(&other.message()),
            },
        }
    }

    fn into_emit_error(self, plugin: &str) -> EmitError {
        match self {
            WireError::Unsupported {
                rule,
                endpoint,
                reason,
            } => EmitError::Unsupported {
                rule,
                endpoint,
                reason,
            },
            WireError::Rejected { server, message } => EmitError::Rejected { server, message },
            WireError::Validator { program, cause } => EmitError::Validator { program, cause },
            other => EmitError::Plugin {
                plugin: plugin.to_owned(),
                message: one_line(&other.message()),
            },
        }
    }

    fn message(&self) -> String {
        match self {
            WireError::App { app, cause } | WireError::Protocol { app, cause } => {
                format!("{app}: {cause}")
            }
            WireError::Environment { message }
            | WireError::Other { message }
            | WireError::Rejected { message, .. } => message.clone(),
            WireError::Unsupported { rule, reason, .. } => format!("rule `{rule}`: {reason}"),
            WireError::Validator { program, cause } => format!("{program}: {cause}"),
        }
    }
}

/// Why a plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PluginError {
    /// The file could not be opened as a shared library.
    #[error("cannot load plugin {}: {cause}", path.display())]
    Open {
        /// The plugin file.
        path: PathBuf,
        /// Why.
        cause: String,
    },
    /// The library has no [`ENTRY_SYMBOL`].
    #[error(
        "{} is not a routewall plugin for ABI {ABI_VERSION}: it exports no `{ENTRY_SYMBOL}` (built for another plugin ABI, or not a plugin)",
        path.display()
    )]
    NoEntry {
        /// The plugin file.
        path: PathBuf,
    },
    /// The plugin was built for another ABI version.
    #[error(
        "plugin {} was built for plugin ABI {found}; this routewall speaks ABI {ABI_VERSION}: rebuild it against routewall-core {}",
        path.display(),
        env!("CARGO_PKG_VERSION")
    )]
    AbiVersion {
        /// The plugin file.
        path: PathBuf,
        /// The version it declares.
        found: u32,
    },
    /// The plugin answered something unreadable where it should describe itself.
    #[error("plugin {} is broken: {cause}", path.display())]
    Broken {
        /// The plugin file.
        path: PathBuf,
        /// What was wrong.
        cause: String,
    },
}

/// A loaded plugin library: its manifest and entry points. Kept alive (behind an [`Arc`])
/// as long as any source or emitter made from it.
pub struct LoadedPlugin {
    // Field order matters: the vtable points into the library, which must outlive it.
    vtable: &'static PluginV1,
    manifest: Manifest,
    kind: u32,
    path: PathBuf,
    _library: libloading::Library,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("manifest", &self.manifest)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl LoadedPlugin {
    /// Loads the plugin at `path`: checks its ABI version, then reads its manifest.
    ///
    /// Loading runs the library's initialisers: only pass paths the operator named.
    pub fn load(path: &Path) -> Result<Arc<Self>, PluginError> {
        let path = path.canonicalize().map_err(|e| PluginError::Open {
            path: path.to_owned(),
            cause: e.to_string(),
        })?;
        // SAFETY: loading a library runs its initialisers; the operator named this file as
        // a plugin, which is the trust decision.
        let library =
            unsafe { libloading::Library::new(&path) }.map_err(|e| PluginError::Open {
                path: path.clone(),
                cause: one_line(&e.to_string()),
            })?;
        // SAFETY: the symbol's type is the one the ABI fixes for this name.
        let entry = unsafe {
            library.get::<unsafe extern "C" fn() -> *const PluginV1>(ENTRY_SYMBOL.as_bytes())
        }
        .map_err(|_| PluginError::NoEntry { path: path.clone() })?;
        let broken = |cause: &str| PluginError::Broken {
            path: path.clone(),
            cause: cause.to_owned(),
        };
        // SAFETY: calling the entry point the plugin exports; it takes no arguments.
        let raw = unsafe { entry() };
        if raw.is_null() {
            return Err(broken("its entry point returned null"));
        }
        // SAFETY: every ABI version starts with `abi_version: u32`, so this read is valid
        // whatever version the plugin was built for.
        let found = unsafe { std::ptr::addr_of!((*raw).abi_version).read() };
        if found != ABI_VERSION {
            return Err(PluginError::AbiVersion { path, found });
        }
        // SAFETY: `struct_size` directly follows the version in every ABI 1 table; read it
        // before anything else, so that a short table is refused rather than read past.
        let size = unsafe { std::ptr::addr_of!((*raw).struct_size).read() };
        if size < std::mem::size_of::<PluginV1>() {
            return Err(broken("its entry table is shorter than ABI 1's"));
        }
        // SAFETY: version 1 plugins return a pointer to a static PluginV1, valid for as long
        // as the library stays loaded (this struct keeps it loaded); every field's type
        // admits every bit pattern a C plugin could leave there, null pointers included.
        let vtable: &'static PluginV1 = unsafe { &*raw };
        let (Some(info), Some(_), Some(free)) = (vtable.info, vtable.call, vtable.free) else {
            return Err(broken("its entry table has a null function"));
        };
        if vtable.kind != KIND_SOURCE && vtable.kind != KIND_TARGET {
            return Err(broken(&format!("unknown plugin kind {}", vtable.kind)));
        }
        // SAFETY: `info` is the plugin's own function; the buffer it returns is freed with
        // its own `free` after copying.
        let bytes = unsafe {
            let buf = info();
            let bytes = buf.to_vec();
            if !buf.ptr.is_null() {
                free(buf);
            }
            bytes
        };
        let mut manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| broken(&format!("unreadable manifest: {e}")))?;
        // Shown on one line each by `plugins list`.
        manifest.summary = one_line(&manifest.summary);
        manifest.version = one_line(&manifest.version);
        if manifest.name.is_empty()
            || !manifest
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(broken(&format!(
                "its name `{}` is not letters, digits, `-` and `_`",
                manifest.name.escape_debug()
            )));
        }
        Ok(Arc::new(Self {
            vtable,
            manifest,
            kind: vtable.kind,
            path,
            _library: library,
        }))
    }

    /// What the plugin says about itself.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The library file, canonicalised.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the plugin is a source (else an emitter).
    pub fn is_source(&self) -> bool {
        self.kind == KIND_SOURCE
    }

    /// Sends `request`; `Ok` holds the result's JSON, `Err` the plugin's error or a
    /// protocol failure as text.
    fn call(&self, request: &Request) -> Result<Vec<u8>, CallError> {
        let body = serde_json::to_vec(request)
            .map_err(|e| CallError::Protocol(format!("cannot encode the request: {e}")))?;
        let (Some(call), Some(free)) = (self.vtable.call, self.vtable.free) else {
            return Err(CallError::Protocol(
                "its entry table has a null function".to_owned(),
            ));
        };
        // Null until the plugin writes its answer: a plugin that writes nothing leaves
        // nothing to free.
        let mut out = RwBuf {
            ptr: std::ptr::null_mut(),
            len: 0,
            cap: 0,
        };
        // SAFETY: `call` and `free` are the plugin's own; `body` outlives the call, and the
        // answer buffer is copied before the plugin frees it.
        let (status, answer) = unsafe {
            let status = call(body.as_ptr(), body.len(), &mut out);
            let answer = out.to_vec();
            if !out.ptr.is_null() {
                free(out);
            }
            (status, answer)
        };
        match status {
            0 => Ok(answer),
            1 => Err(serde_json::from_slice::<WireError>(&answer).map_or_else(
                |e| CallError::Protocol(format!("unreadable error: {e}")),
                CallError::Plugin,
            )),
            2 => Err(CallError::Protocol(format!(
                "panicked: {}",
                one_line(&serde_json::from_slice::<String>(&answer).unwrap_or_default())
            ))),
            other => Err(CallError::Protocol(format!("unknown status {other}"))),
        }
    }
}

enum CallError {
    Plugin(WireError),
    Protocol(String),
}

/// A [`RouteSource`] served by a plugin.
pub(crate) struct PluginSource(pub(crate) Arc<LoadedPlugin>);

impl RouteSource for PluginSource {
    fn name(&self) -> &str {
        &self.0.manifest.name
    }

    fn load(&self, ctx: &SourceContext) -> Result<RouteTable, SourceError> {
        let name = &self.0.manifest.name;
        let protocol = |message: String| SourceError::Plugin {
            plugin: name.clone(),
            message,
        };
        match self.0.call(&Request::Load { ctx: ctx.clone() }) {
            Ok(bytes) => {
                let table: RouteTable = serde_json::from_slice(&bytes)
                    .map_err(|e| protocol(format!("unreadable route table: {e}")))?;
                if table.schema_version > SCHEMA_VERSION {
                    // Fields this routewall does not know were dropped while reading.
                    return Err(protocol(format!(
                        "its route table uses schema {}, newer than this routewall's {SCHEMA_VERSION}: upgrade routewall",
                        table.schema_version
                    )));
                }
                Ok(table)
            }
            Err(CallError::Plugin(e)) => Err(e.into_source_error(name)),
            Err(CallError::Protocol(message)) => Err(protocol(message)),
        }
    }
}

/// An [`Emitter`] served by a plugin.
pub(crate) struct PluginEmitter {
    pub(crate) plugin: Arc<LoadedPlugin>,
    pub(crate) templates: &'static [(&'static str, &'static str)],
}

impl PluginEmitter {
    fn run<T: serde::de::DeserializeOwned>(&self, request: &Request) -> Result<T, EmitError> {
        let name = &self.plugin.manifest.name;
        let protocol = |message: String| EmitError::Plugin {
            plugin: name.clone(),
            message,
        };
        match self.plugin.call(request) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| protocol(format!("unreadable answer: {e}"))),
            Err(CallError::Plugin(e)) => Err(e.into_emit_error(name)),
            Err(CallError::Protocol(message)) => Err(protocol(message)),
        }
    }
}

impl Emitter for PluginEmitter {
    fn name(&self) -> &str {
        &self.plugin.manifest.name
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        self.templates
    }

    fn emit(&self, routes: &RouteTable, ctx: &EmitContext) -> Result<Output, EmitError> {
        // Serialized by this routewall, the table holds exactly this schema's fields.
        let mut routes = routes.clone();
        routes.schema_version = SCHEMA_VERSION;
        self.run(&Request::Emit {
            routes,
            ctx: ctx.clone(),
        })
    }

    fn validate(&self, output: &Output, ctx: &EmitContext) -> Result<(), EmitError> {
        self.run::<Option<()>>(&Request::Validate {
            output: output.clone(),
            ctx: ctx.clone(),
        })
        .map(|_| ())
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The plugin side of the boundary, used by [`crate::export_plugin!`]; not for direct use.
#[doc(hidden)]
pub mod shim {
    use super::*;

    /// What a plugin crate exports.
    pub enum Plugin {
        /// A route source.
        Source(Box<dyn RouteSource>),
        /// An emitter.
        Target(Box<dyn Emitter>),
    }

    /// [`PluginV1::info`]: the manifest of what `make` builds.
    pub fn info(make: fn() -> Plugin, summary: &str, version: &str) -> RwBuf {
        let manifest = catch_unwind(|| match make() {
            Plugin::Source(source) => Manifest {
                name: source.name().to_owned(),
                version: version.to_owned(),
                summary: summary.to_owned(),
                templates: Vec::new(),
            },
            Plugin::Target(emitter) => Manifest {
                name: emitter.name().to_owned(),
                version: version.to_owned(),
                summary: summary.to_owned(),
                templates: emitter
                    .templates()
                    .iter()
                    .map(|(n, b)| ((*n).to_owned(), (*b).to_owned()))
                    .collect(),
            },
        });
        // A panic here leaves an empty buffer, which the host reports as a broken manifest.
        RwBuf::from_vec(
            manifest
                .ok()
                .and_then(|m| serde_json::to_vec(&m).ok())
                .unwrap_or_default(),
        )
    }

    /// [`PluginV1::call`].
    ///
    /// # Safety
    /// `request` must point to `len` readable bytes and `out` to a writable [`RwBuf`].
    pub unsafe fn call(
        make: fn() -> Plugin,
        request: *const u8,
        len: usize,
        out: *mut RwBuf,
    ) -> i32 {
        let bytes = if request.is_null() || len == 0 {
            &[][..]
        } else {
            // SAFETY: the host passes `len` readable bytes.
            unsafe { std::slice::from_raw_parts(request, len) }
        };
        // The plugin has its own copy of std, so this hook is the plugin's alone: its panics
        // come back as one-line errors instead of also printing (and backtracing) here.
        static QUIET: std::sync::Once = std::sync::Once::new();
        QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
        let result = catch_unwind(AssertUnwindSafe(|| serve(make, bytes)));
        let (status, body) = match result {
            Ok(Ok(body)) => (0, body),
            Ok(Err(error)) => (1, serde_json::to_vec(&error).unwrap_or_default()),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic without a message".to_owned());
                (2, serde_json::to_vec(&message).unwrap_or_default())
            }
        };
        if !out.is_null() {
            // SAFETY: the host passes a writable RwBuf, which it hands back to `free`.
            unsafe { out.write(RwBuf::from_vec(body)) };
        }
        status
    }

    fn serve(make: fn() -> Plugin, request: &[u8]) -> Result<Vec<u8>, WireError> {
        let request: Request = serde_json::from_slice(request).map_err(|e| WireError::Other {
            message: format!("unreadable request: {e}"),
        })?;
        let encode = |value: Result<Vec<u8>, serde_json::Error>| {
            value.map_err(|e| WireError::Other {
                message: format!("cannot encode the answer: {e}"),
            })
        };
        match (make(), request) {
            (Plugin::Source(source), Request::Load { ctx }) => {
                let table = source.load(&ctx)?;
                encode(serde_json::to_vec(&table))
            }
            (Plugin::Target(emitter), Request::Emit { routes, ctx }) => {
                if routes.schema_version > SCHEMA_VERSION {
                    // Reading it dropped fields this plugin does not know: it would allow more.
                    return Err(WireError::Other {
                        message: format!(
                            "the route table uses schema {}, newer than this plugin's {SCHEMA_VERSION}: rebuild the plugin against this routewall",
                            routes.schema_version
                        ),
                    });
                }
                let output = emitter.emit(&routes, &ctx)?;
                encode(serde_json::to_vec(&output))
            }
            (Plugin::Target(emitter), Request::Validate { output, ctx }) => {
                emitter.validate(&output, &ctx)?;
                encode(serde_json::to_vec(&()))
            }
            (_, request) => Err(WireError::Other {
                message: format!(
                    "this plugin cannot serve a `{}` request",
                    match request {
                        Request::Load { .. } => "load",
                        Request::Emit { .. } => "emit",
                        Request::Validate { .. } => "validate",
                    }
                ),
            }),
        }
    }

    /// [`PluginV1::free`].
    ///
    /// # Safety
    /// `buf` must come from this library's [`info`] or [`call`], and be freed once.
    pub unsafe extern "C" fn free(buf: RwBuf) {
        // SAFETY: the caller hands back a buffer this library made.
        drop(unsafe { buf.into_vec() });
    }
}

/// Turns an ordinary [`RouteSource`] or [`Emitter`] into a run-time plugin: put it at the
/// top level of a `cdylib` crate.
///
/// ```ignore
/// routewall_core::export_plugin!(source, OpenApiSource::default(), "Routes from OpenAPI");
/// routewall_core::export_plugin!(target, CaddyEmitter, "Caddy allowlists");
/// ```
///
/// The expression is evaluated for each call (keep it cheap); the plugin's version is its
/// crate's `CARGO_PKG_VERSION`. Panics inside the plugin are caught at the boundary.
#[macro_export]
macro_rules! export_plugin {
    (source, $make:expr, $summary:expr $(,)?) => {
        $crate::export_plugin!(@entry $crate::plugin::KIND_SOURCE,
            $crate::plugin::shim::Plugin::Source(::std::boxed::Box::new($make)), $summary);
    };
    (target, $make:expr, $summary:expr $(,)?) => {
        $crate::export_plugin!(@entry $crate::plugin::KIND_TARGET,
            $crate::plugin::shim::Plugin::Target(::std::boxed::Box::new($make)), $summary);
    };
    (@entry $kind:expr, $make:expr, $summary:expr) => {
        #[doc(hidden)]
        #[allow(unsafe_code, missing_docs)]
        mod __routewall_plugin {
            use super::*;
            fn make() -> $crate::plugin::shim::Plugin {
                $make
            }
            unsafe extern "C" fn info() -> $crate::plugin::RwBuf {
                $crate::plugin::shim::info(make, $summary, env!("CARGO_PKG_VERSION"))
            }
            unsafe extern "C" fn call(
                request: *const u8,
                len: usize,
                out: *mut $crate::plugin::RwBuf,
            ) -> i32 {
                // SAFETY: the host keeps the ABI's promises about these pointers.
                unsafe { $crate::plugin::shim::call(make, request, len, out) }
            }
            pub(super) static PLUGIN: $crate::plugin::PluginV1 = $crate::plugin::PluginV1 {
                abi_version: $crate::plugin::ABI_VERSION,
                struct_size: ::core::mem::size_of::<$crate::plugin::PluginV1>(),
                kind: $kind,
                info: ::core::option::Option::Some(info),
                call: ::core::option::Option::Some(call),
                free: ::core::option::Option::Some($crate::plugin::shim::free),
            };
        }
        /// The routewall plugin entry point (ABI 1).
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn routewall_plugin_v1() -> *const $crate::plugin::PluginV1 {
            &__routewall_plugin::PLUGIN
        }
    };
}
