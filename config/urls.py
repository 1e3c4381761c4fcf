from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "Latchkey"
admin.site.site_title = "Latchkey admin"
admin.site.index_title = "Identity provider administration"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(("config.api_urls", "api"), namespace="api")),
    path("", include("applications.oauth.urls")),
    path("", include("identity.urls")),
    path("", include("consent.urls")),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]
