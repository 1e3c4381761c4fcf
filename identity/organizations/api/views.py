"""/api/organizations, their members and invitations, and /api/organization-roles: thin views that parse,
call identity.organizations.services and render.

An organisation is looked up by its public id (`id`, a UUID, which a rename or a new slug never changes);
anything else in its place is a 404. A member is looked up by the user's id (/api/users/{id}).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.request import Request
from rest_framework.response import Response

from config.api import Conflict
from config.api_errors import IF_MATCH, conflicts_as_409, error_responses, request_actor
from config.api_viewsets import ManagementViewSet
from identity.models import User
from identity.organizations import services
from identity.organizations.api.serializers import (
    InvitationCreatedSerializer,
    InvitationSerializer,
    InvitationWriteSerializer,
    MemberAddSerializer,
    MemberRolesSerializer,
    MemberSerializer,
    OrganizationRoleSerializer,
    OrganizationRoleWriteSerializer,
    OrganizationSerializer,
    OrganizationWriteSerializer,
)
from identity.organizations.models import Invitation, Membership, Organization, OrganizationRole
from identity.organizations.selectors import organization_roles_by_name

ORGANIZATION_TAGS = ["Organisations"]
ROLE_TAGS = ["Organisation roles"]
ORGANIZATION_ID = OpenApiParameter(
    "organization_pk", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The organisation's id (public id)."
)
USER_ID = OpenApiParameter("user_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The member's user id.")
INVITATION_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The invitation's id.")


def _organization(pk) -> Organization:
    """The organisation of a nested path; a value that is not a UUID is a 404 like an unknown one."""
    try:
        return Organization.objects.get(public_id=pk)
    except (Organization.DoesNotExist, ValidationError, ValueError):
        raise Http404 from None


@extend_schema_view(
    list=extend_schema(operation_id="organizations_list", tags=ORGANIZATION_TAGS, summary="List organisations"),
    retrieve=extend_schema(
        operation_id="organizations_retrieve",
        tags=ORGANIZATION_TAGS,
        summary="Read an organisation",
        parameters=[OpenApiParameter("public_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        responses={200: OrganizationSerializer, **error_responses(404)},
    ),
)
class OrganizationViewSet(mixins.ListModelMixin, ManagementViewSet):
    queryset = Organization.objects.prefetch_related("jit_roles").order_by("name", "id")
    serializer_class = OrganizationSerializer
    lookup_field = "public_id"
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def retrieve(self, request: Request, public_id: str) -> Response:
        return self.render(self.get_object())

    def _fields(self, data: dict) -> dict:
        fields = dict(data)
        if "jit_roles" in fields:
            fields["jit_roles"] = organization_roles_by_name(fields["jit_roles"], field="jit_roles")
        return fields

    @extend_schema(
        operation_id="organizations_create",
        tags=ORGANIZATION_TAGS,
        summary="Create an organisation",
        request=OrganizationWriteSerializer,
        responses={201: OrganizationSerializer, **error_responses(400, 409)},
    )
    def create(self, request: Request) -> Response:
        body = OrganizationWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with conflicts_as_409():
            organization = services.organization_create(
                actor=request_actor(request), fields=self._fields(body.validated_data)
            )
        response = self.render(organization, status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(f"{request.path.rstrip('/')}/{organization.public_id}")
        return response

    @extend_schema(
        operation_id="organizations_partial_update",
        tags=ORGANIZATION_TAGS,
        summary="Change an organisation",
        description="A list given (`jit_email_domains`, `jit_roles`) replaces the current one.",
        parameters=[OpenApiParameter("public_id", OpenApiTypes.UUID, OpenApiParameter.PATH), IF_MATCH],
        request=OrganizationWriteSerializer(partial=True),
        responses={200: OrganizationSerializer, **error_responses(400, 404, 409, 412)},
    )
    def partial_update(self, request: Request, public_id: str) -> Response:
        organization = self.get_object()
        body = OrganizationWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        fields = self._fields(body.validated_data)
        with conflicts_as_409(), self.locked_if_match(organization) as organization:
            services.organization_update(actor=request_actor(request), organization=organization, fields=fields)
        return self.render(organization)

    @extend_schema(
        operation_id="organizations_destroy",
        tags=ORGANIZATION_TAGS,
        summary="Delete an organisation",
        description="Its memberships and invitations go with it; its members' accounts stay.",
        parameters=[OpenApiParameter("public_id", OpenApiTypes.UUID, OpenApiParameter.PATH), IF_MATCH],
        responses={204: OpenApiResponse(description="Deleted."), **error_responses(404, 412)},
    )
    def destroy(self, request: Request, public_id: str) -> Response:
        with self.locked_if_match(self.get_object()) as organization:
            services.organization_delete(actor=request_actor(request), organization=organization)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        operation_id="organization_roles_list", tags=ROLE_TAGS, summary="List organisation roles with their scopes"
    ),
    retrieve=extend_schema(
        operation_id="organization_roles_retrieve",
        tags=ROLE_TAGS,
        summary="Read an organisation role",
        responses={200: OrganizationRoleSerializer, **error_responses(404)},
    ),
)
class OrganizationRoleViewSet(mixins.ListModelMixin, ManagementViewSet):
    queryset = OrganizationRole.objects.order_by("name", "id")
    serializer_class = OrganizationRoleSerializer
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(
        operation_id="organization_roles_create",
        tags=ROLE_TAGS,
        summary="Create an organisation role",
        request=OrganizationRoleWriteSerializer,
        responses={201: OrganizationRoleSerializer, **error_responses(400, 409)},
    )
    def create(self, request: Request) -> Response:
        body = OrganizationRoleWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        with conflicts_as_409():
            role = services.organization_role_create(
                actor=request_actor(request), name=data["name"], description=data["description"], scopes=data["scopes"]
            )
        return self.render(role, status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="organization_roles_partial_update",
        tags=ROLE_TAGS,
        summary="Change an organisation role",
        description="`scopes`, when given, replaces the role's scopes; every member holding it has the new ones.",
        parameters=[IF_MATCH],
        request=OrganizationRoleWriteSerializer(partial=True),
        responses={200: OrganizationRoleSerializer, **error_responses(400, 404, 409, 412)},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        role = self.get_object()
        body = OrganizationRoleWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        with conflicts_as_409(), self.locked_if_match(role) as role:
            services.organization_role_update(
                actor=request_actor(request),
                role=role,
                name=data.get("name"),
                description=data.get("description"),
                scopes=data.get("scopes"),
            )
        return self.render(role)

    @extend_schema(
        operation_id="organization_roles_destroy",
        tags=ROLE_TAGS,
        summary="Delete an organisation role",
        description="Members holding it lose it.",
        parameters=[IF_MATCH],
        responses={204: OpenApiResponse(description="Deleted."), **error_responses(404, 412)},
    )
    def destroy(self, request: Request, pk: str) -> Response:
        with self.locked_if_match(self.get_object()) as role:
            services.organization_role_delete(actor=request_actor(request), role=role)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _NestedViewSet(ManagementViewSet):
    def organization(self) -> Organization:
        if not hasattr(self, "_organization"):
            self._organization = _organization(self.kwargs["organization_pk"])
        return self._organization


@extend_schema_view(
    list=extend_schema(
        operation_id="organization_members_list",
        tags=ORGANIZATION_TAGS,
        summary="List an organisation's members with their roles",
        parameters=[ORGANIZATION_ID],
        responses={200: MemberSerializer(many=True), **error_responses(400, 404)},
    ),
)
class MemberViewSet(mixins.ListModelMixin, _NestedViewSet):
    serializer_class = MemberSerializer
    lookup_field = "user_id"
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return (
            Membership.objects.filter(organization=self.organization())
            .select_related("user")
            .prefetch_related("roles")
            .order_by("user__email", "pk")
        )

    @extend_schema(
        operation_id="organization_members_retrieve",
        tags=ORGANIZATION_TAGS,
        summary="Read a member",
        parameters=[ORGANIZATION_ID, USER_ID],
        responses={200: MemberSerializer, **error_responses(404)},
    )
    def retrieve(self, request: Request, organization_pk: str, user_id: str) -> Response:
        return self.render(self.get_object())

    @extend_schema(
        operation_id="organization_members_create",
        tags=ORGANIZATION_TAGS,
        summary="Add a user to an organisation",
        parameters=[ORGANIZATION_ID],
        request=MemberAddSerializer,
        responses={201: MemberSerializer, **error_responses(400, 404, 409)},
    )
    def create(self, request: Request, organization_pk: str) -> Response:
        organization = self.organization()
        body = MemberAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = User.objects.filter(pk=body.validated_data["user_id"]).first()
        if user is None:
            raise ValidationError({"user_id": ["No user with this id."]})
        roles = organization_roles_by_name(body.validated_data["roles"], field="roles")
        with conflicts_as_409():
            membership = services.membership_add(
                actor=request_actor(request), organization=organization, user=user, roles=roles
            )
        response = self.render(membership, status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(f"{request.path.rstrip('/')}/{user.pk}")
        return response

    @extend_schema(
        operation_id="organization_members_partial_update",
        tags=ORGANIZATION_TAGS,
        summary="Replace a member's roles",
        parameters=[ORGANIZATION_ID, USER_ID],
        request=MemberRolesSerializer,
        responses={200: MemberSerializer, **error_responses(400, 404)},
    )
    def partial_update(self, request: Request, organization_pk: str, user_id: str) -> Response:
        membership = self.get_object()
        body = MemberRolesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        roles = organization_roles_by_name(body.validated_data["roles"], field="roles")
        services.membership_roles_set(actor=request_actor(request), membership=membership, roles=roles)
        return self.render(membership)

    @extend_schema(
        operation_id="organization_members_destroy",
        tags=ORGANIZATION_TAGS,
        summary="Remove a member",
        parameters=[ORGANIZATION_ID, USER_ID],
        responses={204: OpenApiResponse(description="Removed."), **error_responses(404)},
    )
    def destroy(self, request: Request, organization_pk: str, user_id: str) -> Response:
        services.membership_remove(actor=request_actor(request), membership=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        operation_id="organization_invitations_list",
        tags=ORGANIZATION_TAGS,
        summary="List an organisation's invitations (never their links)",
        parameters=[ORGANIZATION_ID],
        responses={200: InvitationSerializer(many=True), **error_responses(400, 404)},
    ),
)
class InvitationViewSet(mixins.ListModelMixin, _NestedViewSet):
    serializer_class = InvitationSerializer
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self):
        return Invitation.objects.filter(organization=self.organization()).prefetch_related("roles")

    @extend_schema(
        operation_id="organization_invitations_retrieve",
        tags=ORGANIZATION_TAGS,
        summary="Read an invitation",
        parameters=[ORGANIZATION_ID, INVITATION_ID],
        responses={200: InvitationSerializer, **error_responses(404)},
    )
    def retrieve(self, request: Request, organization_pk: str, pk: str) -> Response:
        return self.render(self.get_object())

    @extend_schema(
        operation_id="organization_invitations_create",
        tags=ORGANIZATION_TAGS,
        summary="Invite an email address to join (the link is in this response only, and emailed)",
        description="Only a signed-in user with this address verified can accept, once, before it expires "
        "(LATCHKEY_ORGANIZATION_INVITATION_TTL_DAYS). 409 while the address has a pending invitation.",
        parameters=[ORGANIZATION_ID],
        request=InvitationWriteSerializer,
        responses={201: InvitationCreatedSerializer, **error_responses(400, 404, 409)},
    )
    def create(self, request: Request, organization_pk: str) -> Response:
        organization = self.organization()
        body = InvitationWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        roles = organization_roles_by_name(body.validated_data["roles"], field="roles")
        with conflicts_as_409():
            invitation, link = services.invitation_create(
                actor=request_actor(request), organization=organization, email=body.validated_data["email"], roles=roles
            )
        invitation = self.get_queryset().get(pk=invitation.pk)
        invitation.link = link
        response = Response(InvitationCreatedSerializer(invitation).data, status=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(f"{request.path.rstrip('/')}/{invitation.pk}")
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(
        operation_id="organization_invitations_destroy",
        tags=ORGANIZATION_TAGS,
        summary="Revoke an invitation (its link stops working)",
        description="409 for an accepted invitation: remove the member instead.",
        parameters=[ORGANIZATION_ID, INVITATION_ID],
        responses={204: OpenApiResponse(description="Revoked."), **error_responses(404, 409)},
    )
    def destroy(self, request: Request, organization_pk: str, pk: str) -> Response:
        try:
            services.invitation_revoke(actor=request_actor(request), invitation=self.get_object())
        except ValidationError as exc:
            if exc.code == "accepted":
                raise Conflict(" ".join(exc.messages)) from exc
            raise
        return Response(status=status.HTTP_204_NO_CONTENT)
