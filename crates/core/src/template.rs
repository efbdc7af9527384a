//! Rendering output through tera templates.
//!
//! Emitters keep their output shape in templates so users can later override it by name.
//! Autoescaping is off for every template: HTML escaping is wrong for server configuration,
//! and tera would otherwise switch it on by file suffix. Emitters hand templates tokens that
//! are already quoted for the target, so a template never splices raw route text.

use serde::Serialize;

/// Prefix of the names under which built-in templates are registered.
pub const BUILTIN_PREFIX: &str = "__routewall/";

/// A set of templates ready to render.
#[derive(Debug)]
pub struct Templates {
    tera: tera::Tera,
}

impl Templates {
    /// Registers built-in templates, each `(name, body)`, under [`BUILTIN_PREFIX`].
    pub fn builtin(templates: &[(&str, &str)]) -> Result<Self, TemplateError> {
        let mut tera = tera::Tera::default();
        tera.autoescape_on(vec![]);
        let named: Vec<(String, &str)> = templates
            .iter()
            .map(|(name, body)| (format!("{BUILTIN_PREFIX}{name}"), *body))
            .collect();
        tera.add_raw_templates(named)
            .map_err(|e| TemplateError::new("built-in templates", &e))?;
        Ok(Self { tera })
    }

    /// Renders the built-in template `name` with `context`.
    pub fn render(&self, name: &str, context: &impl Serialize) -> Result<String, TemplateError> {
        let full = format!("{BUILTIN_PREFIX}{name}");
        let ctx =
            tera::Context::from_serialize(context).map_err(|e| TemplateError::new(&full, &e))?;
        self.tera
            .render(&full, &ctx)
            .map_err(|e| TemplateError::new(&full, &e))
    }
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
        assert!(
            msg.contains("__routewall/x.conf") && msg.contains("nope"),
            "{msg}"
        );
    }
}
