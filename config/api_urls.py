"""/api/: the management API router, its OpenAPI 3 schema and interactive docs."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny
from rest_framework.routers import SimpleRouter

import config.api_schema  # noqa: F401  (registers the OpenAPI description of the management token)
from applications.api.resources_views import ApiResourceViewSet
from applications.api.views import ApplicationViewSet
from consent.api.views import ConsentViewSet
from identity.api.audit_views import AuditEventViewSet
from identity.api.views import RoleViewSet, UserViewSet

router = SimpleRouter(trailing_slash=False)
router.register("applications", ApplicationViewSet, basename="application")
router.register("resources", ApiResourceViewSet, basename="resource")
router.register("roles", RoleViewSet, basename="role")
router.register("users", UserViewSet, basename="user")
router.register("consents", ConsentViewSet, basename="consent")
router.register("audit", AuditEventViewSet, basename="audit")

urlpatterns = [
    # The description of the API is public; the API itself is not.
    path("schema", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="api:schema", permission_classes=[AllowAny]), name="docs"),
    *router.urls,
]
