"""Prometheus metrics: requests and latency by route, tokens issued by grant and client, at /metrics.

Labels stay bounded: a request is counted under its URL pattern's name (`oauth:token`,
`api:application-detail`), never its raw path; unknown methods count as `other`; tokens are
counted only for successful token responses, whose client has authenticated.

Every server worker process has its own counters; with PROMETHEUS_MULTIPROC_DIR set (config/serve.py
sets it) they are written to files there and /metrics adds up every worker's. The directory must be
set before prometheus_client is imported, which is why it comes from the environment.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from config.logs import client_id_of

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
GRANT_TYPES = frozenset(
    {"authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"}
)
TOKEN_ROUTE = "oauth:token"

REQUESTS = Counter(
    "latchkey_http_requests",
    "HTTP requests by route (URL pattern name), method and status class.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "latchkey_http_request_duration_seconds",
    "Time from the first middleware to the response, by route and method.",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
TOKENS_ISSUED = Counter(
    "latchkey_tokens_issued",
    "Successful token endpoint responses by grant type and client_id.",
    ["grant_type", "client_id"],
)


def route_of(request: HttpRequest) -> str:
    match = request.resolver_match
    if match is not None:
        return match.view_name or match.route
    if request.path_info.startswith(f"/{settings.STATIC_URL.lstrip('/')}"):
        return "static"
    return "unmatched"


class MetricsMiddleware:
    """Counts and times every request; a successful token response also counts one issuance."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        route = route_of(request)
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(route, method, f"{response.status_code // 100}xx").inc()
        LATENCY.labels(route, method).observe(elapsed)
        if route == TOKEN_ROUTE and response.status_code == 200:
            grant_type = request.POST.get("grant_type")
            client_id = client_id_of(request)
            if grant_type in GRANT_TYPES and client_id:
                TOKENS_ISSUED.labels(grant_type, client_id).inc()
        return response


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics with `Authorization: Bearer $LATCHKEY_METRICS_TOKEN`; absent when the token is unset."""
    expected = settings.LATCHKEY_METRICS_TOKEN
    if not expected:
        return HttpResponseNotFound()
    scheme, _, presented = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), expected.encode()):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    response = HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
