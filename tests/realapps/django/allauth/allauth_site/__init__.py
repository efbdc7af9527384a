"""django-allauth 65.22.1 with every part that has URLs: accounts, social accounts (all
127 providers it ships), MFA, user sessions, the headless API and the OIDC identity
provider. See tests/realapps/README.md, "Real Django projects"."""
