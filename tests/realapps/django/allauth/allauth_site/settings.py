"""Settings for django-allauth's URLs. Only what makes allauth.urls, allauth.headless.urls
and allauth.idp.urls build every pattern they can, plus what Django needs to start; no
view runs under the probe (it stubs them) and nothing here touches the database."""
import pkgutil

import allauth.socialaccount.providers as _providers

# Django refuses to start without one; nothing is signed for real.
SECRET_KEY = "routewall-realapps-not-secret"
# The probe forces ["*"] anyway; a real host check would answer 400 to other hosts.
ALLOWED_HOSTS = ["*"]
# django.contrib.sites, which allauth's social accounts need.
SITE_ID = 1
INSTALLED_APPS = [
    # The admin: its ~50 URLs (and its `path` converters) next to allauth's.
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "allauth",
    # allauth.urls and allauth.headless.urls add a part's URLs only when its app is here.
    "allauth.account",
    "allauth.socialaccount",
    "allauth.mfa",
    "allauth.usersessions",
    "allauth.headless",
    "allauth.idp.oidc",
] + [
    # Every provider allauth ships (127 in 65.22.1): each one adds its own login and
    # callback URLs (OAuth, OAuth2, OpenID, SAML...). The extras of
    # requirements-django.txt are what their modules import.
    f"allauth.socialaccount.providers.{m.name}"
    for m in pkgutil.iter_modules(_providers.__path__)
    if m.ispkg and m.name != "base"  # `base` is the providers' shared code, no provider
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    # APPEND_SLASH: a path whose slashed twin resolves answers 301, which the allowlist
    # must let through too.
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # allauth.account's AppConfig.ready() raises ImproperlyConfigured without it.
    "allauth.account.middleware.AccountMiddleware",
]
# allauth's documented set-up; no URL depends on it.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ROOT_URLCONF = "allauth_site.urls"
# The admin and allauth need the Django engine with these context processors (system
# checks); no template is rendered.
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
# The auth, sites and allauth models need a database configured; it is never opened (in
# memory, so nothing would be written to this directory if it were).
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
# One language. Django's default LANGUAGES has 99, and django_probe.py sends every probe
# Django refuses again with each as Accept-Language (x 2 methods, x 2 for converter_check):
# an allauth run had not ended after 15 minutes. Nothing here reads that header (no
# LocaleMiddleware, no i18n_patterns, no translated pattern): the truth is the same.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English")]
# staticfiles needs it. DEBUG is off, so no URL pattern serves it (a 404 to Django).
STATIC_URL = "/static/"
# The headless API also serves its OpenAPI specification (two more URLs; needs PyYAML,
# allauth's [headless-spec] extra).
HEADLESS_SERVE_SPECIFICATION = True
