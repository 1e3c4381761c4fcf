from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from config import health, metrics

# An uncaught exception: JSON on the OAuth and API endpoints, a branded page elsewhere (config.errors).
handler500 = "config.errors.server_error"

admin.site.site_header = "Latchkey"
admin.site.site_title = "Latchkey admin"
admin.site.index_title = "Identity provider administration"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/", include(("config.api_urls", "api"), namespace="api")),
    path("", include("applications.oauth.urls")),
    path("", include("identity.urls")),
    path("", include("consent.urls")),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]
