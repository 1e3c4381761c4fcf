"""/api/applications/{id}/usage and /api/usage: daily usage, read-only (management:read)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import viewsets
from rest_framework.response import Response

from applications.models import Application
from applications.usage import selectors
from applications.usage.api.serializers import (
    ApplicationUsageSerializer,
    DeploymentUsageSerializer,
    UsageQuerySerializer,
)
from config.api_errors import APPLICATION_ID, error_responses

TAGS = ["Usage"]
_DAY_ONE = "2026-03-01"
_TOKENS = {"authorization_code": 3, "refresh_token": 1, "client_credentials": 0, "device_code": 0}
_DAY = {
    "day": _DAY_ONE,
    "sign_ins": 3,
    "unique_users": 2,
    "tokens": _TOKENS,
    "tokens_total": 4,
    "sign_in_failures": 1,
    "token_errors": 1,
}
_TOTALS = {key: value for key, value in _DAY.items() if key not in ("day", "unique_users")}
_PERIOD = {"from": _DAY_ONE, "to": _DAY_ONE}
_USAGE = {"days": [_DAY], "totals": _TOTALS, "monthly_active_users": 2}
_BUSIEST = [{"id": 7, "name": "Shop", "client_id": "shop", "sign_ins": 3, "tokens_total": 4}]
DESCRIPTION = (
    "Days are UTC dates, both ends included (at most 366); without `from`/`to`, the last 30 days. Counts reach "
    "these numbers at each process's next flush (LATCHKEY_USAGE_FLUSH_SECONDS, 10 by default)."
)


def _schema(*, operation_id: str, summary: str, path: list, example: dict, response, errors: tuple[int, ...]):
    """The OpenAPI description of a usage read: `from`/`to` after the `path` parameters, one example body."""
    return extend_schema(
        operation_id=operation_id,
        tags=TAGS,
        summary=summary,
        description=DESCRIPTION,
        parameters=[*path, UsageQuerySerializer],
        examples=[OpenApiExample("One day", value=example, response_only=True)],
        responses={200: response, **error_responses(*errors)},
    )


def _query(request) -> tuple[date, date]:
    query = UsageQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data["start"], query.validated_data["end"]


def _usage(application: Application | None, start: date, end: date) -> dict:
    days = selectors.usage_daily(application=application, start=start, end=end)
    return {
        "from": start,
        "to": end,
        "days": [asdict(day) for day in days],
        "totals": selectors.usage_totals(days),
        "monthly_active_users": selectors.usage_monthly_active_users(application=application, month=end),
    }


class ApplicationUsageViewSet(viewsets.ViewSet):
    """One application's usage per day."""

    @_schema(
        operation_id="application_usage",
        summary="An application's usage per day: sign-ins, unique users, tokens by grant type, failures",
        path=[APPLICATION_ID],
        example={**_PERIOD, "application": 7, **_USAGE},
        response=ApplicationUsageSerializer,
        errors=(400, 404),
    )
    def list(self, request, application_pk=None) -> Response:
        pk = application_pk if str(application_pk).isdigit() else None
        application = get_object_or_404(Application.objects.only("pk"), pk=pk)
        start, end = _query(request)
        body = {"application": application.pk, **_usage(application, start, end)}
        return Response(ApplicationUsageSerializer(body).data)


class UsageViewSet(viewsets.ViewSet):
    """Usage of every application added up, and the busiest ones."""

    @_schema(
        operation_id="usage",
        summary="Usage per day across all applications, and the busiest applications",
        path=[],
        example={**_PERIOD, **_USAGE, "busiest_applications": _BUSIEST},
        response=DeploymentUsageSerializer,
        errors=(400,),
    )
    def list(self, request) -> Response:
        start, end = _query(request)
        busiest = selectors.usage_busiest_applications(start=start, end=end)
        body = {
            **_usage(None, start, end),
            "busiest_applications": [
                {"id": app.pk, "name": app.name, "client_id": app.client_id, "sign_ins": sign_ins, "tokens_total": n}
                for app, sign_ins, n in busiest
            ],
        }
        return Response(DeploymentUsageSerializer(body).data)
