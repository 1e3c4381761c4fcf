"""Access tokens bound to API resources: the audience of a token request, and JWT access tokens (RFC 9068).

A token request's resources (RFC 8707 `resource`, or `audience` for client credentials) are settled by
the validator before the token is made (`audience_for`): oauthlib asks for the lifetime first
(policies.access_token_expires_in), then for the value (ACCESS_TOKEN_GENERATOR, `access_token_value`),
and both depend on the resources. When every resource issues JWTs, the value is a signed JWT; else it
is today's random opaque value. A client-credentials JWT is never stored (LatchkeyValidator.save_bearer_token);
a user's JWT keeps its row, which its refresh token and per-token revocation need.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone
from jwcrypto import jws, jwt
from jwcrypto.common import JWException

from applications.models import AccessTokenFormat
from applications.oauth import keys, memo
from applications.oauth.revocations import token_revoked
from applications.oauth.token_values import random_token
from applications.selectors import ScopeTerms, usable_scope_terms
from identity.organizations.constants import ORGANIZATION_SCOPE

JWT_TYPE = "at+jwt"  # RFC 9068 §2.1


def scope_terms(request, client) -> list[ScopeTerms]:
    """The client's usable scopes with their resources' token settings, read once per token request."""
    cached = getattr(request, "latchkey_scope_terms", None)
    if cached is None or cached[0] != client.pk:
        terms = memo.remembered(("scope-terms", client.pk), lambda: tuple(usable_scope_terms(client)))
        cached = (client.pk, list(terms))
        request.latchkey_scope_terms = cached
    return cached[1]


@dataclass(frozen=True)
class Audience:
    """The API resources one token is for (empty: no `resource`, today's behaviour)."""

    resources: tuple[ScopeTerms, ...] = ()

    @property
    def identifiers(self) -> list[str]:
        return [resource.resource for resource in self.resources]

    @property
    def is_jwt(self) -> bool:
        # policies.resource_error refuses a mix of formats, so the first resource speaks for all.
        return bool(self.resources) and all(r.access_token_format == AccessTokenFormat.JWT for r in self.resources)

    @property
    def ttl(self) -> int | None:
        """The shortest lifetime any of the resources sets, or None."""
        ttls = [r.access_token_ttl for r in self.resources if r.access_token_ttl]
        return min(ttls) if ttls else None

    @property
    def signing_alg(self) -> str:
        return self.resources[0].signing_alg


NO_AUDIENCE = Audience()


def audience_for(request) -> Audience:
    """The resources of the token being issued, settled and checked once per request.

    The validator's resource rules (`_check_and_set_request_resource`: inherited from the code or the
    refresh token, each one the client's, formats not mixed) run here, before the token exists; they
    run again when it is saved and find the same list.
    """
    cached = getattr(request, "latchkey_audience", None)
    if cached is not None:
        return cached
    validator = getattr(request, "latchkey_validator", None)
    if validator is None:  # not through the token endpoint's validator (which sets it in validate_grant_type)
        from oauth2_provider.settings import oauth2_settings

        validator = oauth2_settings.OAUTH2_VALIDATOR_CLASS()
    validator._check_and_set_request_resource(request)
    identifiers = list(dict.fromkeys(request.resource or []))
    if not identifiers:
        audience = NO_AUDIENCE
    else:
        # Checked: every identifier is a resource of one of the client's scopes (policies.resource_error).
        terms = {t.resource: t for t in scope_terms(request, request.client) if t.resource}
        audience = Audience(tuple(terms[i] for i in identifiers if i in terms))
    request.latchkey_audience = audience
    return audience


def access_token_value(request, refresh_token: bool = False) -> str:
    """django-oauth-toolkit's ACCESS_TOKEN_GENERATOR: a JWT for JWT resources, else a random value."""
    audience = audience_for(request)
    if not audience.is_jwt:
        return random_token(request)
    return _sign(_claims(request, audience), audience.signing_alg)


def is_client_credentials_jwt(request) -> bool:
    """A client-credentials token that is a JWT: nothing about it is written to the database."""
    return request.grant_type == "client_credentials" and audience_for(request).is_jwt


def _claims(request, audience: Audience) -> dict:
    now = int(timezone.now().timestamp())
    client = request.client
    user = request.user if request.grant_type != "client_credentials" else None
    identifiers = audience.identifiers
    claims: dict = {
        "iss": settings.LATCHKEY_ISSUER,
        # RFC 9068 §2.2: sub is the resource owner, or the client itself when there is none.
        "sub": str(user.public_id) if user is not None else client.client_id,
        "aud": identifiers[0] if len(identifiers) == 1 else identifiers,
        "client_id": client.client_id,
        "scope": " ".join(request.scopes or []),
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + int(request.expires_in),
    }
    auth_time = getattr(request, "latchkey_auth_time", None)
    if user is not None and auth_time is not None:
        claims["auth_time"] = int(auth_time.timestamp())
    if user is not None and (amr := getattr(request, "latchkey_amr", None)):
        claims["amr"] = amr.split()
    if user is not None and "roles" in (request.scopes or []):
        claims["roles"] = sorted(user.roles.values_list("name", flat=True))
    organization_id = getattr(request, "latchkey_organization_id", None)
    if user is not None and organization_id is not None and ORGANIZATION_SCOPE in (request.scopes or []):
        claims["organization_id"] = str(organization_id)  # issue 19: the sign-in's current organisation
    return claims


def _sign(claims: dict, algorithm: str) -> str:
    signer = keys.current().signer(algorithm)
    header = {**signer.header, "typ": JWT_TYPE}
    token = jwt.JWT(header=json.dumps(header), claims=json.dumps(claims))
    token.make_signed_token(signer.jwk)
    return token.serialize()


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def verified_claims(token: str) -> dict | None:
    """The claims of a JWT access token we signed that is still good; None for anything else.

    Good: a key of ours (any key in the JWKS) signed it as `at+jwt`, its issuer is ours, it has not
    expired, and no revocation keyed by its subject or its client came at or after its `iat`
    (applications.oauth.revocations). Whether the caller may see it is the caller's question.
    """
    try:
        unverified = jws.JWS()
        unverified.deserialize(token)
        header = unverified.jose_header
    except (JWException, ValueError, TypeError):
        return None
    if not isinstance(header, dict) or header.get("typ") != JWT_TYPE:
        return None  # an ID token or anything else: never an access token (RFC 9068 §4)
    key = keys.key_for_kid(header.get("kid"))
    if key is None:
        return None
    try:
        verified = jwt.JWT(jwt=token, key=key, algs=["ES256", "RS256"], check_claims=False)
        claims = json.loads(verified.claims)
    except (JWException, ValueError, TypeError):
        return None
    if not isinstance(claims, dict) or claims.get("iss") != settings.LATCHKEY_ISSUER:
        return None
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int) or not isinstance(iat, int):
        return None
    # No clock leeway: the clock that set `exp` is the one reading it (a resource server's leeway is its own).
    if exp <= timezone.now().timestamp():
        return None
    subject = claims.get("sub") if claims.get("sub") != claims.get("client_id") else None
    issued_at = datetime.fromtimestamp(iat, tz=UTC)
    if token_revoked(subject=subject, client_id=str(claims.get("client_id")), issued_at=issued_at):
        return None
    return claims


def audiences_of(claims: dict) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    return [a for a in aud if isinstance(a, str)] if isinstance(aud, list) else []
