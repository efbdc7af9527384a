"""django-wiki 0.13.0 (PyPI `wiki`) with all its bundled plugins, django-nyt's
notifications and django-debug-toolbar 8.0.0: the project with the most re_path()
patterns. See tests/realapps/README.md, "Real Django projects"."""
