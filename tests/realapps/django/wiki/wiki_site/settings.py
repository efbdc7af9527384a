"""Settings for django-wiki's URLs, following its installation docs. Only what makes
wiki.urls build every pattern, plus what Django needs to start; no view runs under the
probe (it stubs them) and nothing here touches the database."""

# Django refuses to start without one; nothing is signed for real.
SECRET_KEY = "routewall-realapps-not-secret"
# On only because debug_toolbar_urls() returns [] unless DEBUG: the toolbar's URLs are
# there for their re_path()s. The price: 404s are Django's debug page (still 404s), and
# APPEND_SLASH raises (500) instead of redirecting a POST, which is still "not a 404".
DEBUG = True
# The probe forces ["*"] anyway; a real host check would answer 400 to other hosts.
ALLOWED_HOSTS = ["*"]
# No INTERNAL_IPS: with the probe's 127.0.0.1 in it, the toolbar renders itself into every
# HTML answer (each debug 404 page too): the same statuses, 85 s instead of 14 s.
# django.contrib.sites, which wiki requires.
SITE_ID = 1
# wiki's documented list: each wiki.plugins.* app adds its URLs under every article
# (attachments, images, history, macros...), and their models need the others.
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.humanize.apps.HumanizeConfig",
    "django.contrib.sessions",
    "django.contrib.sites.apps.SitesConfig",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "django_nyt.apps.DjangoNytConfig",
    "mptt",
    "sekizai",
    "sorl.thumbnail",
    "wiki.apps.WikiConfig",
    "wiki.plugins.attachments.apps.AttachmentsConfig",
    "wiki.plugins.notifications.apps.NotificationsConfig",
    "wiki.plugins.images.apps.ImagesConfig",
    "wiki.plugins.macros.apps.MacrosConfig",
    "wiki.plugins.help.apps.HelpConfig",
    "wiki.plugins.links.apps.LinksConfig",
    "wiki.plugins.globalhistory.apps.GlobalHistoryConfig",
    "wiki.plugins.editsection.apps.EditSectionConfig",
    "wiki.plugins.pymdown.apps.PyMdownConfig",
    "wiki.plugins.redlinks.apps.RedlinksConfig",
    "debug_toolbar",
]
MIDDLEWARE = [
    # The toolbar's documented place: first (it shows nothing: no INTERNAL_IPS).
    "debug_toolbar.middleware.DebugToolbarMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # APPEND_SLASH: a path whose slashed twin resolves answers 301, which the allowlist
    # must let through too.
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "wiki_site.urls"
# wiki's templates need sekizai's context processor, the admin the others (system
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
                "sekizai.context_processors.sekizai",
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
# staticfiles needs it. No URL pattern serves it (the URLconf adds no static()), and
# WSGIHandler does not either, DEBUG or not: a 404 to Django.
STATIC_URL = "/static/"
