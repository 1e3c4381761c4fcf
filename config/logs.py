"""Log lines: a request id on every record, one JSON line per request, and secrets scrubbed last.

`RequestLogMiddleware` (first in MIDDLEWARE) takes a sane `X-Request-ID` or makes one, returns it
on the response, and keeps it (and the request) in context variables for the duration of the
request, so `RequestIdFilter` can stamp every record logged meanwhile, whatever logger it uses.

`RedactSecrets` is attached to every handler in LOGGING: whatever a library decides to log, the
formatted message, extra fields, tracebacks and SQL parameters pass through it before any
formatter writes them. It scrubs values by shape (`client_secret=…`, `'code': '…'`, `Bearer …`,
`Basic …`, JWTs) and, during a request, every credential that request carried (form fields such
as `client_secret`, `code`, `refresh_token`, `password`, and the Authorization header), wherever
it appears. It is the last line of defence, not a licence to log secrets.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import logging
import re
import time
import uuid
from collections.abc import Callable
from urllib.parse import unquote_plus

from django.http import HttpRequest, HttpResponse

REDACTED = "[REDACTED]"
REQUEST_ID_HEADER = "X-Request-ID"
# Ids we accept from a client or proxy: UUIDs, hex, the usual tracing ids; anything else is replaced.
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
MAX_LOGGED_PATH = 512

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("latchkey_request_id", default=None)
_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar("latchkey_request", default=None)

request_log = logging.getLogger("latchkey.request")

# --- redaction -------------------------------------------------------------------------------------

# Parameter names whose values are credentials: `…token`, `…secret`, `…password`, and the codes.
_SECRET_NAME = re.compile(
    r"(?i)(?:.*(?:token|secret|password|passwd|(?:secret|private|api|access)_?key)\d*|code|code_verifier|device_code|user_code|sessionid)"
)
# Any name=value / "name": "value" / 'name': b'value' pair; the name decides (linear: no backtracking per name).
_PAIR = re.compile(
    r"(?<![A-Za-z0-9_-])(?P<key>[A-Za-z0-9_-]+)"  # a name, whole
    r"(?P<sep>[\"']?\s*[:=]\s*b?[\"']?)"  # =, or : with quotes around either side
    r"(?P<value>[^\s\"'&,;)}\]]+)"
)
_AUTH_SCHEME = re.compile(r"(?i)\b(?P<scheme>Bearer|Basic|Digest)\s+(?P<value>[A-Za-z0-9._~+/=-]+)")
_SQL_STRING = re.compile(r"'(?:[^'\\]|''|\\.)*'")  # a quoted literal, as the backends interpolate them
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
# Form fields (and query parameters) whose exact values are scrubbed from every line of the request.
SENSITIVE_FIELDS = (
    "client_secret",
    "code",
    "code_verifier",
    "refresh_token",
    "access_token",
    "token",
    "device_code",
    "user_code",
    "password",
    "password1",
    "password2",
    "old_password",
    "new_password1",
    "new_password2",
    "id_token_hint",
    "assertion",
)
_SENSITIVE_FIELD_SET = frozenset(SENSITIVE_FIELDS)
MIN_SECRET_LENGTH = 6  # shorter values ("1", "yes") would scrub ordinary words


def _scrub_pair(match: re.Match) -> str:
    if _SECRET_NAME.fullmatch(match["key"]):
        return f"{match['key']}{match['sep']}{REDACTED}"
    return match[0]


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` with credentials replaced by [REDACTED]: the given values first, then by shape."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if "eyJ" in text:
        text = _JWT.sub(REDACTED, text)
    text = _AUTH_SCHEME.sub(lambda m: f"{m['scheme']} {REDACTED}", text)
    if "=" in text or ":" in text:
        text = _PAIR.sub(_scrub_pair, text)
    return text


# Paths whose next segment is a credential, the key of an emailed link: an organisation invitation,
# allauth's email confirmation and password reset. The request line shows the route, not the key.
_SECRET_PATH = re.compile(
    r"^(?P<route>/organizations/invitations/|/account/confirm-email/|/account/password/reset/key/)[^/]+"
)


def logged_path(path: str) -> str:
    """The path as the request line shows it: without an emailed link's key, at most MAX_LOGGED_PATH long."""
    return _SECRET_PATH.sub(lambda match: match["route"] + REDACTED, path)[:MAX_LOGGED_PATH]


def _request_secrets(request: HttpRequest) -> tuple[str, ...]:
    """The credentials this request carried, longest first (so no secret is left half-replaced).

    Memoised on the request until its form is parsed: most requests log once, some many times.
    """
    post = request.__dict__.get("_post")  # only a form the view already parsed: a filter never reads a body
    memo = request.__dict__.get("_latchkey_log_secrets")
    if memo is not None and memo[0] is post:
        return memo[1]
    found: set[str] = set()
    authorization = request.META.get("HTTP_AUTHORIZATION")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        credentials = credentials.strip()
        found.add(credentials)
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credentials, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            secret = decoded.partition(":")[2]
            found.update((secret, unquote_plus(secret)))
    for params in (request.GET if request.META.get("QUERY_STRING") else None, post):
        if params:
            for field in _SENSITIVE_FIELD_SET.intersection(params):
                found.update(params.getlist(field))
    secrets = tuple(sorted((s for s in found if len(s) >= MIN_SECRET_LENGTH), key=len, reverse=True))
    request.__dict__["_latchkey_log_secrets"] = (post, secrets)
    return secrets


