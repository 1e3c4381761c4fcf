"""Second factors as a person sets them up and uses them: through the pages, never by writing rows."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

PASSWORD = "correct horse battery staple"  # tests.identity.factories.UserFactory


def totp_code(secret: str, step: int = 0) -> str:
    """The authenticator app's code now (`step` periods later: a fresh code where one was just used)."""
    counter = list(yield_hotp_counters_from_time())
    current = counter[len(counter) // 2]
    return format_hotp_value(hotp_value(secret, current + step))


def sign_in(client, user, next_url: str = ""):
    data = {"username": user.email, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post("/login", data)


def enrol_totp(client, user, next_url: str = "") -> str:
    """Signed in (by password, just now), turn on an authenticator app from the account page: its secret."""
    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    page = client.get(f"/account/2fa/totp/activate/{query}")
    assert page.status_code == 200, page.get("Location")
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page.content.decode()).group(1)
    response = client.post(f"/account/2fa/totp/activate/{query}", {"code": totp_code(secret)})
    assert response.status_code == 302, response.content.decode()
    return secret
