//! The registry of sources and emitters.
//!
//! Built-in plugins register themselves at link time with [`inventory`]:
//!
//! ```ignore
//! inventory::submit! {
//!     routewall_core::SourceEntry {
//!         name: "flask",
//!         summary: "Flask apps",
//!         make: || Box::new(FlaskSource),
//!     }
//! }
//! ```
//!
//! A crate that submits entries must be linked into the binary: naming it in `Cargo.toml` is
//! not enough if no code refers to it (`use routewall_flask as _;`).

use std::collections::BTreeMap;

use std::sync::Arc;

use crate::plugin::{LoadedPlugin, PluginEmitter, PluginSource};
use crate::{Emitter, RouteSource};

/// A route source known at link time.
#[derive(Debug)]
pub struct SourceEntry {
    /// Name used on the command line.
    pub name: &'static str,
    /// One line for `routewall plugins list`.
    pub summary: &'static str,
    /// Builds the source.
    pub make: fn() -> Box<dyn RouteSource>,
}

/// An emitter known at link time.
#[derive(Debug)]
pub struct EmitterEntry {
    /// Name used on the command line.
    pub name: &'static str,
    /// One line for `routewall plugins list`.
    pub summary: &'static str,
    /// Builds the emitter.
    pub make: fn() -> Box<dyn Emitter>,
}

inventory::collect!(SourceEntry);
inventory::collect!(EmitterEntry);

/// Whether a plugin reads routes or writes configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PluginKind {
    /// A [`RouteSource`].
    Source,
    /// An [`Emitter`].
    Target,
}

impl std::fmt::Display for PluginKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            PluginKind::Source => "source",
            PluginKind::Target => "target",
        })
    }
}

/// What `plugins list` shows about one plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// Source or target.
    pub kind: PluginKind,
    /// Its command-line name.
    pub name: String,
    /// One line about it.
    pub summary: String,
    /// Where it comes from: `built-in`, or the plugin file's path.
    pub origin: String,
    /// Its version: routewall's for built-ins, the plugin crate's for plugins.
    pub version: String,
}

/// One registered plugin: how to build it and what to show about it.
struct Slot<T: ?Sized> {
    summary: String,
    origin: String,
    version: String,
    make: Box<dyn Fn() -> Box<T> + Send + Sync>,
}

/// Every source and emitter, by name. A name registered twice is an error rather than a
/// silent winner: the operator would not know which one ran.
pub struct Registry {
    sources: BTreeMap<String, Slot<dyn RouteSource>>,
    emitters: BTreeMap<String, Slot<dyn Emitter>>,
}

const BUILT_IN: &str = "built-in";

impl Registry {
    /// Collects the built-in plugins linked into this binary.
    pub fn builtin() -> Result<Self, RegistryError> {
        Self::from_entries(
            inventory::iter::<SourceEntry>,
            inventory::iter::<EmitterEntry>,
        )
    }

    /// A registry of exactly these entries.
    pub fn from_entries(
        sources: impl IntoIterator<Item = &'static SourceEntry>,
        emitters: impl IntoIterator<Item = &'static EmitterEntry>,
    ) -> Result<Self, RegistryError> {
        let mut registry = Self {
            sources: BTreeMap::new(),
            emitters: BTreeMap::new(),
        };
        let version = env!("CARGO_PKG_VERSION");
        for entry in sources {
            let slot = Slot {
                summary: entry.summary.to_owned(),
                origin: BUILT_IN.to_owned(),
                version: version.to_owned(),
                make: Box::new(entry.make),
            };
            insert(&mut registry.sources, PluginKind::Source, entry.name, slot)?;
        }
        for entry in emitters {
            let slot = Slot {
                summary: entry.summary.to_owned(),
                origin: BUILT_IN.to_owned(),
                version: version.to_owned(),
                make: Box::new(entry.make),
            };
            insert(&mut registry.emitters, PluginKind::Target, entry.name, slot)?;
        }
        Ok(registry)
    }

    /// Adds a run-time plugin; a name already taken (by a built-in or another plugin) is
    /// refused.
    pub fn add_plugin(&mut self, plugin: Arc<LoadedPlugin>) -> Result<(), RegistryError> {
        let manifest = plugin.manifest().clone();
        let origin = plugin.path().display().to_string();
        if plugin.is_source() {
            let shared = Arc::clone(&plugin);
            let slot = Slot {
                summary: manifest.summary,
                origin,
                version: manifest.version,
                make: Box::new(move || -> Box<dyn RouteSource> {
                    Box::new(PluginSource(Arc::clone(&shared)))
                }),
            };
            return insert(&mut self.sources, PluginKind::Source, &manifest.name, slot);
        }
        // Template bodies must be `'static` for the Emitter trait; a plugin's are leaked once,
        // when it loads, and live as long as the process (as the library itself does).
        let templates: Vec<(&'static str, &'static str)> = manifest
            .templates
            .into_iter()
            .map(|(name, body)| -> (&'static str, &'static str) {
                (
                    Box::leak(name.into_boxed_str()),
                    Box::leak(body.into_boxed_str()),
                )
            })
            .collect();
        let templates: &'static [(&'static str, &'static str)] = Box::leak(templates.into());
        let shared = Arc::clone(&plugin);
        let slot = Slot {
            summary: manifest.summary,
            origin,
            version: manifest.version,
            make: Box::new(move || -> Box<dyn Emitter> {
                Box::new(PluginEmitter {
                    plugin: Arc::clone(&shared),
                    templates,
                })
            }),
        };
        insert(&mut self.emitters, PluginKind::Target, &manifest.name, slot)
    }

