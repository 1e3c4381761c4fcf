"""What a client sees when a request fails: a dependency out of reach (503) or a bug (500).

An identity provider's clients are libraries parsing JSON: an HTML error page from the token
endpoint is an error they cannot read. So a failed request is answered in the shape of the
endpoint it was sent to:

- the OAuth JSON endpoints (token, introspection, revocation, userinfo, device authorization,
  discovery, JWKS): `{"error": "temporarily_unavailable" | "server_error", "error_description": …}`,
  `Cache-Control: no-store`;
- the management API (/api/): its one error shape, `{"error", "detail", "fields"}`;
- everything else (the authorization endpoint, sign-in, device and account pages, the admin): a
  page in the deployment's brand, rendered without touching the database.

`is_unavailable` decides which failures are the dependency's (the database or the cache cannot
be reached, or did not answer in time): those are 503 with `Retry-After`, logged as one WARNING
line without a traceback (an outage would otherwise flood the log). Anything else (an integrity
or data error, a bug) is the server's: 500 `server_error` with the request id the log line carries,
logged once as ERROR with its traceback. Pages leave a 500 to Django (logged by `django.request`,
rendered by `server_error`, the handler500).

`ErrorResponseMiddleware.process_exception` answers what a view raised; `server_error` answers
what a middleware raised (Django calls it inside the `except`). Imports no app (config/ plumbing).
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from collections.abc import Callable

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import DataError, IntegrityError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.log import log_response

try:  # the PostgreSQL driver; absent, only SQLite and the cache are classified
    import psycopg
except ImportError:  # pragma: no cover
    psycopg = None
try:
    from redis import exceptions as redis_exceptions
except ImportError:  # pragma: no cover
    redis_exceptions = None
_REDIS_UNREACHABLE = (redis_exceptions.ConnectionError, redis_exceptions.TimeoutError) if redis_exceptions else ()

log = logging.getLogger(__name__)

# SQLSTATE class 08 (connection exception) and these: the server is going away or not there yet
# (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now: "the database system is
# starting up / shutting down"), or did not answer in time (57014 query canceled: statement_timeout).
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "57014"})
# SQLite's only "not now": another writer held the lock for the whole busy timeout.
_SQLITE_BUSY = ("database is locked",)

OAUTH_JSON_PATHS = frozenset({"/oauth/token", "/oauth/introspect", "/oauth/revoke", "/oauth/userinfo", "/oauth/device"})
WELL_KNOWN_PREFIX = "/.well-known/"
API_PREFIX = "/api/"

UNAVAILABLE_DESCRIPTION = "The service is temporarily unavailable. Retry the request in a few seconds."
SERVER_ERROR_DESCRIPTION = "The server met an unexpected error. Quote the request_id if you report it."


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means a dependency cannot be reached now (retry later), not a bug or bad input.

    Follows the explicit cause chain (`raise … from …`: Django's database errors wrap the driver's).
    Integrity and data errors are never unavailability, whatever they wrap.
    """
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        if isinstance(link, IntegrityError | DataError):
            return False
        if _is_connection_failure(link):
            return True
        link = link.__cause__
    return False


def _is_connection_failure(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionError | TimeoutError):  # refused, reset, broken pipe, socket timeouts
        return True
    if redis_exceptions is not None and isinstance(exc, _REDIS_UNREACHABLE):
        return True
    if psycopg is not None and isinstance(exc, psycopg.Error):
        sqlstate = exc.sqlstate
        if sqlstate:
            return sqlstate.startswith("08") or sqlstate in UNAVAILABLE_SQLSTATES
        # psycopg raises OperationalError with no SQLSTATE when it cannot connect, loses the
        # connection ("server closed the connection unexpectedly") or uses a closed one.
        return isinstance(exc, psycopg.OperationalError)
    if isinstance(exc, sqlite3.OperationalError):
        return str(exc).startswith(_SQLITE_BUSY)
    return False


# --- the answers -----------------------------------------------------------------------------------


def _kind(request: HttpRequest) -> str:
    path = request.path_info
    if path in OAUTH_JSON_PATHS or path.startswith(WELL_KNOWN_PREFIX):
        return "oauth"
    if path.startswith(API_PREFIX):
        return "api"
    return "page"


def _json(kind: str, status: int, error: str, description: str, **extra: str) -> JsonResponse:
    if kind == "oauth":
        body = {"error": error, "error_description": description, **extra}
    else:
        body = {"error": error, "detail": description, "fields": {}, **extra}
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def _page(request: HttpRequest, template: str, status: int) -> HttpResponse:
    # branding.selectors: an explicit None means "no application", so neither the brand nor the page's
    # Content-Security-Policy reads one from the database, which may be what failed.
    request.latchkey_application = None
    return render(request, template, status=status)


def unavailable_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """503 with Retry-After in the endpoint's shape; logged here once, as a WARNING without traceback."""
    _drop_broken_connections()
    kind = _kind(request)
    if kind == "page":
        response = _page(request, "errors/503.html", 503)
    else:
        response = _json(kind, 503, "temporarily_unavailable", UNAVAILABLE_DESCRIPTION)
    response["Retry-After"] = str(settings.LATCHKEY_RETRY_AFTER_SECONDS)
    log_response(
        "%s: %s (%s: %s)",
        response.reason_phrase,
        request.path,
        type(exc).__name__,
        str(exc).strip(),
        response=response,
        request=request,
        level="warning",
    )
    return response


def server_error_json(request: HttpRequest, kind: str) -> JsonResponse:
    return _json(kind, 500, "server_error", SERVER_ERROR_DESCRIPTION, request_id=getattr(request, "request_id", "-"))


def _drop_broken_connections() -> None:
    """Close this thread's database connections that failed, at once rather than when the request ends.

    Django checks a connection that raised only at the end of the request (request_finished); until
    then the rest of this request (the session save, a page's queries) would reuse the dead one.
    Closed, the next query opens a new connection. Inside an atomic block (a test's transaction) a
    close would break the block, so it is left to Django.
    """
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


class ErrorResponseMiddleware:
    """Answers an exception a view raised in the shape its endpoint promises (see the module docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_unavailable(exception):
            return unavailable_response(request, exception)
        kind = _kind(request)
        if kind == "page":
            return None  # Django logs it (django.request, with the traceback) and renders server_error
        # What Django does for an uncaught exception, so error trackers listening to the signal still hear of it.
        got_request_exception.send(sender=self.__class__, request=request)
        response = server_error_json(request, kind)
        # One ERROR record with the traceback; marks the response logged, so django.request does not log it again.
        log_response(
            "%s: %s", response.reason_phrase, request.path, response=response, request=request, exception=exception
        )
        return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: Django calls it for what no process_exception answered (a middleware's exception too),
    inside its `except`, and logs the response afterwards unless it was logged here."""
    exc = sys.exc_info()[1]
    if exc is not None and is_unavailable(exc):
        return unavailable_response(request, exc)
    kind = _kind(request)
    if kind != "page":
        return server_error_json(request, kind)
    return _page(request, "errors/500.html", 500)
