"""/api/applications: thin views that parse, call one applications service and render."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from applications import services
from applications.api.serializers import (
    ApplicationListQuerySerializer,
    ApplicationSerializer,
    ApplicationWithSecretSerializer,
    ApplicationWriteSerializer,
    SecretRotatedSerializer,
    SecretRotationSerializer,
    error_example,
)
from applications.models import Application
from applications.schema import api_field_of, columns_from
from applications.selectors import application_relations, applications_for_listing
from config.api import PreconditionFailed
from config.api_errors import ApiErrorSerializer as ErrorSerializer
from config.api_errors import conflicts_as_409, request_actor
from config.api_viewsets import ManagementViewSet

NAME_TAKEN = "An application with this name already exists."


def _api_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    messages = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    names = api_field_of()
    return {names.get(field, field): list(problems) for field, problems in messages.items()}


@contextmanager
def _api_field_names() -> Iterator[None]:
    """A service's field errors come back under API field names (then conflicts_as_409 tells 409 from 400)."""
    try:
        yield
    except DjangoValidationError as exc:
        raise DjangoValidationError(_api_errors(exc)) from exc


def _with_secret(response: Response, secret: str | None) -> Response:
    """The rendered application plus its new secret, shown in this response only; the ETag stays a read's."""
    response.data = {**response.data, "client_secret": secret}
    return response


def _branding(data: dict):
    if "branding" not in data:
        return services.UNCHANGED
    return None if data["branding"] is None else dict(data["branding"])


STANDARD_ERRORS = {
    401: OpenApiResponse(
        ErrorSerializer,
        description="No token, or an invalid, expired or revoked one (see WWW-Authenticate).",
        examples=[
            error_example(
                "Unauthenticated", "not_authenticated", "Authentication credentials were not provided.", status=401
            )
        ],
    ),
    403: OpenApiResponse(
        ErrorSerializer,
        description="The token lacks management:read (reads) or management:write (writes), or is not an m2m app's.",
        examples=[
            error_example(
                "Missing scope",
                "permission_denied",
                "This token lacks the management scope this request needs.",
                status=403,
            )
        ],
    ),
}
NOT_FOUND = OpenApiResponse(
    ErrorSerializer,
    description="No application with this id.",
    examples=[error_example("Not found", "not_found", "Not found.", status=404)],
)
INVALID = OpenApiResponse(
    ErrorSerializer,
    description="Invalid fields, keyed by field name.",
    examples=[
        error_example(
            "Invalid redirect URI",
            "invalid",
            "The request has invalid fields.",
            {
                "redirect_uris": [
                    "'http://example.com/cb' uses http, which is only allowed for loopback "
                    "(localhost, 127.0.0.1, [::1]); use https."
                ]
            },
        )
    ],
)
CONFLICT = OpenApiResponse(
    ErrorSerializer,
    description="Another application already has this name (case-insensitively).",
    examples=[error_example("Name taken", "conflict", NAME_TAKEN, {"name": [NAME_TAKEN]}, status=409)],
)
STALE = OpenApiResponse(
    ErrorSerializer,
    description="If-Match does not match the application's current ETag: someone changed it since you read it.",
    examples=[error_example("Stale", "precondition_failed", PreconditionFailed.default_detail, status=412)],
)
ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The application's id.")
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The ETag from a previous GET; the write fails with 412 if the application changed since.",
)
WRITE_EXAMPLE = OpenApiExample(
    "Web application",
    value={
        "name": "Billing Portal",
        "type": "web",
        "redirect_uris": ["https://billing.example.com/callback"],
        "allowed_scopes": ["openid", "profile", "email"],
        "branding": {"logo_url": "https://billing.example.com/logo.png", "primary_color": "#1A73E8"},
    },
    request_only=True,
)


