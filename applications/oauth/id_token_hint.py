"""`id_token_hint`: an ID token this server issued, presented back by a client.

The one verifier for both endpoints that take it: authorization (OIDC Core §3.1.2.1) and end
session (RP-Initiated Logout §2). A hint is trusted for its signature (key found by `kid`, so a
key retired by rotation but still published verifies), its issuer and its audience, not for its
database row: cleartokens deletes the rows of expired ID tokens, and both specs accept expired
ones as hints.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from django.http import HttpRequest
from jwcrypto import jwt
from jwcrypto.common import JWException
from oauth2_provider.settings import oauth2_settings

MAX_HINT_LENGTH = 8192


@dataclass(frozen=True)
class VerifiedHint:
    """What a hint this server signed says: the client it was issued to and the user's public id."""

    audience: str
    subject: uuid.UUID


def id_token_hint_verify(*, hint: str, request: HttpRequest, accept_expired: bool = True) -> VerifiedHint | None:
    """The verified hint; None for anything this server did not sign as its issuer for one client."""
    if not hint or len(hint) > MAX_HINT_LENGTH:
        return None
    validator = oauth2_settings.OAUTH2_VALIDATOR_CLASS()
    claims = _claims(hint=hint, issuer=validator.get_oidc_issuer_endpoint(request), accept_expired=accept_expired)
    if claims is None:
        return None
    audience = _audience(claims)
    try:
        subject = uuid.UUID(str(claims.get("sub")))
    except ValueError:
        return None
    return VerifiedHint(audience=audience, subject=subject) if audience is not None else None


def _claims(*, hint: str, issuer: str, accept_expired: bool = True) -> dict | None:
    """The claims of an ID token this server signed as `issuer`; None for anything else."""
    key = oauth2_settings.OAUTH2_VALIDATOR_CLASS()._get_key_for_token(hint)
    if key is None:
        return None
    algorithm = key.get("alg")
    try:
        token = jwt.JWT(
            jwt=hint,
            key=key,
            algs=[algorithm] if algorithm else None,
            check_claims={} if accept_expired else None,
            expected_type="JWS",
        )
        claims = json.loads(token.claims)
    except (JWException, ValueError, TypeError):
        return None
    if not isinstance(claims, dict) or claims.get("iss") != issuer:
        return None
    return claims


def _audience(claims: dict) -> str | None:
    """The client the ID token was issued to (OIDC Core §2: `aud`, or `azp` when there are several)."""
    audience = claims.get("aud")
    if isinstance(audience, list):
        party = claims.get("azp")
        if len(audience) == 1:
            audience = audience[0]
        elif isinstance(party, str) and party in audience:
            audience = party
        else:
            return None
    return audience if isinstance(audience, str) and audience else None
