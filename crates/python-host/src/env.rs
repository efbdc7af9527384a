//! Finding the Python environment an app runs in.

use std::path::{Path, PathBuf};

use routewall_core::SourceError;

/// A virtualenv, as described by its `pyvenv.cfg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Venv {
    /// The venv's root directory.
    pub dir: PathBuf,
    /// `(major, minor)` of the Python that created it.
    pub version: (u8, u8),
    /// `include-system-site-packages = true`.
    pub include_system_site_packages: bool,
}

impl Venv {
    /// Looks for the app's environment the way Python tools do: the directory the user
    /// named, then `$VIRTUAL_ENV`, then `.venv` in the working directory. `None` means the
    /// embedded interpreter's own environment.
    pub fn discover(
        explicit: Option<&Path>,
        working_dir: &Path,
    ) -> Result<Option<Self>, SourceError> {
        if let Some(dir) = explicit {
            return Self::read(&working_dir.join(dir)).map(Some);
        }
        if let Some(dir) = std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) {
            return Self::read(Path::new(&dir)).map(Some);
        }
        let local = working_dir.join(".venv");
        if local.join("pyvenv.cfg").is_file() {
            return Self::read(&local).map(Some);
        }
        Ok(None)
    }

    /// Reads `DIR/pyvenv.cfg`.
    pub fn read(dir: &Path) -> Result<Self, SourceError> {
        let cfg = dir.join("pyvenv.cfg");
        let text = std::fs::read_to_string(&cfg).map_err(|e| {
            SourceError::Environment(format!(
                "`{}` is not a virtualenv: cannot read {}: {e}",
                dir.display(),
                cfg.display()
            ))
        })?;
        let mut version = None;
        let mut include_system = false;
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let (key, value) = (key.trim(), value.trim());
            match key {
                // `virtualenv` writes version_info, `python -m venv` writes version.
                "version" | "version_info" if version.is_none() => version = parse_version(value),
                "include-system-site-packages" => {
                    include_system = value.eq_ignore_ascii_case("true")
                }
                _ => {}
            }
        }
        let version = version.ok_or_else(|| {
            SourceError::Environment(format!("{} names no Python version", cfg.display()))
        })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            version,
            include_system_site_packages: include_system,
        })
    }

    /// The venv's own interpreter.
    pub fn python(&self) -> PathBuf {
        self.dir.join("bin").join("python")
    }

    /// Where packages are installed (`lib/python3.X/site-packages`).
    pub fn site_packages(&self) -> PathBuf {
        let (major, minor) = self.version;
        self.dir
            .join("lib")
            .join(format!("python{major}.{minor}"))
            .join("site-packages")
    }
}

fn parse_version(value: &str) -> Option<(u8, u8)> {
    let mut parts = value.split('.');
    let major = parts.next()?.trim().parse().ok()?;
    let minor = parts.next()?.trim().parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_spellings_of_the_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("pyvenv.cfg"),
            "home = /usr/bin\nversion_info = 3.12.1.final.0\n",
        )
        .expect("write");
        let venv = Venv::read(dir.path()).expect("read");
        assert_eq!(venv.version, (3, 12));
        assert!(!venv.include_system_site_packages);
        assert!(
            venv.site_packages()
                .ends_with("lib/python3.12/site-packages")
        );

        std::fs::write(
            dir.path().join("pyvenv.cfg"),
            "version = 3.11.7\ninclude-system-site-packages = true\n",
        )
        .expect("write");
        let venv = Venv::read(dir.path()).expect("read");
        assert_eq!(venv.version, (3, 11));
        assert!(venv.include_system_site_packages);
    }

    #[test]
    fn a_directory_without_pyvenv_cfg_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = Venv::read(dir.path()).expect_err("not a venv");
        assert!(err.to_string().contains("is not a virtualenv"), "{err}");
    }
}
