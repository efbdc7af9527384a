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
    /// Where it comes from (`built-in`).
    pub origin: String,
}

/// Every source and emitter, by name. A name registered twice is an error rather than a
/// silent winner: the operator would not know which one ran.
pub struct Registry {
    sources: BTreeMap<&'static str, &'static SourceEntry>,
    emitters: BTreeMap<&'static str, &'static EmitterEntry>,
}

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
        Ok(Self {
            sources: by_name(sources, PluginKind::Source, |e| e.name)?,
            emitters: by_name(emitters, PluginKind::Target, |e| e.name)?,
        })
    }

    /// Builds the source called `name`.
    pub fn source(&self, name: &str) -> Result<Box<dyn RouteSource>, RegistryError> {
        self.sources
            .get(name)
            .map(|e| (e.make)())
            .ok_or_else(|| RegistryError::Unknown {
                kind: PluginKind::Source,
                name: name.to_owned(),
                known: self.sources.keys().copied().collect::<Vec<_>>().join(", "),
            })
    }

    /// Builds the emitter called `name`.
    pub fn emitter(&self, name: &str) -> Result<Box<dyn Emitter>, RegistryError> {
        self.emitters
            .get(name)
            .map(|e| (e.make)())
            .ok_or_else(|| RegistryError::Unknown {
                kind: PluginKind::Target,
                name: name.to_owned(),
                known: self.emitters.keys().copied().collect::<Vec<_>>().join(", "),
            })
    }

    /// Every plugin, sources first, each kind sorted by name.
    pub fn list(&self) -> Vec<PluginInfo> {
        let sources = self
            .sources
            .values()
            .map(|e| (PluginKind::Source, e.name, e.summary));
        let emitters = self
            .emitters
            .values()
            .map(|e| (PluginKind::Target, e.name, e.summary));
        sources
            .chain(emitters)
            .map(|(kind, name, summary)| PluginInfo {
                kind,
                name: name.to_owned(),
                summary: summary.to_owned(),
                origin: "built-in".to_owned(),
            })
            .collect()
    }
}

fn by_name<T>(
    entries: impl IntoIterator<Item = &'static T>,
    kind: PluginKind,
    name: fn(&T) -> &'static str,
) -> Result<BTreeMap<&'static str, &'static T>, RegistryError> {
    let mut map = BTreeMap::new();
    for entry in entries {
        if map.insert(name(entry), entry).is_some() {
            return Err(RegistryError::Duplicate {
                kind,
                name: name(entry).to_owned(),
            });
        }
    }
    Ok(map)
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
    #[error("two {kind}s are registered as `{name}`")]
    Duplicate {
        /// Source or target.
        kind: PluginKind,
        /// The contested name.
        name: String,
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
        assert_eq!(err.to_string(), "two sources are registered as `fake`");
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
