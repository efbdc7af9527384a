"""Settings for django-helpdesk's URLs, following its installation docs. Only what makes
helpdesk.urls build every pattern, plus what Django needs to start; no view runs under
the probe (it stubs them) and nothing here touches the database."""

# Django refuses to start without one; nothing is signed for real.
SECRET_KEY = "routewall-realapps-not-secret"
# The probe forces ["*"] anyway; a real host check would answer 400 to other hosts.
ALLOWED_HOSTS = ["*"]
# django.contrib.sites, which helpdesk requires.
SITE_ID = 1
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",  # helpdesk's templates load it
    "rest_framework",  # helpdesk's API (HELPDESK_API_ENABLED, on by default)
    "helpdesk",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    # APPEND_SLASH: a path whose slashed twin resolves answers 301, which the allowlist
    # must let through too.
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "helpdesk_site.urls"
# The admin needs the Django engine with these context processors (system checks); no
# template is rendered.
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
# The models need a database configured; it is never opened (in memory, so nothing
# would be written to this directory if it were).
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
# One language. Django's default LANGUAGES has 99, and django_probe.py sends every probe
# Django refuses again with each as Accept-Language (x 2 methods, x 2 for converter_check):
# an allauth run had not ended after 15 minutes. Nothing here reads that header (no
# LocaleMiddleware, no i18n_patterns, no translated pattern): the truth is the same.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English")]
# staticfiles needs it. DEBUG is off, so no URL pattern serves it (a 404 to Django).
STATIC_URL = "/static/"
