"""The demo shop's URLconf: one route per kind of Django pattern routewall reads."""
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import path, re_path

from shop import views

urlpatterns = [
    path("", views.index),
    # A built-in converter: /products/42/ is a route, /products/abc/ is not; /products/42
    # is the app's too (APPEND_SLASH redirects it).
    path("products/<int:pk>/", views.product),
    # A regex route: /archive/2024/ only (four digits).
    re_path(r"^archive/(?P<year>[0-9]{4})/$", views.archive),
    # The admin; anonymous visitors are redirected to /admin/login/.
    path("admin/", admin.site.urls),
]

# Language-prefixed routes: /en/about/ and /fr/about/; LocaleMiddleware redirects /about/
# to /en/about/ (to /fr/about/ for a client whose Accept-Language prefers French).
urlpatterns += i18n_patterns(
    path("about/", views.about),
)
