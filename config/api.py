"""Plumbing of the management API (/api/): authentication, scopes, one error shape, pagination.

Integrators authenticate with a client-credentials access token of an `m2m` application that
holds `management:read` (reads) or `management:write` (writes); staff may use the browsable API
with their session (CSRF enforced by DRF's SessionAuthentication). The scopes are the applications'
(applications.api.permissions); config/ imports no app.
"""

from __future__ import annotations

import hashlib
import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response


class ManagementTokenAuthentication(OAuth2Authentication):
    """A Bearer access token; DRF answers 401 with this class's WWW-Authenticate challenge."""

    www_authenticate_realm = "latchkey-management"


class Conflict(exceptions.APIException):
    """409; `fields` names the values in conflict (e.g. a taken name), as a 400 names invalid ones."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"

    def __init__(self, detail=None, *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.fields = fields or {}


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource changed since you read it (If-Match does not match its ETag)."
    default_code = "precondition_failed"


def _fields(detail) -> dict:
    if isinstance(detail, dict):
        return {key: [str(m) for m in (value if isinstance(value, list) else [value])] for key, value in detail.items()}
    return {}


def api_exception_handler(exc, context):
    """Every error, whatever raised it, as {"error": code, "detail": message, "fields": {...}}."""
    # Imported here: DRF loads this module's authentication classes while importing its views.
    from rest_framework.views import exception_handler

    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = (
            _fields(exc.detail) if isinstance(exc.detail, dict) else {"non_field_errors": [str(m) for m in exc.detail]}
        )
        body = {"error": "invalid", "detail": "The request has invalid fields.", "fields": fields}
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        fields = _fields(getattr(exc, "fields", {}))
        body = {"error": code if isinstance(code, str) else "error", "detail": str(detail), "fields": fields}
    response.data = body
    return response


class TotalPagination(PageNumberPagination):
    """`?page=` and `?page_size=` (at most 200); the body carries `count`, the total."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None):
        """A page that is not a positive number, or past the last one, is a 400 naming `page`."""
        try:
            return super().paginate_queryset(queryset, request, view)
        except exceptions.NotFound as exc:
            raise exceptions.ValidationError({"page": [str(exc.detail)]}) from exc

    def get_paginated_response(self, data) -> Response:
        return Response(
            {
                "count": self.page.paginator.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["count", "results"],
            "properties": {
                "count": {"type": "integer", "example": 123},
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }


def representation_etag(data) -> str:
    """A strong ETag of a rendered representation: equal bodies, equal tags (RFC 9110 §8.8.3)."""
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return f'"{digest[:32]}"'


def check_if_match(request, current_etag: str) -> None:
    """RFC 9110 §13.1.1: strong comparison; a missing If-Match means the client takes the risk."""
    header = request.headers.get("If-Match")
    if header is None:
        return
    tags = [tag.strip() for tag in header.split(",")]
    if "*" not in tags and current_etag not in tags:
        raise PreconditionFailed()
