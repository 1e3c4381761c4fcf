"""When the user actually signed in (OIDC `auth_time`), kept in the session.

`last_login` is shared by every session of the user; `auth_time` belongs to this sign-in.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

AUTH_TIME_SESSION_KEY = "latchkey_auth_time"


def record_sign_in(sender, request, user, **kwargs) -> None:
    """Django's user_logged_in receiver: every sign-in stamps the session with its time and method.

    The method is password, or a passkey alone, with the second factors shown on the way
    (identity.mfa.factors). A social login is recorded as "provider" afterwards, by the receiver of
    allauth's own `user_logged_in` (sent after Django's, with a `sociallogin` kwarg), which replaces
    the method and keeps the factors.
    """
    from identity.mfa.factors import sign_in_record

    if request is not None and hasattr(request, "session"):
        request.session[AUTH_TIME_SESSION_KEY] = int(time.time())
        # `id` names this sign-in on the codes it issues (Grant.sign_in_id), so ending the session can revoke
        # what it handed out (identity.user_sessions); the session key itself changes with a password change.
        request.session[SIGN_IN_METHOD_SESSION_KEY] = {**sign_in_record(request, user), "id": secrets.token_hex(16)}


def session_auth_time(request) -> datetime | None:
    value = request.session.get(AUTH_TIME_SESSION_KEY) if hasattr(request, "session") else None
    if not isinstance(value, int):
        return None
    return datetime.fromtimestamp(value, tz=UTC)


# How this session signed in: {"method": "password"}, {"method": "provider", "provider_id": <Provider pk>}
# or {"method": "passkey", "key": "hwk"|"swk", "user_verified": bool}, each with "factors": the second
# factors shown since (identity.mfa.factors), and "id": this sign-in's random id (Grant.sign_in_id).
# Read by the authorization decision (an application's auth_methods, its second-factor requirement) and
# for the ID token's `amr`.
SIGN_IN_METHOD_SESSION_KEY = "latchkey_sign_in_method"
SIGN_IN_METHOD_PASSWORD = "password"
SIGN_IN_METHOD_PROVIDER = "provider"


def record_sign_in_method(request, *, method: str, provider_id: int | None = None) -> None:
    """The first factor of this sign-in; its id and the second factors it showed stay."""
    current = session_sign_in_method(request) or {"factors": []}
    request.session[SIGN_IN_METHOD_SESSION_KEY] = {**current, "method": method, "provider_id": provider_id}


def session_sign_in_method(request) -> dict | None:
    value = request.session.get(SIGN_IN_METHOD_SESSION_KEY) if hasattr(request, "session") else None
    return value if isinstance(value, dict) else None
