"""Where usage is counted: the token endpoint's answers and failed sign-ins on an application's page.

Each hook only adds to the in-process buffer (applications.usage.counters): no query on the request path.
Sign-ins themselves are counted by identity.services.user_signed_in, where every sign-in to an
application is recorded, once the transaction recording it commits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from applications.usage import counters
from applications.usage.models import UsageCount

Metric = UsageCount.Metric

# The token endpoint's grant_type -> the metric of a token it issued.
TOKEN_METRIC_BY_GRANT = {
    "authorization_code": Metric.TOKENS_AUTHORIZATION_CODE.value,
    "refresh_token": Metric.TOKENS_REFRESH_TOKEN.value,
    "client_credentials": Metric.TOKENS_CLIENT_CREDENTIALS.value,
    "urn:ietf:params:oauth:grant-type:device_code": Metric.TOKENS_DEVICE_CODE.value,
}
# RFC 8628 §3.5: a device polling before the user has approved is the protocol working, not an error.
_DEVICE_POLLING = {"authorization_pending", "slow_down"}


class TokenRequest:
    """What the validator learnt during one token request: the client it loaded, by primary key."""

    __slots__ = ("application_id",)

    def __init__(self) -> None:
        self.application_id: int | None = None

    def count(self, *, grant_type: str | None, status: int, body: bytes) -> None:
        """A 200 is a token issued to the client, a 4xx a token error; both only for a client it named
        that exists (errors before the client is known, such as a malformed request, are not per app)."""
        if self.application_id is None:
            return
        if status == 200:
            if metric := TOKEN_METRIC_BY_GRANT.get(grant_type or ""):
                counters.count(self.application_id, metric)
        elif 400 <= status < 500 and not (
            grant_type == "urn:ietf:params:oauth:grant-type:device_code" and _oauth_error(body) in _DEVICE_POLLING
        ):
            counters.count(self.application_id, Metric.TOKEN_ERRORS.value)


_current: ContextVar[TokenRequest | None] = ContextVar("latchkey_usage_token_request", default=None)


@contextmanager
def token_request() -> Iterator[TokenRequest]:
    """Around a token request: the validator reports the client it loads (token_client_loaded)."""
    seen = TokenRequest()
    reset = _current.set(seen)
    try:
        yield seen
    finally:
        _current.reset(reset)


def token_client_loaded(application_id: int) -> None:
    """The validator found the client a token request names (outside a token request: nothing)."""
    if (seen := _current.get()) is not None:
        seen.application_id = application_id


def _oauth_error(body: bytes) -> str | None:
    try:
        return json.loads(body).get("error")
    except (ValueError, AttributeError):
        return None


def sign_in_failed(sender, credentials: dict, request=None, **kwargs) -> None:
    """django.contrib.auth's user_login_failed (allauth sends it): a failed sign-in counts for the
    application whose authorization the sign-in page is part of (branding.selectors, memoised on the
    request, which the page reads anyway). Failures with no application in sight are not counted."""
    if request is None:
        return
    from branding.selectors import request_application

    if (application := request_application(request)) is not None:
        counters.count(application.pk, Metric.SIGN_IN_FAILURES.value)
