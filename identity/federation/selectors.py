"""Reads of sign-in providers."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from identity.federation import policies
from identity.federation.models import Provider


def providers_of(application) -> QuerySet[Provider]:
    return Provider.objects.filter(application=application).order_by("type", "pk")


def enabled_providers_of(application) -> QuerySet[Provider]:
    """What a sign-in page offers (the later sign-in engine reads this)."""
    return providers_of(application).filter(enabled=True)


def provider_state(provider: Provider) -> dict[str, Any]:
    """A provider as the API shows it, for audit records and exports: whether a secret is set, never it."""
    return {
        "type": provider.type,
        "client_id": provider.client_id,
        "client_secret_set": provider.client_secret_set,
        "team_id": provider.team_id,
        "key_id": provider.key_id,
        "private_key_set": provider.private_key_set,
        "issuer": provider.issuer,
        "discovery_url": policies.discovery_url(provider),
        "display_name": provider.display_name,
        "claim_mapping": dict(provider.claim_mapping or {}),
        "enabled": provider.enabled,
    }


def connected_identities(user) -> list[tuple[Any, str]]:
    """The user's connected upstream identities (allauth SocialAccounts), each with the name to show."""
    from allauth.socialaccount.models import SocialAccount

    from identity.federation.adapter import ALLAUTH_PROVIDER, allauth_provider_id

    accounts = list(SocialAccount.objects.filter(user=user).order_by("pk"))
    labels = {allauth_id: Provider.Type(kind).label for kind, allauth_id in ALLAUTH_PROVIDER.items()}
    if any(account.provider.startswith("oidc-") for account in accounts):
        for row in Provider.objects.filter(type=Provider.Type.OIDC).only("type", "issuer", "display_name"):
            labels.setdefault(allauth_provider_id(row), row.label)
    return [(account, labels.get(account.provider, "OpenID Connect")) for account in accounts]


def connectable_providers(user, *, client_id: str = "") -> list[Provider]:
    """What the account page offers to connect: the enabled providers of the applications the person has
    consented to, and of the application named by `client_id` (an unknown one adds nothing). One per
    upstream identity namespace (two apps' GitHub connect the same GitHub identity)."""
    from identity.federation.adapter import allauth_provider_id

    applications = Q(application__consents__user=user)
    if client_id:
        applications |= Q(application__client_id=client_id)
    rows = Provider.objects.filter(applications, enabled=True, application__is_active=True).distinct()
    offered: dict[str, Provider] = {}
    for row in rows.order_by("type", "pk"):
        offered.setdefault(allauth_provider_id(row), row)
    return list(offered.values())
