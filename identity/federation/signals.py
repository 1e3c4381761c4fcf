"""allauth signal receivers: the session remembers that the person signed in with a provider, and which
(identity.auth_time); a newly connected identity is audited."""

from __future__ import annotations

from identity.auth_time import record_sign_in_method


def record_provider_sign_in(sender, request, user, sociallogin=None, **kwargs) -> None:
    """allauth's user_logged_in receiver: a sign-in that came through a provider records it."""
    from identity.federation.adapter import STATE_PROVIDER

    if sociallogin is None or request is None or not hasattr(request, "session"):
        return
    provider_id = (sociallogin.state or {}).get(STATE_PROVIDER)
    if provider_id is not None:
        record_sign_in_method(request, method="provider", provider_id=provider_id)


def record_identity_linked(sender, request, sociallogin, **kwargs) -> None:
    """allauth's social_account_added receiver: an upstream identity linked to an existing account."""
    from identity.federation.adapter import provider_of
    from identity.federation.services import identity_linked

    identity_linked(user=sociallogin.user, account=sociallogin.account, provider=provider_of(sociallogin))
