"""/api/organization: the organisation a user's access token was issued in, read with `organization:read`
and changed with `organization:write` (issue 19, Optare's table).

Not the management API's rule (an m2m client with a management scope): the caller is a person, through
an application they signed in to as a member of this organisation (scope `organization`). The token
reaches only that one organisation, and only while the person is still a member whose roles grant the
scope (identity.organizations.sign_in), checked on every request, whatever the token says.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from applications.schema import StrictSerializer
from config.api import ManagementTokenAuthentication, representation_etag
from config.api_errors import conflicts_as_409, error_responses
from identity.organizations import services, sign_in
from identity.organizations.api.serializers import OrganizationSerializer
from identity.organizations.constants import ORGANIZATION_READ, ORGANIZATION_WRITE
from identity.organizations.models import Membership, Organization
from identity.organizations.selectors import membership_for, organization_scopes_granted

TAGS = ["Organisation of a user's token"]


class OrganizationTokenAuthentication(ManagementTokenAuthentication):
    www_authenticate_realm = "latchkey-organization"


class OrganizationTokenScheme(OpenApiAuthenticationExtension):
    """A person's access token from an authorization-code sign-in with scope `organization` (RFC 6750 Bearer)."""

    target_class = OrganizationTokenAuthentication
    name = "organizationToken"

    def get_security_requirement(self, auto_schema):
        needed = ORGANIZATION_READ if auto_schema.method in ("GET", "HEAD", "OPTIONS") else ORGANIZATION_WRITE
        return {self.name: [needed]}

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "description": "A person's access token, issued with scope `organization` in one of their organisations.",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": "/oauth/authorize",
                    "tokenUrl": "/oauth/token",
                    "scopes": {
                        ORGANIZATION_READ: "Read that organisation's details and members",
                        ORGANIZATION_WRITE: "Change that organisation's settings",
                    },
                }
            },
        }


class OrganizationTokenPermission(BasePermission):
    """A person's access token (not a client's) whose current organisation the person is still a member
    of, with organization:read to read, organization:write to change, granted by their roles there now."""

    message = "This token does not allow this request on its organisation."

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if token is None or getattr(token, "user", None) is None or not token.user.is_active:
            return False
        # Reading is allowed by organization:read or by organization:write; changing only by write.
        enough = {ORGANIZATION_READ, ORGANIZATION_WRITE} if request.method in SAFE_METHODS else {ORGANIZATION_WRITE}
        if not any(token.is_valid([scope]) for scope in enough):
            return False
        organization_id = sign_in.token_organization_id(token)
        organization = Organization.objects.filter(public_id=organization_id).first() if organization_id else None
        if organization is None:
            return False
        if not enough & organization_scopes_granted(membership_for(token.user, organization)):
            return False  # no longer a member, or a role that granted it was taken away
        request.latchkey_token_organization = organization
        return True


class OrganizationChangeSerializer(StrictSerializer):
    """What a member with organization:write may change: how the organisation presents itself. Not its slug
    (applications may route by it) nor its just-in-time membership (which would let a member claim an
    email domain): those stay with the management API."""

    name = serializers.CharField(max_length=200, required=False, help_text="Unique (409 when taken).")
    description = serializers.CharField(allow_blank=True, required=False)
    logo_url = serializers.CharField(allow_blank=True, required=False, help_text="https URL of a square logo.")
    primary_color = serializers.CharField(allow_blank=True, required=False, help_text="#RRGGBB")
    secondary_color = serializers.CharField(allow_blank=True, required=False, help_text="#RRGGBB")


class OrganizationMemberSerializer(serializers.Serializer):
    sub = serializers.UUIDField(source="user.public_id", help_text="The member's `sub`, as in their ID tokens.")
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.name")
    roles = serializers.SerializerMethodField(help_text="The member's organisation roles.")

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_roles(self, membership: Membership) -> list[str]:
        return sorted(role.name for role in membership.roles.all())


class _TokenOrganizationView(APIView):
    authentication_classes = [OrganizationTokenAuthentication]
    permission_classes = [OrganizationTokenPermission]

    def organization(self, request: Request) -> Organization:
        return request.latchkey_token_organization


def _rendered(organization: Organization) -> Response:
    fresh = Organization.objects.prefetch_related("jit_roles").get(pk=organization.pk)
    data = OrganizationSerializer(fresh).data
    return Response(data, headers={"ETag": representation_etag(data)})


class CurrentOrganizationView(_TokenOrganizationView):
    @extend_schema(
        operation_id="organization_current_retrieve",
        tags=TAGS,
        summary="Read the token's organisation",
        description="A person's access token with `organization:read` (or `organization:write`): the organisation "
        "it was issued in.",
        responses={200: OrganizationSerializer, **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        return _rendered(self.organization(request))

    @extend_schema(
        operation_id="organization_current_partial_update",
        tags=TAGS,
        summary="Change the token's organisation",
        description="A person's access token with `organization:write`, granted by their organisation roles.",
        request=OrganizationChangeSerializer,
        responses={200: OrganizationSerializer, **error_responses(400, 401, 403, 409)},
    )
    def patch(self, request: Request) -> Response:
        body = OrganizationChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        organization = self.organization(request)
        with conflicts_as_409():
            services.organization_update(actor=request.user, organization=organization, fields=body.validated_data)
        return _rendered(organization)


@extend_schema_view(
    get=extend_schema(
        operation_id="organization_current_members_list",
        tags=TAGS,
        summary="List the members of the token's organisation",
        responses={200: OrganizationMemberSerializer(many=True), **error_responses(400, 401, 403)},
    )
)
class CurrentOrganizationMembersView(_TokenOrganizationView, generics.ListAPIView):
    """Paginated as every list of the API (`page`, `page_size`)."""

    serializer_class = OrganizationMemberSerializer

    def get_queryset(self):
        return (
            Membership.objects.filter(organization=self.organization(self.request))
            .select_related("user")
            .prefetch_related("roles")
            .order_by("user__email", "pk")
        )