_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}
_traceback_formatter = logging.Formatter()


def _request_of(record: logging.LogRecord) -> HttpRequest | None:
    """The request being served, or the one a record names: Django logs 4xx/5xx responses (the
    `django.request` logger) after the middleware has returned, with the request attached."""
    request = _request.get()
    if request is None:
        attached = record.__dict__.get("request")
        request = attached if isinstance(attached, HttpRequest) else None
    return request


class RedactSecrets(logging.Filter):
    """Scrubs every part of a record a formatter may write (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = _request_of(record)
        secrets = _request_secrets(request) if request is not None else ()
        if record.name == "django.db.backends" and isinstance(record.__dict__.get("sql"), str):
            # DEBUG SQL logging (settings.DEBUG, or a test's query capture) interpolates the parameters
            # (codes, session keys, token checksums) into the statement: keep its shape and timing only.
            record.sql = _SQL_STRING.sub("'?'", record.sql)
            duration, alias = record.__dict__.get("duration") or 0.0, record.__dict__.get("alias", "")
            record.msg, record.args = "(%.3f) %s; args=%s; alias=%s", (duration, record.sql, REDACTED, alias)
            record.params = REDACTED
        try:
            message = record.getMessage()
        except Exception:  # a malformed call (wrong argument count): keep the template, drop the arguments
            message = str(record.msg)
        record.msg, record.args = redact(message, secrets), None
        if record.exc_info:
            record.exc_text = redact(_traceback_formatter.formatException(record.exc_info), secrets)
            record.exc_info = None  # formatters then write the scrubbed exc_text
        elif record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        for key, value in list(record.__dict__.items()):
            if key in _STANDARD_ATTRS or value is None or isinstance(value, bool | int | float):
                continue
            # Extra fields reach JSON output too; anything that is not a plain number becomes scrubbed text.
            record.__dict__[key] = redact(value if isinstance(value, str) else repr(value), secrets)
        return True


class ExpectedAsWarning(logging.Filter):
    """On a logger of expected client mistakes (a Host we do not serve): one WARNING line, no traceback.

    Django logs DisallowedHost at ERROR with the exception attached, although the client gets a 400
    and nothing on the server is wrong; scanners send such requests all day.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        record.exc_info, record.exc_text = None, None
        return logging.getLogger(record.name).isEnabledFor(record.levelno)  # LATCHKEY_LOG_LEVEL=ERROR drops it


class RequestIdFilter(logging.Filter):
    """Stamps `request_id` on every record ("-" outside a request), for both log formats."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "request_id" in record.__dict__:  # stamped by an earlier handler (before redaction)
            return True
        request_id = _request_id.get()
        if request_id is None:
            request_id = getattr(_request_of(record), "request_id", None)
        record.request_id = request_id or "-"
        return True


# --- the request line ------------------------------------------------------------------------------


def client_id_of(request: HttpRequest) -> str | None:
    """The client an OAuth request names (public, never its secret): HTTP Basic, else client_id in the
    form the view already parsed, else in the query string. Only authentication proves it.

    For the access line and the metrics, once the response exists: memoised on the request then.
    """
    if "_latchkey_client_id" in request.__dict__:
        return request.__dict__["_latchkey_client_id"]
    client_id = _client_id_named_by(request)
    request.__dict__["_latchkey_client_id"] = client_id
    return client_id


def _client_id_named_by(request: HttpRequest) -> str | None:
    match = request.resolver_match
    if match is None or match.namespace != "oauth":
        return None
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    if authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id = unquote_plus(decoded.partition(":")[0])  # RFC 6749 §2.3.1: form-encoded
    else:
        client_id = (request.__dict__.get("_post") or request.GET).get("client_id")
    return client_id[:128] if client_id else None


class RequestLogMiddleware:
    """First middleware: the request id for every record, and one log line per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        id_token = _request_id.set(request_id)
        request_token = _request.set(request)
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            status = response.status_code
            # 503 is a dependency's outage (config/errors.py logs its cause once): a warning, not a bug.
            level = logging.WARNING if status == 503 else logging.ERROR if status >= 500 else logging.INFO
            if request_log.isEnabledFor(level):  # LATCHKEY_LOG_LEVEL=WARNING drops the request lines for free
                duration_ms = round((time.perf_counter() - started) * 1000, 2)
                path = logged_path(request.path)  # never the query string
                request_log.log(
                    level,
                    "%s %s %s %sms",
                    request.method,
                    path,
                    status,
                    duration_ms,
                    extra={
                        "method": request.method,
                        "path": path,
                        "status": status,
                        "duration_ms": duration_ms,
                        "client_id": client_id_of(request),
                    },
                )
            return response
        finally:
            _request.reset(request_token)
            _request_id.reset(id_token)
