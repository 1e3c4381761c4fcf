"""The rules of sign-in providers, in one place: the API, the admin, `manage.py app` and config import
all save through identity.federation.services, which asks `provider_errors` before every write.

- one provider per type per application, except generic OpenID Connect providers, several of which
  may coexist when their issuers differ (a second of a kind is a conflict: 409 in the API);
- an enabled provider has its credentials: a client secret, or for Apple the team id, key id and
  private key from which Latchkey signs Apple's client secret (a provider without them may be saved
  disabled, e.g. by a config import that carries no secrets);
- a generic OpenID Connect provider names its issuer, an https URL the outbound-request guard would
  call (config.outbound.check_url: no loopback, private or metadata address, no user:password@; http
  and private addresses only with LATCHKEY_OUTBOUND_ALLOW_PRIVATE), without query or fragment; its
  discovery document is issuer + DISCOVERY_PATH (OpenID Connect Discovery §4);
- the type of a provider never changes (delete it and add another).

Claim mapping (generic OpenID Connect only): which claim of the upstream's ID token/userinfo gives
each of our user's attributes. Defaults: DEFAULT_CLAIM_MAPPING (the standard claim names); an
operator overrides any of them, e.g. {"email": "upn", "name": "display_name"}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from config import outbound

if TYPE_CHECKING:
    from identity.federation.models import Provider

DISCOVERY_PATH = "/.well-known/openid-configuration"
DEFAULT_CLAIM_MAPPING = {
    "sub": "sub",
    "email": "email",
    "email_verified": "email_verified",
    "name": "name",
    "picture": "picture",
}
CLAIM_NAME_MAX = 100


def normalize_issuer(issuer: str) -> str:
    """The issuer as compared and stored: surrounding space and a trailing slash removed."""
    return issuer.strip().rstrip("/")


def discovery_url(provider: Provider) -> str:
    return f"{provider.issuer}{DISCOVERY_PATH}" if provider.issuer else ""


def claim_mapping(provider: Provider) -> dict[str, str]:
    """The mapping in effect: the defaults with the provider's overrides."""
    return {**DEFAULT_CLAIM_MAPPING, **(provider.claim_mapping or {})}


def issuer_problem(issuer: str) -> str | None:
    try:
        outbound.check_url(issuer)
    except outbound.OutboundRefused as refused:
        return refused.reason
    parts = urlsplit(issuer)
    if parts.query or parts.fragment:
        return "The issuer must not have a query or fragment."
    return None


def claim_mapping_problems(mapping) -> list[str]:
    if not isinstance(mapping, dict):
        return ["The claim mapping must be an object of attribute → claim name."]
    problems = []
    for attribute, claim in mapping.items():
        if attribute not in DEFAULT_CLAIM_MAPPING:
            problems.append(f"Unknown attribute {attribute!r}; use {', '.join(DEFAULT_CLAIM_MAPPING)}.")
        elif not isinstance(claim, str) or not claim.strip() or len(claim) > CLAIM_NAME_MAX:
            problems.append(f"The claim name for {attribute!r} must be a non-empty string.")
    return problems


def provider_errors(provider: Provider, *, previous_type: str | None = None) -> dict[str, list[ValidationError]]:
    """Field → problems of `provider` as it would be saved (empty: it may be). Conflicts carry code "unique"."""
    from identity.federation.models import Provider

    errors: dict[str, list[ValidationError]] = {}

    def add(field: str, message: str, code: str = "invalid") -> None:
        errors.setdefault(field, []).append(ValidationError(message, code=code))

    if provider.type not in Provider.Type.values:
        add("type", f"Unknown provider type {provider.type!r}; use one of {', '.join(Provider.Type.values)}.")
        return errors
    if previous_type is not None and provider.type != previous_type:
        add("type", "A provider's type cannot change; delete it and add a new one.")
    if not provider.client_id.strip():
        add("client_id", "This field is required.")
    is_oidc, is_apple = provider.type == Provider.Type.OIDC, provider.type == Provider.Type.APPLE
    if is_oidc:
        if not provider.issuer:
            add("issuer", "A generic OpenID Connect provider needs its issuer URL.")
        elif problem := issuer_problem(provider.issuer):
            add("issuer", problem)
        for problem in claim_mapping_problems(provider.claim_mapping):
            add("claim_mapping", problem)
    else:
        for field in ("issuer", "display_name", "claim_mapping"):
            if getattr(provider, field):
                add(field, "Only a generic OpenID Connect provider (type oidc) has this field.")
    if is_apple and provider.client_secret_set:
        add("client_secret", "Latchkey signs Apple's client secret from the private key; send private_key instead.")
    if not is_apple:
        for field in ("team_id", "key_id"):
            if getattr(provider, field):
                add(field, "Only an Apple provider has this field.")
        if provider.private_key_set:
            add("private_key", "Only an Apple provider has this field.")
    if provider.enabled:
        if is_apple:
            for field, present in (("team_id", provider.team_id), ("key_id", provider.key_id)):
                if not present:
                    add(field, "Sign in with Apple needs this field.")
            if not provider.private_key_set:
                add("private_key", "Sign in with Apple needs its private key (.p8); or save the provider disabled.")
        elif not provider.client_secret_set:
            add("client_secret", "An enabled provider needs its client secret; or save it disabled.")
    if errors:
        return errors
    others = Provider.objects.filter(application_id=provider.application_id).exclude(pk=provider.pk)
    if is_oidc and others.filter(type=Provider.Type.OIDC, issuer=provider.issuer).exists():
        add("issuer", "This application already has a provider with this issuer.", code="unique")
    elif not is_oidc and others.filter(type=provider.type).exists():
        add("type", f"This application already has a {provider.get_type_display()} provider.", code="unique")
    return errors


def provider_removal_error(provider: Provider) -> str | None:
    """A provider its application lists in auth_methods stays until the list no longer names it: removing
    it would leave the list naming nothing or, as its only entry, empty, which accepts every method."""
    from applications.policies import auth_methods_listed

    if str(provider.pk) in (auth_methods_listed(provider.application) or []):
        return (
            f"The application lists this provider ({provider.pk}) in its auth_methods; "
            "remove it from auth_methods first."
        )
    return None