    /// Builds the source called `name`.
    pub fn source(&self, name: &str) -> Result<Box<dyn RouteSource>, RegistryError> {
        build(&self.sources, PluginKind::Source, name)
    }

    /// Builds the emitter called `name`.
    pub fn emitter(&self, name: &str) -> Result<Box<dyn Emitter>, RegistryError> {
        build(&self.emitters, PluginKind::Target, name)
    }

    /// Every plugin, sources first, each kind sorted by name.
    pub fn list(&self) -> Vec<PluginInfo> {
        let sources = self
            .sources
            .iter()
            .map(|(name, slot)| info(PluginKind::Source, name, slot));
        let emitters = self
            .emitters
            .iter()
            .map(|(name, slot)| info(PluginKind::Target, name, slot));
        sources.chain(emitters).collect()
    }
}

fn info<T: ?Sized>(kind: PluginKind, name: &str, slot: &Slot<T>) -> PluginInfo {
    PluginInfo {
        kind,
        name: name.to_owned(),
        summary: slot.summary.clone(),
        origin: slot.origin.clone(),
        version: slot.version.clone(),
    }
}

fn insert<T: ?Sized>(
    map: &mut BTreeMap<String, Slot<T>>,
    kind: PluginKind,
    name: &str,
    slot: Slot<T>,
) -> Result<(), RegistryError> {
    if let Some(existing) = map.get(name) {
        return Err(RegistryError::Duplicate {
            kind,
            name: name.to_owned(),
            first: existing.origin.clone(),
            second: slot.origin,
        });
    }
    map.insert(name.to_owned(), slot);
    Ok(())
}

fn build<T: ?Sized>(
    map: &BTreeMap<String, Slot<T>>,
    kind: PluginKind,
    name: &str,
) -> Result<Box<T>, RegistryError> {
    map.get(name)
        .map(|slot| (slot.make)())
        .ok_or_else(|| RegistryError::Unknown {
            kind,
            name: name.to_owned(),
            known: map.keys().cloned().collect::<Vec<_>>().join(", "),
        })
}

/// A plugin could not be found or registered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// No plugin of that kind has that name.
    #[error("unknown {kind} `{name}` (known: {known})")]
    Unknown {
        /// Source or target.
        kind: PluginKind,
        /// The name asked for.
        name: String,
        /// The names that exist, comma-separated.
        known: String,
    },
    /// Two plugins of one kind claim the same name.
    #[error("two {kind}s are registered as `{name}`: {first} and {second}")]
    Duplicate {
        /// Source or target.
        kind: PluginKind,
        /// The contested name.
        name: String,
        /// Where the first one comes from (`built-in`, a plugin file).
        first: String,
        /// Where the refused one comes from.
        second: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RouteTable, SourceContext, SourceError};

    struct Fake;

    impl RouteSource for Fake {
        fn name(&self) -> &str {
            "fake"
        }

        fn load(&self, ctx: &SourceContext) -> Result<RouteTable, SourceError> {
            Ok(RouteTable::new("fake", ctx.app.clone()))
        }
    }

    static FAKE: SourceEntry = SourceEntry {
        name: "fake",
        summary: "a",
        make: || Box::new(Fake),
    };
    static FAKE_AGAIN: SourceEntry = SourceEntry {
        name: "fake",
        summary: "b",
        make: || Box::new(Fake),
    };

    #[test]
    fn a_name_registered_twice_is_an_error() {
        let err = Registry::from_entries([&FAKE, &FAKE_AGAIN], [])
            .err()
            .expect("duplicate");
        assert_eq!(
            err.to_string(),
            "two sources are registered as `fake`: built-in and built-in"
        );
    }

    #[test]
    fn registered_sources_are_built_and_listed() {
        let registry = Registry::from_entries([&FAKE], []).expect("one entry");
        let table = registry
            .source("fake")
            .expect("known")
            .load(&SourceContext::new("x", "."))
            .expect("loads");
        assert_eq!(table.app, "x");
        assert_eq!(
            registry.list()[0].to_string_pair(),
            ("source".to_owned(), "fake".to_owned())
        );
    }

    impl PluginInfo {
        fn to_string_pair(&self) -> (String, String) {
            (self.kind.to_string(), self.name.clone())
        }
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let registry = Registry::builtin().expect("no duplicates in core");
        let err = registry
            .source("django")
            .err()
            .expect("nothing registered in core tests");
        assert_eq!(err.to_string(), "unknown source `django` (known: )");
    }
}
