"""django CMS's URLconf as its docs give it: set_language outside the language prefix,
the admin and the pages under it."""
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

urlpatterns = [path("i18n/", include("django.conf.urls.i18n"))]
urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    path("", include("cms.urls")),  # last: its page slug pattern takes almost any path
)
