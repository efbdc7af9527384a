"""wiki's URLconf at the root, as its docs put it, with django-nyt's notifications and the
debug toolbar's URLs."""
from debug_toolbar.toolbar import debug_toolbar_urls
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("notifications/", include("django_nyt.urls")),
    path("", include("wiki.urls")),
] + debug_toolbar_urls()  # /__debug__/... (empty unless DEBUG)
