"""allauth's URLconfs where its documentation puts them."""
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
    # The OIDC provider's endpoints (/.well-known/openid-configuration, /identity/o/...).
    path("", include("allauth.idp.urls")),
]
