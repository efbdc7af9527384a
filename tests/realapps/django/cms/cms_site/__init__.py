"""django CMS 5.1.3: its pages under i18n_patterns() (three languages, one with a region),
its login, wizard and admin URLs, and Django's set_language view. See
tests/realapps/README.md, "Real Django projects"."""
