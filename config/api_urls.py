"""/api/: the management API router, its OpenAPI 3 schema and interactive docs."""

from __future__ import annotations

from django.http import JsonResponse
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny
from rest_framework.routers import SimpleRouter

import applications.api.schema  # noqa: F401  (registers the OpenAPI description of the management token)
from applications.api.resources_views import ApiResourceViewSet
from applications.api.views import ApplicationViewSet
from applications.events.api.views import ApplicationWebhookViewSet, DeploymentWebhookViewSet, EventTypeViewSet
from applications.usage.api.views import ApplicationUsageViewSet, UsageViewSet
from consent.api.views import ConsentViewSet
from identity.api.audit_views import AuditEventViewSet
from identity.api.views import RoleViewSet, UserViewSet
from identity.federation.api.views import ProviderViewSet
from identity.organizations.api.current import CurrentOrganizationMembersView, CurrentOrganizationView
from identity.organizations.api.views import (
    InvitationViewSet,
    MemberViewSet,
    OrganizationRoleViewSet,
    OrganizationViewSet,
)

router = SimpleRouter(trailing_slash=False)
router.register("applications", ApplicationViewSet, basename="application")
router.register(r"applications/(?P<application_pk>[^/]+)/providers", ProviderViewSet, basename="application-provider")
router.register(
    r"applications/(?P<application_pk>[^/]+)/webhooks", ApplicationWebhookViewSet, basename="application-webhook"
)
router.register("webhooks", DeploymentWebhookViewSet, basename="webhook")
router.register("events/types", EventTypeViewSet, basename="event-type")
router.register(r"applications/(?P<application_pk>[^/]+)/usage", ApplicationUsageViewSet, basename="application-usage")
router.register("usage", UsageViewSet, basename="usage")
router.register("resources", ApiResourceViewSet, basename="resource")
router.register("roles", RoleViewSet, basename="role")
router.register("users", UserViewSet, basename="user")
router.register("consents", ConsentViewSet, basename="consent")
router.register("audit", AuditEventViewSet, basename="audit")
router.register("organizations", OrganizationViewSet, basename="organization")
router.register(r"organizations/(?P<organization_pk>[^/]+)/members", MemberViewSet, basename="organization-member")
router.register(
    r"organizations/(?P<organization_pk>[^/]+)/invitations", InvitationViewSet, basename="organization-invitation"
)
router.register("organization-roles", OrganizationRoleViewSet, basename="organization-role")


@csrf_exempt  # it changes nothing, and a write to a wrong path should hear 404, not a CSRF page
def api_not_found(request, unmatched: str = "") -> JsonResponse:
    """Any other path under /api/ (an id that is not a number, a typo) gets the API's JSON 404, not a page."""
    return JsonResponse({"error": "not_found", "detail": "Not found.", "fields": {}}, status=404)


urlpatterns = [
    # The description of the API is public; the API itself is not.
    path("schema", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="api:schema", permission_classes=[AllowAny]), name="docs"),
    # A person's token, in the organisation it was issued in (organization:read / organization:write).
    path("organization", CurrentOrganizationView.as_view(), name="organization-current"),
    path("organization/members", CurrentOrganizationMembersView.as_view(), name="organization-current-members"),
    *router.urls,
    re_path(r"^(?P<unmatched>.*)$", api_not_found),
]
