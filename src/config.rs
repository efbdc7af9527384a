//! The optional configuration file (`--config FILE` or `ROUTEWALL_CONFIG`), for what a
//! deploy pipeline would otherwise repeat on every command line.
//!
//! ```toml
//! # Run-time plugins; relative paths are relative to this file.
//! plugins = ["/usr/lib/routewall/libroutewall_haproxy_target.so"]
//! # Paths the app's route table cannot see, as `--allow` takes them.
//! allow = ["/socket.io/*"]
//! ```
//!
//! It is read only when named: routewall never picks up a file from the working
//! directory, since the file can name libraries to load.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::Deserialize;

/// The file's contents. Unknown keys are an error: a misspelt `plugin =` must not be
/// silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// Plugin files to load, resolved against the file's directory.
    #[serde(default)]
    pub(crate) plugins: Vec<PathBuf>,
    /// Extra allowed paths (`PATH` or `PATH*`).
    #[serde(default)]
    pub(crate) allow: Vec<String>,
    /// Where the file is, for messages and relative paths.
    #[serde(skip)]
    pub(crate) path: PathBuf,
}

impl Config {
    /// Reads the file named by `--config`, else by `ROUTEWALL_CONFIG`; none is fine.
    pub(crate) fn load(flag: Option<&Path>) -> Result<Config> {
        let from_env = std::env::var_os("ROUTEWALL_CONFIG").filter(|v| !v.is_empty());
        let Some(path) = flag.map(Path::to_owned).or(from_env.map(PathBuf::from)) else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the config file {}", path.display()))?;
        let mut config: Config = toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "config file {}: {}",
                path.display(),
                e.message().split_whitespace().collect::<Vec<_>>().join(" ")
            )
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        for plugin in &mut config.plugins {
            if plugin.is_relative() {
                *plugin = dir.join(&*plugin);
            }
        }
        config.path = path;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_plugins_are_resolved_against_the_file_and_typos_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("routewall.toml");
        std::fs::write(&file, "plugins = [\"p/x.so\"]\nallow = [\"/ws/*\"]\n").expect("write");
        let config = Config::load(Some(&file)).expect("reads");
        assert_eq!(config.plugins, [dir.path().join("p/x.so")]);
        assert_eq!(config.allow, ["/ws/*"]);
        std::fs::write(&file, "plugin = [\"x.so\"]\n").expect("write");
        let err = Config::load(Some(&file)).expect_err("unknown key");
        assert!(err.to_string().contains("unknown field `plugin`"), "{err}");
    }
}
