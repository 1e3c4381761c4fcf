"""/api/applications/{id}/providers: thin views that parse, call identity.federation.services and render."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response

from applications.models import Application
from config.api_errors import APPLICATION_ID, IF_MATCH, conflicts_as_409, error_responses, request_actor
from config.api_viewsets import ManagementViewSet
from identity.federation import selectors, services
from identity.federation.api.serializers import ProviderSerializer, ProviderWriteSerializer

TAGS = ["Sign-in providers"]
PROVIDER_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The provider's id.")
EXAMPLES = [
    OpenApiExample(
        "GitHub", value={"type": "github", "client_id": "Iv1.0123", "client_secret": "…"}, request_only=True
    ),
    OpenApiExample(
        "Apple",
        value={
            "type": "apple",
            "client_id": "com.example.signin",
            "team_id": "TEAM123456",
            "key_id": "KEY1234567",
            "private_key": "-----BEGIN PRIVATE KEY-----\n…\n-----END PRIVATE KEY-----",
        },
        request_only=True,
    ),
    OpenApiExample(
        "Generic OpenID Connect",
        value={
            "type": "oidc",
            "client_id": "latchkey",
            "client_secret": "…",
            "issuer": "https://sso.example.com",
            "display_name": "Example SSO",
            "claim_mapping": {"email": "upn"},
        },
        request_only=True,
    ),
]


@extend_schema_view(
    list=extend_schema(
        operation_id="providers_list",
        tags=TAGS,
        summary="List an application's sign-in providers (secrets never shown)",
        parameters=[APPLICATION_ID],
        responses={200: ProviderSerializer(many=True), **error_responses(400, 404)},
    ),
    retrieve=extend_schema(
        operation_id="providers_retrieve",
        tags=TAGS,
        summary="Read a sign-in provider",
        parameters=[APPLICATION_ID, PROVIDER_ID],
        responses={200: ProviderSerializer, **error_responses(404)},
    ),
)
class ProviderViewSet(ManagementViewSet):
    """The sign-in providers of one application. Rules: identity.federation.policies (409 for a second
    provider of a type, or a second generic OIDC provider with the same issuer)."""

    serializer_class = ProviderSerializer
    lookup_value_regex = "[^/]+"

    def application(self) -> Application:
        if not hasattr(self, "_application"):
            pk = self.kwargs["application_pk"]
            self._application = get_object_or_404(Application, pk=pk if str(pk).isdigit() else None)
        return self._application

    def get_queryset(self):
        return selectors.providers_of(self.application())

    def list(self, request, application_pk=None) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ProviderSerializer(page, many=True).data)

    def retrieve(self, request, application_pk=None, pk=None) -> Response:
        return self.render(self.get_object())

    @extend_schema(
        operation_id="providers_create",
        tags=TAGS,
        summary="Add a sign-in provider with the application's credentials at it",
        parameters=[APPLICATION_ID],
        request=ProviderWriteSerializer,
        examples=EXAMPLES,
        responses={201: ProviderSerializer, **error_responses(400, 404, 409)},
    )
    def create(self, request, application_pk=None) -> Response:
        application = self.application()
        body = ProviderWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with conflicts_as_409():
            provider = services.provider_create(
                actor=request_actor(request), application=application, fields=dict(body.validated_data)
            )
        response = self.render(provider, status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(f"{request.path.rstrip('/')}/{provider.pk}")
        return response

    def _update(self, request, pk, *, partial: bool) -> Response:
        provider = self.get_object()
        body = ProviderWriteSerializer(data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        if not partial:
            # A replacement: every field not sent returns to its default, except secrets (write-only, kept).
            fields = {
                **{name: "" for name in ("team_id", "key_id", "issuer", "display_name")},
                "claim_mapping": {},
                **fields,
            }
        with conflicts_as_409(), self.locked_if_match(provider) as provider:
            services.provider_update(actor=request_actor(request), provider=provider, fields=fields)
        return self.render(provider)

    @extend_schema(
        operation_id="providers_update",
        tags=TAGS,
        summary="Replace a sign-in provider (secrets left out are kept)",
        parameters=[APPLICATION_ID, PROVIDER_ID, IF_MATCH],
        request=ProviderWriteSerializer,
        responses={200: ProviderSerializer, **error_responses(400, 404, 409, 412)},
    )
    def update(self, request, application_pk=None, pk=None) -> Response:
        return self._update(request, pk, partial=False)

    @extend_schema(
        operation_id="providers_partial_update",
        tags=TAGS,
        summary="Change fields of a sign-in provider",
        parameters=[APPLICATION_ID, PROVIDER_ID, IF_MATCH],
        request=ProviderWriteSerializer(partial=True),
        responses={200: ProviderSerializer, **error_responses(400, 404, 409, 412)},
    )
    def partial_update(self, request, application_pk=None, pk=None) -> Response:
        return self._update(request, pk, partial=True)

    @extend_schema(
        operation_id="providers_destroy",
        tags=TAGS,
        summary="Remove a sign-in provider",
        parameters=[APPLICATION_ID, PROVIDER_ID, IF_MATCH],
        responses={204: None, **error_responses(404, 409, 412)},
    )
    def destroy(self, request, application_pk=None, pk=None) -> Response:
        with conflicts_as_409(), self.locked_if_match(self.get_object()) as provider:
            services.provider_delete(actor=request_actor(request), provider=provider)
        return Response(status=status.HTTP_204_NO_CONTENT)
