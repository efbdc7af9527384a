"""Settings of the Django demo: a small shop run with DEBUG on by mistake
(`manage.py runserver` with a settings file meant for a laptop).

DEBUG=True is the point of the demo, as the debugger is for the Flask one: Django's
technical 404 page then lists every URL pattern of the project to anyone who asks for a path
that does not exist. routewall's allowlist keeps such paths from reaching Django.
"""
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "routewall-demo-only-not-a-secret"
DEBUG = True  # the mistake the demo is about; never in production
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]

INSTALLED_APPS = [
    # The admin: its URLs end with a catch-all, so everything under /admin/ is a route.
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Under DEBUG, runserver serves STATIC_URL itself (outside the URLconf); nginx does it
    # in front of the app.
    "django.contrib.staticfiles",
    "shop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Redirects /about/ to /en/about/ (i18n_patterns in mysite.urls).
    "django.middleware.locale.LocaleMiddleware",
    # APPEND_SLASH: /products/42 answers 301 -> /products/42/.
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "mysite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# The admin and auth apps need a database configured; nothing the demo asks touches it
# (no view reads a model, and an anonymous visitor's session is never loaded from it).
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

USE_I18N = True
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "French")]
USE_TZ = True
TIME_ZONE = "UTC"

# In production `collectstatic` copies these to STATIC_ROOT and nginx serves that directory;
# the demo's nginx serves static/ directly (`location /static/ { alias ...; }`).
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
