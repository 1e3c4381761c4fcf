"""When the user actually signed in (OIDC `auth_time`), kept in the session.

`last_login` is shared by every session of the user; `auth_time` belongs to this sign-in.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

AUTH_TIME_SESSION_KEY = "latchkey_auth_time"


def record_sign_in(sender, request, user, **kwargs) -> None:
    """Django's user_logged_in receiver: every sign-in (ours or the admin's) stamps the session.

    The method defaults to password (the sign-in page, the admin's login). A social login is
    recorded as "provider" afterwards, by the receiver of allauth's own `user_logged_in` (sent after
    Django's, with a `sociallogin` kwarg), which overwrites this default.
    """
    if request is not None and hasattr(request, "session"):
        request.session[AUTH_TIME_SESSION_KEY] = int(time.time())
        record_sign_in_method(request, method=SIGN_IN_METHOD_PASSWORD)


def session_auth_time(request) -> datetime | None:
    value = request.session.get(AUTH_TIME_SESSION_KEY) if hasattr(request, "session") else None
    if not isinstance(value, int):
        return None
    return datetime.fromtimestamp(value, tz=UTC)


# How this session signed in: {"method": "password"} or {"method": "provider", "provider_id": <Provider pk>}.
# Read by the authorization decision (an application's auth_methods) and for the ID token's `amr`.
SIGN_IN_METHOD_SESSION_KEY = "latchkey_sign_in_method"
SIGN_IN_METHOD_PASSWORD = "password"
SIGN_IN_METHOD_PROVIDER = "provider"


def record_sign_in_method(request, *, method: str, provider_id: int | None = None) -> None:
    request.session[SIGN_IN_METHOD_SESSION_KEY] = {"method": method, "provider_id": provider_id}


def session_sign_in_method(request) -> dict | None:
    value = request.session.get(SIGN_IN_METHOD_SESSION_KEY) if hasattr(request, "session") else None
    return value if isinstance(value, dict) else None
