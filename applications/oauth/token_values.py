"""The values of access and refresh tokens: django-oauth-toolkit's ACCESS_TOKEN_GENERATOR and
REFRESH_TOKEN_GENERATOR (settings.OAUTH2_PROVIDER)."""

from __future__ import annotations

import secrets

TOKEN_BYTES = 32


def random_token(request, refresh_token: bool = False) -> str:
    """256 bits from the operating system's CSPRNG, URL-safe base64 without padding (43 characters).

    oauthlib's default draws 30 characters with one SystemRandom.choice each: 30 reads of
    os.urandom for 178 bits, about 4% of a client-credentials request. One read gives more bits.
    Only the SHA-256 of a token is stored (COMPLIANT_BCP_RFC9700_TOKEN_STORAGE).
    """
    return secrets.token_urlsafe(TOKEN_BYTES)
