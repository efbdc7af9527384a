"""django-helpdesk 2.6.1: its staff and public views, knowledge base and REST API (a
Django REST framework DefaultRouter, with its format-suffix patterns). See
tests/realapps/README.md, "Real Django projects"."""
