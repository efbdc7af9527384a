"""Settings for django CMS's URLs, following its installation docs. Only what makes
cms.urls build its patterns and LocaleMiddleware redirect, plus what Django needs to
start; no view runs under the probe (it stubs them) and nothing here touches the
database."""

# Django refuses to start without one; nothing is signed for real.
SECRET_KEY = "routewall-realapps-not-secret"
# The probe forces ["*"] anyway; a real host check would answer 400 to other hosts.
ALLOWED_HOSTS = ["*"]
# django.contrib.sites, which django CMS requires.
SITE_ID = 1
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "cms",
    "menus",
    # cms's AppConfig refuses to start without treebeard (its default tree backend).
    "treebeard",
    # cms's templates use sekizai.
    "sekizai",
]
MIDDLEWARE = [
    # Two of the docs' middleware are left out because they read tables on every request
    # (no table exists, so every request would answer 500), and neither routes anything:
    # cms.middleware.utils.ApphookReloadMiddleware (first in the docs; reads
    # cms_urlconfrevision to reload the URLconf once pages with apphooks change) and
    # cms.middleware.toolbar.ToolbarMiddleware (after CurrentPageMiddleware; its toolbar
    # reads django_site to find the request's language).
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Redirects a path without a language prefix to the prefixed one when that resolves
    # (i18n_patterns in cms_site.urls): answers the allowlist must let through too.
    "django.middleware.locale.LocaleMiddleware",
    # APPEND_SLASH: a path whose slashed twin resolves answers 301.
    "django.middleware.common.CommonMiddleware",
    "cms.middleware.user.CurrentUserMiddleware",
    "cms.middleware.page.CurrentPageMiddleware",
    "cms.middleware.language.LanguageCookieMiddleware",
]
ROOT_URLCONF = "cms_site.urls"
# django CMS checks at start-up that the Django engine has the request context
# processor; the others are the admin's, sekizai's and cms's own. No template is rendered.
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
                "cms.context_processors.cms_settings",
            ]
        },
    }
]
# The models need a database configured; it is never opened (in memory, so nothing
# would be written to this directory if it were).
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
# Three languages, one with a region: i18n_patterns() puts every page under /en/, /de/
# and /pt-br/, and LocaleMiddleware redirects unprefixed paths.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "German"), ("pt-br", "Brazilian Portuguese")]
# staticfiles needs it. DEBUG is off, so no URL pattern serves it (a 404 to Django).
STATIC_URL = "/static/"
# The page templates django CMS offers (required; the file need not exist, nothing is
# rendered).
CMS_TEMPLATES = [("base.html", "Base")]
