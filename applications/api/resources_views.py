"""/api/resources: API resources and their custom scopes. Standard OIDC scopes are not managed here."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from applications import services
from applications.api.resources_serializers import (
    ApiResourceCreateSerializer,
    ApiResourceSerializer,
    ApiResourceUpdateSerializer,
    ScopeSerializer,
    token_settings,
)
from applications.models import ApiResource, Scope
from config.api_errors import IF_MATCH, conflicts_as_409, error_responses, request_actor, text_param
from config.api_viewsets import ManagementViewSet

TAGS = ["API resources"]


@extend_schema_view(
    list=extend_schema(operation_id="resources_list", tags=TAGS, summary="List API resources with their scopes"),
    retrieve=extend_schema(
        operation_id="resources_retrieve",
        tags=TAGS,
        summary="Read an API resource",
        responses={200: ApiResourceSerializer, **error_responses(404)},
    ),
)
class ApiResourceViewSet(mixins.ListModelMixin, ManagementViewSet):
    queryset = (
        ApiResource.objects.select_related("introspecting_client").prefetch_related("scopes").order_by("name", "id")
    )
    serializer_class = ApiResourceSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(
        operation_id="resources_create",
        tags=TAGS,
        summary="Create an API resource with its scopes",
        request=ApiResourceCreateSerializer,
        responses={201: ApiResourceSerializer, **error_responses(400, 409)},
    )
    def create(self, request: Request) -> Response:
        body = ApiResourceCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        with conflicts_as_409():
            resource = services.api_resource_create(
                actor=request_actor(request),
                identifier=data["identifier"],
                name=data["name"],
                scopes={scope["name"]: scope["description"] for scope in data["scopes"]},
                token_settings=token_settings(data),
            )
        return self.render(resource, status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="resources_partial_update",
        tags=TAGS,
        summary="Rename an API resource or change its access-token settings",
        description="The identifier is the audience of issued tokens: it cannot change. "
        "Add and remove scopes with the `scopes` sub-resource.",
        parameters=[IF_MATCH],
        request=ApiResourceUpdateSerializer,
        responses={200: ApiResourceSerializer, **error_responses(400, 404, 412)},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        resource = self.get_object()
        body = ApiResourceUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        with self.locked_if_match(resource) as resource:
            services.api_resource_update(
                actor=request_actor(request),
                resource=resource,
                name=data.get("name", resource.name),
                identifier=data.get("identifier"),
                token_settings=token_settings(data),
            )
        return self.render(resource)

    @extend_schema(
        operation_id="resources_destroy",
        tags=TAGS,
        summary="Delete an API resource and its scopes",
        description="Refused with 409 while an application or role holds one of its scopes.",
        parameters=[IF_MATCH],
        responses={204: OpenApiResponse(description="Deleted."), **error_responses(404, 409, 412)},
    )
    def destroy(self, request: Request, pk: str) -> Response:
        resource = self.get_object()
        with conflicts_as_409(), self.locked_if_match(resource) as resource:
            services.api_resource_delete(actor=request_actor(request), resource=resource)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="resources_scopes_create",
        tags=TAGS,
        summary="Add a scope to an API resource",
        request=ScopeSerializer,
        responses={201: ApiResourceSerializer, **error_responses(400, 404, 409)},
    )
    @action(detail=True, methods=["post"], url_path="scopes")
    def add_scope(self, request: Request, pk: str) -> Response:
        resource = self.get_object()
        body = ScopeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with conflicts_as_409():
            services.api_resource_scope_add(actor=request_actor(request), resource=resource, **body.validated_data)
        return self.render(resource, status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="resources_scopes_destroy",
        tags=TAGS,
        summary="Remove a scope from an API resource",
        description="Refused with 409 while an application or role holds the scope.",
        parameters=[OpenApiParameter("scope_name", str, OpenApiParameter.PATH, description="The scope's name.")],
        request=None,
        responses={204: OpenApiResponse(description="Removed."), **error_responses(404, 409)},
    )
    @action(detail=True, methods=["delete"], url_path=r"scopes/(?P<scope_name>[^/]+(?:/[^/]+)*)")
    def remove_scope(self, request: Request, pk: str, scope_name: str) -> Response:
        resource = self.get_object()
        scope = get_object_or_404(Scope, resource=resource, name=text_param(scope_name))
        with conflicts_as_409():
            services.api_resource_scope_remove(actor=request_actor(request), scope=scope)
        return Response(status=status.HTTP_204_NO_CONTENT)
