//! Rendering output through tera templates, which users can override.
//!
//! Emitters keep their output shape in templates. A user directory (`--templates DIR`) may
//! replace any of them by name (`nginx/location.conf`), or extend the built-in one, which
//! stays reachable as `__routewall/NAME`, and replace a `{% block %}` (zola's way).
//! Autoescaping is off for every template: HTML escaping is wrong for server configuration,
//! and tera would otherwise switch it on by file suffix. Emitters hand templates tokens that
//! are already quoted for the target, and register filters for anything a user template
//! wants to quote itself, so a template never has to splice raw route text.

use std::path::Path;

use serde::Serialize;

/// Prefix of the names under which built-in templates stay reachable.
pub const BUILTIN_PREFIX: &str = "__routewall/";

/// A set of templates ready to render.
#[derive(Debug)]
pub struct Templates {
    tera: tera::Tera,
}

impl Templates {
    /// Built-in templates, each `(name, body)`.
    pub fn builtin(templates: &[(&str, &str)]) -> Result<Self, TemplateError> {
        Self::with_overrides(templates, None)
    }

    /// Built-in templates, overridden by the files of `user_dir` whose path relative to it
    /// names a template (`DIR/nginx/location.conf` replaces `nginx/location.conf`).
    pub fn with_overrides(
        builtins: &[(&str, &str)],
        user_dir: Option<&Path>,
    ) -> Result<Self, TemplateError> {
        let mut tera = tera::Tera::default();
        tera.autoescape_on(vec![]);
        // Built-ins first, under their reserved names, so that user templates can extend
        // them; tera builds the inheritance chains as each batch is added.
        let reserved: Vec<(String, &str)> = builtins
            .iter()
            .map(|(name, body)| (format!("{BUILTIN_PREFIX}{name}"), *body))
            .collect();
        tera.add_raw_templates(reserved)
            .map_err(|e| TemplateError::new("built-in templates", &e))?;
        let mut files = Vec::new();
        if let Some(dir) = user_dir {
            collect_files(dir, dir, &mut files).map_err(|e| TemplateError {
                template: dir.display().to_string(),
                cause: e.to_string(),
            })?;
            let batch: Vec<(&Path, Option<&str>)> = files
                .iter()
                .map(|(path, name)| (path.as_path(), Some(name.as_str())))
                .collect();
            tera.add_template_files(batch)
                .map_err(|e| TemplateError::new(&dir.display().to_string(), &e))?;
        }
        let plain: Vec<(&str, &str)> = builtins
            .iter()
            .filter(|(name, _)| !files.iter().any(|(_, user)| user == name))
            .copied()
            .collect();
        tera.add_raw_templates(plain)
            .map_err(|e| TemplateError::new("built-in templates", &e))?;
        Ok(Self { tera })
    }

    /// Makes `filter` available to every template as `name`.
    pub fn register_filter(&mut self, name: &str, filter: impl tera::Filter + 'static) {
        self.tera.register_filter(name, filter);
    }

    /// Renders the template `name` (the user's, if they gave one) with `context`.
    pub fn render(&self, name: &str, context: &impl Serialize) -> Result<String, TemplateError> {
        let ctx =
            tera::Context::from_serialize(context).map_err(|e| TemplateError::new(name, &e))?;
        self.tera
            .render(name, &ctx)
            .map_err(|e| TemplateError::new(name, &e))
    }
}

fn collect_files(
    root: &Path,
    dir: &Path,
    out: &mut Vec<(std::path::PathBuf, String)>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(root, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            let name = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push((path.clone(), name));
        }
    }
    Ok(())
}

/// A template failed to parse or render.
#[derive(Debug, thiserror::Error)]
#[error("template `{template}`: {cause}")]
pub struct TemplateError {
    template: String,
    cause: String,
}

impl TemplateError {
    /// tera's top-level message is generic ("Failed to render"); the useful part is in its
    /// sources, so they are folded into one line here.
    fn new(template: &str, err: &tera::Error) -> Self {
        let mut cause = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(inner) = source {
            cause.push_str(": ");
            cause.push_str(&inner.to_string());
            source = inner.source();
        }
        Self {
            template: template.to_owned(),
            cause,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_without_html_escaping() {
        let t = Templates::builtin(&[("x.conf", "a {{ v }};")]).expect("parse");
        let out = t
            .render("x.conf", &serde_json::json!({ "v": "\"<&>\"" }))
            .expect("render");
        assert_eq!(out, "a \"<&>\";");
    }

    #[test]
    fn a_missing_variable_is_an_error_naming_the_template() {
        let t = Templates::builtin(&[("x.conf", "{{ nope }}")]).expect("parse");
        let err = t
            .render("x.conf", &serde_json::json!({}))
            .expect_err("must fail");
        let msg = err.to_string();
        assert!(msg.contains("x.conf") && msg.contains("nope"), "{msg}");
    }

    #[test]
    fn a_user_template_extends_a_built_in_and_replaces_a_block() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("nginx")).expect("mkdir");
        std::fs::write(
            dir.path().join("nginx/x.conf"),
            "{% extends \"__routewall/nginx/x.conf\" %}{% block deny %}return 444;{% endblock deny %}",
        )
        .expect("write");
        let builtins = [
            (
                "nginx/x.conf",
                "a {% block deny %}return 404;{% endblock deny %} b",
            ),
            ("nginx/y.conf", "y"),
        ];
        let t = Templates::with_overrides(&builtins, Some(dir.path())).expect("parse");
        assert_eq!(
            t.render("nginx/x.conf", &serde_json::json!({}))
                .expect("render"),
            "a return 444; b"
        );
        assert_eq!(
            t.render("nginx/y.conf", &serde_json::json!({}))
                .expect("render"),
            "y"
        );
    }

    #[test]
    fn a_broken_user_template_is_named_with_its_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("y.conf"), "ok\n{% if %}").expect("write");
        let err =
            Templates::with_overrides(&[("y.conf", "y")], Some(dir.path())).expect_err("broken");
        let msg = err.to_string();
        assert!(msg.contains("y.conf") && msg.contains("2:"), "{msg}");
    }
}