@extend_schema_view(
    list=extend_schema(
        operation_id="applications_list",
        summary="List applications",
        parameters=[ApplicationListQuerySerializer],
        responses={200: ApplicationSerializer(many=True), 400: INVALID, **STANDARD_ERRORS},
    ),
    create=extend_schema(
        operation_id="applications_create",
        summary="Register an application (its client secret is in this response only)",
        request=ApplicationWriteSerializer,
        examples=[WRITE_EXAMPLE],
        responses={201: ApplicationWithSecretSerializer, 400: INVALID, 409: CONFLICT, **STANDARD_ERRORS},
    ),
    retrieve=extend_schema(
        operation_id="applications_retrieve",
        summary="Read an application (with an ETag header)",
        parameters=[ID],
        responses={200: ApplicationSerializer, 404: NOT_FOUND, **STANDARD_ERRORS},
    ),
    update=extend_schema(
        operation_id="applications_replace",
        summary="Replace an application; fields left out take their defaults, the type cannot change",
        parameters=[ID, IF_MATCH],
        request=ApplicationWriteSerializer,
        examples=[WRITE_EXAMPLE],
        responses={
            200: ApplicationSerializer,
            400: INVALID,
            404: NOT_FOUND,
            409: CONFLICT,
            412: STALE,
            **STANDARD_ERRORS,
        },
    ),
    partial_update=extend_schema(
        operation_id="applications_update",
        summary="Change some fields of an application",
        parameters=[ID, IF_MATCH],
        request=ApplicationWriteSerializer(partial=True),
        responses={
            200: ApplicationSerializer,
            400: INVALID,
            404: NOT_FOUND,
            409: CONFLICT,
            412: STALE,
            **STANDARD_ERRORS,
        },
    ),
    destroy=extend_schema(
        operation_id="applications_delete",
        summary="Delete an application; all its tokens and grants are revoked with it",
        parameters=[ID, IF_MATCH],
        responses={204: None, 404: NOT_FOUND, 412: STALE, **STANDARD_ERRORS},
    ),
)
class ApplicationViewSet(ManagementViewSet):
    """ETags, If-Match, the error body and 409s as every management resource (config.api_viewsets)."""

    serializer_class = ApplicationSerializer
    # Any id reaches the view, so even "1.5" gets the API's JSON 404 rather than Django's HTML page.
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return applications_for_listing()

    def list(self, request):
        query = ApplicationListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        applications = self.get_queryset()
        if "type" in params:
            applications = applications.filter(type=params["type"])
        if params.get("is_active") is not None:
            applications = applications.filter(is_active=params["is_active"])
        if params.get("search"):
            applications = applications.filter(name__icontains=params["search"])
        applications = applications.order_by(params["ordering"], "pk")
        page = self.paginate_queryset(applications)
        return self.get_paginated_response(ApplicationSerializer(page, many=True).data)

    def create(self, request):
        incoming = ApplicationWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        application = Application(**columns_from(data))
        relations = application_relations(data)
        branding = _branding(data)
        with conflicts_as_409(), _api_field_names():
            secret = services.application_create(
                actor=request_actor(request),
                application=application,
                branding=None if branding is services.UNCHANGED else branding,
                **relations,
            )
        response = _with_secret(self.render(application, status.HTTP_201_CREATED), secret)
        response["Location"] = request.build_absolute_uri(f"{request.path.rstrip('/')}/{application.pk}")
        return response

    def update(self, request, pk=None, partial: bool = False):
        application = self.get_object()
        incoming = ApplicationWriteSerializer(data=request.data, partial=partial)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        relations = application_relations(data)
        with self.locked_if_match(application) as application:
            for column, value in columns_from(data).items():
                setattr(application, column, value)
            with conflicts_as_409(), _api_field_names():
                services.application_update(
                    actor=request_actor(request), application=application, branding=_branding(data), **relations
                )
        return self.render(application)

    def partial_update(self, request, pk=None):
        return self.update(request, pk=pk, partial=True)

    def destroy(self, request, pk=None):
        with self.locked_if_match(self.get_object()) as application:
            services.application_delete(actor=request_actor(request), application=application)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="applications_regenerate_secret",
        summary="Issue a new client secret (in this response only); optionally keep the old one for a grace period",
        parameters=[ID, IF_MATCH],
        request=SecretRotationSerializer,
        responses={
            200: SecretRotatedSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description="A public application (spa, native) has no secret, or the grace period is out of range.",
                examples=[
                    error_example(
                        "Public application",
                        "invalid",
                        "The request has invalid fields.",
                        {"type": ["A single-page application has no client secret."]},
                    ),
                ],
            ),
            404: NOT_FOUND,
            412: STALE,
            **STANDARD_ERRORS,
        },
    )
    @action(detail=True, methods=["post"], url_path="regenerate-secret")
    def regenerate_secret(self, request, pk=None):
        application = self.get_object()
        incoming = SecretRotationSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        grace = incoming.validated_data["grace_period_seconds"]
        with self.locked_if_match(application) as application, _api_field_names():
            secret = services.application_rotate_secret(
                actor=request_actor(request), application=application, grace_period_seconds=grace
            )
        previous = application.previous_secrets.order_by("-retired_at", "-pk").first() if grace > 0 else None
        response = _with_secret(self.render(application), secret)
        response.data["previous_secret_expires_at"] = previous.expires_at.isoformat() if previous else None
        return response
