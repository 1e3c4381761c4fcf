"""What an upstream identity provider's answer says about the person, and how far we believe it.

allauth turns each provider's answer into a SocialLogin (its `account.uid`, `account.extra_data` and
`email_addresses`); `profile_of` reads that into one shape (sub, email, email_verified, name,
picture) for every provider type, so the decisions below are made in one place.

The trust table: may this provider's "the email is verified" link a first sign-in to an existing
Latchkey account with that address (and make our `email_verified` true on a new one)?

    type        verified flag we read                      trusted to link
    google      email_verified (ID token / userinfo)       yes (Google owns the address or verified it)
    github      /user/emails `verified` of the address     yes (GitHub verified that address)
    apple       email_verified (ID token); relay           yes (relay addresses are real addresses)
                addresses (privaterelay.appleid.com) too
    discord     `verified` of the user                     yes (Discord verified the address)
    microsoft   none                                       NO: `email` is a mutable, unverified claim
                                                           any tenant admin can set (the nOAuth trap)
    oidc        the mapped email_verified claim            yes, when the claim is true (the operator
                                                           chose the issuer and the mapping)

An untrusted or unverified email never links and never counts as verified; the person is told to sign
in to the existing account another way (connecting a provider to a signed-in account is not offered yet).
"""

from __future__ import annotations

from dataclasses import dataclass

from identity.federation import policies
from identity.federation.models import Provider

TRUSTED_EMAIL_TYPES = frozenset(
    {Provider.Type.GOOGLE, Provider.Type.GITHUB, Provider.Type.APPLE, Provider.Type.DISCORD, Provider.Type.OIDC}
)


@dataclass(frozen=True)
class Profile:
    """The person as the upstream describes them; `email_verified` already passed through the trust table."""

    sub: str
    email: str
    email_verified: bool
    name: str
    picture: str


def _truthy(value) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _oidc_claims(extra_data: dict) -> dict:
    """allauth keeps {"userinfo": ..., "id_token": ...}; userinfo wins where both say something."""
    merged = dict(extra_data.get("id_token") or {})
    merged.update(extra_data.get("userinfo") or {})
    return merged


def profile_of(provider: Provider, sociallogin) -> Profile:
    data = sociallogin.account.extra_data or {}
    kind = provider.type
    if kind == Provider.Type.OIDC:
        claims, mapping = _oidc_claims(data), policies.claim_mapping(provider)
        email = str(claims.get(mapping["email"]) or "")
        verified = _truthy(claims.get(mapping["email_verified"]))
        name = str(claims.get(mapping["name"]) or "")
        picture = str(claims.get(mapping["picture"]) or "")
    else:
        primary = next((a for a in sociallogin.email_addresses if a.primary), None)
        address = primary or (sociallogin.email_addresses[0] if sociallogin.email_addresses else None)
        email = address.email if address else str(data.get("email") or "")
        verified = bool(address and address.verified)
        if kind == Provider.Type.GITHUB:
            name, picture = data.get("name") or data.get("login") or "", data.get("avatar_url") or ""
        elif kind == Provider.Type.DISCORD:
            name = data.get("global_name") or data.get("username") or ""
            avatar = data.get("avatar")
            picture = f"https://cdn.discordapp.com/avatars/{data.get('id')}/{avatar}.png" if avatar else ""
        elif kind == Provider.Type.MICROSOFT:
            name, picture = data.get("displayName") or data.get("name") or "", ""
        else:  # google, apple (ID token or userinfo claims)
            name, picture = data.get("name") or "", data.get("picture") or ""
            if isinstance(name, dict):  # Apple sends {"firstName": ..., "lastName": ...} on first sign-in
                name = " ".join(filter(None, (name.get("firstName"), name.get("lastName"))))
    return Profile(
        sub=str(sociallogin.account.uid),
        email=email.strip(),
        email_verified=bool(email) and verified and kind in TRUSTED_EMAIL_TYPES,
        name=str(name)[:255],
        picture=str(picture)[:500] if str(picture).startswith("https://") else "",
    )
