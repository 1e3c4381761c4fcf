"""/api/users and /api/roles: thin views that parse, call identity.services and render."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from applications.selectors import scopes_by_name
from config.api_errors import IF_MATCH, conflicts_as_409, error_responses, request_actor, text_param
from config.api_viewsets import ManagementViewSet
from identity import services
from identity.api.serializers import (
    RoleAssignSerializer,
    RoleSerializer,
    RoleWriteSerializer,
    SecondFactorsResetSerializer,
    SessionsEndedSerializer,
    UserSerializer,
    UserSessionSerializer,
    UserUpdateSerializer,
    UserWriteSerializer,
)
from identity.mfa import services as mfa_services
from identity.models import Role, User
from identity.selectors import roles_by_name
from identity.user_sessions import selectors as session_selectors
from identity.user_sessions import services as session_services

ROLE_TAGS = ["Roles"]
USER_TAGS = ["Users"]


@extend_schema_view(
    list=extend_schema(operation_id="roles_list", tags=ROLE_TAGS, summary="List roles with their scopes"),
    retrieve=extend_schema(
        operation_id="roles_retrieve",
        tags=ROLE_TAGS,
        summary="Read a role",
        responses={200: RoleSerializer, **error_responses(404)},
    ),
)
class RoleViewSet(mixins.ListModelMixin, ManagementViewSet):
    queryset = Role.objects.prefetch_related("scopes").order_by("name", "id")
    serializer_class = RoleSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(
        operation_id="roles_create",
        tags=ROLE_TAGS,
        summary="Create a role",
        request=RoleWriteSerializer,
        responses={201: RoleSerializer, **error_responses(400, 409)},
    )
    def create(self, request: Request) -> Response:
        body = RoleWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        with conflicts_as_409():
            role = services.role_create(
                actor=request_actor(request),
                name=data["name"],
                description=data["description"],
                scopes=scopes_by_name(data["scopes"], field="scopes"),
            )
        return self.render(role, status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="roles_partial_update",
        tags=ROLE_TAGS,
        summary="Change a role",
        description="`scopes`, when given, replaces the role's scopes.",
        parameters=[IF_MATCH],
        request=RoleWriteSerializer(partial=True),
        responses={200: RoleSerializer, **error_responses(400, 404, 409, 412)},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        role = self.get_object()
        body = RoleWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        with conflicts_as_409(), self.locked_if_match(role) as role:
            services.role_update(
                actor=request_actor(request),
                role=role,
                name=data.get("name"),
                description=data.get("description"),
                scopes=scopes_by_name(data["scopes"], field="scopes") if "scopes" in data else None,
            )
        return self.render(role)

    @extend_schema(
        operation_id="roles_destroy",
        tags=ROLE_TAGS,
        summary="Delete a role",
        description="Users lose it. Refused with 409 while an application requires it or holds it (m2m).",
        parameters=[IF_MATCH],
        responses={204: OpenApiResponse(description="Deleted."), **error_responses(404, 409, 412)},
    )
    def destroy(self, request: Request, pk: str) -> Response:
        role = self.get_object()
        with conflicts_as_409(), self.locked_if_match(role) as role:
            services.role_delete(actor=request_actor(request), role=role)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        operation_id="users_list",
        tags=USER_TAGS,
        summary="List users",
        parameters=[OpenApiParameter("search", str, description="Part of the email address, any case.")],
    ),
    retrieve=extend_schema(
        operation_id="users_retrieve",
        tags=USER_TAGS,
        summary="Read a user",
        responses={200: UserSerializer, **error_responses(404)},
    ),
)
class UserViewSet(mixins.ListModelMixin, ManagementViewSet):
    serializer_class = UserSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[User]:
        users = User.objects.prefetch_related("roles").order_by("email", "id")
        if self.action == "list" and (search := self.request.query_params.get("search", "").strip()):
            users = users.filter(email__icontains=search) if text_param(search) else users.none()
        return users

    @extend_schema(
        operation_id="users_create",
        tags=USER_TAGS,
        summary="Create a user",
        request=UserWriteSerializer,
        responses={201: UserSerializer, **error_responses(400, 409)},
    )
    def create(self, request: Request) -> Response:
        body = UserWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        roles = roles_by_name(data.pop("roles"), field="roles")
        with conflicts_as_409():
            user = services.user_create(
                actor=request_actor(request),
                email=data.pop("email"),
                password=data.pop("password", None),
                roles=roles,
                **data,
            )
        return self.render(user, status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="users_partial_update",
        tags=USER_TAGS,
        summary="Change a user's profile or password",
        parameters=[IF_MATCH],
        request=UserUpdateSerializer,
        responses={200: UserSerializer, **error_responses(400, 404, 409, 412)},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        user = self.get_object()
        body = UserUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        with conflicts_as_409(), self.locked_if_match(user) as user:
            services.user_update(actor=request_actor(request), user=user, **body.validated_data)
        return self.render(user)

    @extend_schema(
        operation_id="users_deactivate",
        tags=USER_TAGS,
        summary="Deactivate a user",
        description="The user can no longer sign in; every token any application holds for them is revoked.",
        parameters=[IF_MATCH],
        request=None,
        responses={200: UserSerializer, **error_responses(404, 412)},
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, pk: str) -> Response:
        user = self.get_object()
        with self.locked_if_match(user) as user:
            services.user_deactivate(actor=request_actor(request), user=user)
        return self.render(user)

    @extend_schema(
        operation_id="users_sessions_read",
        tags=USER_TAGS,
        summary="A user's signed-in sessions",
        description="Each session's device, address, sign-in time and the applications it signed in to, newest first.",
        request=None,
        responses={200: UserSessionSerializer(many=True), **error_responses(404)},
    )
    @action(detail=True, methods=["get"], url_path="sessions")
    def sessions(self, request: Request, pk: str) -> Response:
        user = self.get_object()
        return Response(UserSessionSerializer(session_selectors.sessions_of(user), many=True).data)

    @extend_schema(
        operation_id="users_sessions_destroy",
        tags=USER_TAGS,
        summary="End one of a user's sessions",
        parameters=[OpenApiParameter("session_id", int, OpenApiParameter.PATH, description="From the sessions read.")],
        description="The session is signed out; the codes it issued stop working and the tokens they gave "
        "(refresh families included) are revoked.",
        request=None,
        responses={204: None, **error_responses(404)},
    )
    @action(detail=True, methods=["delete"], url_path=r"sessions/(?P<session_id>[^/]+)")
    def end_session(self, request: Request, pk: str, session_id: str) -> Response:
        user = self.get_object()
        # Any segment reaches here, so that a malformed id gets the API's JSON 404 like an unknown one.
        number = int(session_id) if session_id.isascii() and session_id.isdigit() else None
        if number is None or not session_services.session_end(
            actor=request_actor(request), user=user, session_id=number
        ):
            raise Http404
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="users_sign_out_everywhere",
        tags=USER_TAGS,
        summary="Sign a user out everywhere",
        description="Every session ends and every token the user holds, at every application, is revoked.",
        request=None,
        responses={200: SessionsEndedSerializer, **error_responses(404)},
    )
    @action(detail=True, methods=["post"], url_path="sign-out-everywhere")
    def sign_out_everywhere(self, request: Request, pk: str) -> Response:
        user = self.get_object()
        ended = session_services.sessions_end_all(actor=request_actor(request), user=user)
        return Response({"sessions_ended": ended})

    @extend_schema(
        operation_id="users_second_factors_reset",
        tags=USER_TAGS,
        summary="Remove every second factor of a user",
        description="Authenticator app, passkeys and recovery codes: the user signs in with a password alone "
        "until they set up a new one, and is sent a notice. Audited; a user.second_factors_reset event.",
        request=None,
        responses={200: SecondFactorsResetSerializer, **error_responses(404)},
    )
    @action(detail=True, methods=["post"], url_path="second-factors/reset")
    def second_factors_reset(self, request: Request, pk: str) -> Response:
        user = self.get_object()
        removed = mfa_services.second_factors_reset(actor=request_actor(request), user=user)
        return Response({"second_factors_removed": removed})

    @extend_schema(
        operation_id="users_roles_create",
        tags=USER_TAGS,
        summary="Assign a role to a user",
        request=RoleAssignSerializer,
        responses={200: UserSerializer, **error_responses(400, 404)},
    )
    @action(detail=True, methods=["post"], url_path="roles")
    def assign_role(self, request: Request, pk: str) -> Response:
        user = self.get_object()
        body = RoleAssignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # The serializer trims and refuses a blank name, so exactly one role comes back or a field error.
        (role,) = roles_by_name([body.validated_data["role"]], field="role")
        services.role_assign(actor=request_actor(request), user=user, role=role)
        return self.render(user)

    @extend_schema(
        operation_id="users_roles_destroy",
        tags=USER_TAGS,
        summary="Remove a role from a user",
        parameters=[OpenApiParameter("role_name", str, OpenApiParameter.PATH, description="The role's name.")],
        request=None,
        responses={204: OpenApiResponse(description="Removed."), **error_responses(404)},
    )
    @action(detail=True, methods=["delete"], url_path=r"roles/(?P<role_name>[^/]+)")
    def remove_role(self, request: Request, pk: str, role_name: str) -> Response:
        user = self.get_object()
        role = get_object_or_404(Role, name=text_param(role_name), users=user)
        services.role_unassign(actor=request_actor(request), user=user, role=role)
        return Response(status=status.HTTP_204_NO_CONTENT)
