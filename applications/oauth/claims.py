"""OpenID Connect claims per scope (OIDC Core §5.4), from the user's profile and roles."""

from __future__ import annotations

from identity.models import User

CLAIMS_BY_SCOPE = {
    "profile": ("name", "given_name", "family_name", "picture"),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
    "roles": ("roles",),
}
SUPPORTED_CLAIMS = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash"] + [
    claim for claims in CLAIMS_BY_SCOPE.values() for claim in claims
]


def user_claims(user: User, scopes: list[str] | set[str]) -> dict:
    """The claims `scopes` release about `user`; `sub` is the public UUID, never the database id."""
    claims: dict = {"sub": str(user.public_id)}
    if "profile" in scopes:
        claims.update(
            name=user.get_full_name(),
            given_name=user.given_name,
            family_name=user.family_name,
            picture=user.picture,
        )
        claims = {k: v for k, v in claims.items() if v != ""}
    if "email" in scopes:
        claims.update(email=user.email, email_verified=user.email_verified)
    if "phone" in scopes and user.phone_number:
        claims.update(phone_number=user.phone_number, phone_number_verified=user.phone_number_verified)
    if "roles" in scopes:
        claims["roles"] = sorted(user.roles.values_list("name", flat=True))
    return claims
