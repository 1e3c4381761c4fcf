"""Helpers shared by the management API's views: the documented error body and 409 detection.

Services raise Django ValidationErrors; most become 400 through config.api.api_exception_handler.
Two kinds are conflicts with the current state instead, answered 409: a unique value already
taken ("... already exists", what full_clean() reports, or the database's backstop on a race),
and a refusal coded `in_use` (deleting something others still depend on).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from config.api import Conflict


class ApiErrorSerializer(serializers.Serializer):
    """The one error body of the management API."""

    error = serializers.CharField(help_text="Machine-readable code, e.g. invalid, not_found, conflict.")
    detail = serializers.CharField(help_text="Human-readable summary.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Field name → problems: the invalid fields of a 400, the conflicting ones of a 409; else empty.",
    )


_EXAMPLES = {
    400: ("invalid", "The request has invalid fields.", {"name": ["This field cannot be blank."]}),
    401: ("not_authenticated", "Authentication credentials were not provided.", {}),
    403: ("permission_denied", "This token lacks the management scope this request needs.", {}),
    404: ("not_found", "Not found.", {}),
    409: ("conflict", "A role with this name already exists.", {"name": ["A role with this name already exists."]}),
    412: ("precondition_failed", "The resource changed since you read it (If-Match does not match its ETag).", {}),
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """`responses` entries for extend_schema: 401 and 403 always, plus the statuses given."""
    documented = {}
    for status in sorted({401, 403, *statuses}):
        code, detail, fields = _EXAMPLES[status]
        documented[status] = OpenApiResponse(
            ApiErrorSerializer,
            description=detail,
            examples=[OpenApiExample(code, value={"error": code, "detail": detail, "fields": fields})],
        )
    return documented


def _is_conflict(exc: DjangoValidationError) -> bool:
    if hasattr(exc, "error_dict"):
        errors = [e for problems in exc.error_dict.values() for e in problems]
    else:
        errors = list(exc.error_list)
    # Only when nothing else is wrong: a request with other invalid fields is answered 400 with all of them.
    return bool(errors) and all(
        e.code in {"unique", "in_use"} or "already exists" in " ".join(e.messages) for e in errors
    )


@contextmanager
def conflicts_as_409() -> Iterator[None]:
    """Turn a service's uniqueness or in-use refusal into 409; any other validation error stays 400."""
    try:
        yield
    except DjangoValidationError as exc:
        if _is_conflict(exc):
            fields = exc.message_dict if hasattr(exc, "error_dict") else {}
            raise Conflict(" ".join(exc.messages), fields=fields) from exc
        raise
    except IntegrityError as exc:
        # Two writers raced past the service's uniqueness check; the database constraint caught it.
        raise Conflict("The request conflicts with a change made at the same time; retry it.") from exc


def request_actor(request):
    """Who is making this management request: the m2m application whose token it is, or the staff user."""
    token = getattr(request, "auth", None)
    if token is not None and getattr(token, "application", None) is not None:
        return token.application
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def text_param(value: str | None) -> str | None:
    """A query or path value fit for a text lookup: None when it holds NUL, which PostgreSQL text refuses."""
    if value is None or "\x00" in value:
        return None
    return value


IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description="The ETag from a previous read; the write fails with 412 if the object changed since.",
)
# The application of a route nested under /api/applications/{id}/ (webhooks, providers, usage).
APPLICATION_ID = OpenApiParameter(
    "application_pk", OpenApiTypes.INT, OpenApiParameter.PATH, description="The application's id."
)
