"""OpenID Connect claims per scope (OIDC Core §5.4), from the user's profile and roles."""

from __future__ import annotations

from identity.mfa.factors import PASSKEY, amr_values
from identity.models import User

CLAIMS_BY_SCOPE = {
    "profile": ("name", "given_name", "family_name", "picture"),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
    "roles": ("roles",),
}
SUPPORTED_CLAIMS = (
    ["sub", "iss", "aud", "exp", "iat", "auth_time", "amr", "acr", "nonce", "at_hash"]
    + [claim for claims in CLAIMS_BY_SCOPE.values() for claim in claims]
    + ["organization_id", "organization"]
)  # scope `organization` (identity.organizations.sign_in)


# The ID token's `amr` (RFC 8176): how the person signed in to us.
AMR_PASSWORD = "pwd"  # RFC 8176 §2: a password (the sign-in page, or the admin's login)
# Not an RFC 8176 value (it has none for this): signed in at another identity provider, one of the
# application's sign-in providers. The value Microsoft Entra ID documents for a federated sign-in.
AMR_FEDERATED = "fed"


# OpenID's multi-factor policy URI (PAPE), the `acr` value Auth0, Okta and others use for "a second factor":
# asked for in `acr_values`, it requires one; the ID token says it when the sign-in showed two factors.
ACR_MFA = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"


def amr_for(sign_in: dict | None) -> str:
    """The `amr` values (space-separated, as the Grant keeps them) for a session's sign-in.

    The first factor (a password, another identity provider, or a passkey alone: "hwk"/"swk"), the second
    factors shown since ("otp", "hwk", "swk"), and "mfa" when there were two (identity.mfa.factors). A session
    with no recorded method signed in before methods were recorded: by password.
    """
    sign_in = sign_in or {}
    method = sign_in.get("method") or "password"
    if method == PASSKEY:
        first = sign_in.get("key") or "hwk"
    else:
        first = AMR_FEDERATED if method == "provider" else AMR_PASSWORD
    return " ".join(amr_values(sign_in, first))


def acr_for(amr: str | None) -> str | None:
    """The ID token's `acr`: the multi-factor policy when the sign-in showed two factors; None otherwise."""
    return ACR_MFA if amr and "mfa" in amr.split() else None


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
