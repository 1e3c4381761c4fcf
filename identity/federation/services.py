"""Writes of sign-in providers: each checks identity.federation.policies and is audited in its transaction.

`fields` uses the API's names; `client_secret` and `private_key` are plaintext here and encrypted
before they reach the row. A secret that is absent (or None) is left as it is, so a client that
never reads secrets back can still replace a provider with PUT; "" clears it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from applications.events.services import event_record
from identity import audit
from identity.federation import policies, selectors
from identity.federation.models import Provider

WRITABLE = ("type", "client_id", "team_id", "key_id", "issuer", "display_name", "claim_mapping", "enabled")
SECRETS = ("client_secret", "private_key")


def apply_fields(provider: Provider, fields: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Set `fields` on `provider` (unsaved; the admin form also checks a copy with it); returns the audit
    `extra` naming the secrets that changed (never their values)."""
    unknown = set(fields) - set(WRITABLE) - set(SECRETS)
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
    for name in WRITABLE:
        if name in fields:
            value = fields[name]
            if name == "issuer":
                value = policies.normalize_issuer(value or "")
            elif name == "claim_mapping":
                value = value or {}
            elif name != "enabled":
                value = (value or "").strip() if isinstance(value, str) or value is None else value
            setattr(provider, name, value)
    changed = {}
    for name in SECRETS:
        value = fields.get(name)
        if value is None:
            continue
        if name == "client_secret":
            provider.client_secret_encrypted = ""
            if value:
                provider.set_client_secret(value)
        else:
            provider.private_key_encrypted = ""
            if value.strip():
                provider.set_private_key(value.strip() + "\n")
        changed[name] = audit.SECRET_CHANGED
    return changed


def _check(provider: Provider, *, previous_type: str | None = None) -> None:
    errors = policies.provider_errors(provider, previous_type=previous_type)
    if errors:
        raise ValidationError(errors)


def _label(provider: Provider) -> str:
    return f"{provider.application.name}: {provider.label}"


def provider_create(*, actor, application, fields: dict[str, Any]) -> Provider:
    provider = Provider(application=application)
    extra = apply_fields(provider, fields)
    if provider.type == Provider.Type.OIDC and not provider.display_name and provider.issuer:
        provider.display_name = provider.issuer.split("//", 1)[-1].split("/", 1)[0][:100]
    _check(provider)
    with transaction.atomic():
        provider.save()
        audit.record(
            actor=actor,
            action="provider.created",
            target=provider,
            target_label=_label(provider),
            after=selectors.provider_state(provider),
            extra=extra,
        )
    return provider


def provider_update(*, actor, provider: Provider, fields: dict[str, Any]) -> Provider:
    before = selectors.provider_state(provider)
    previous_type = provider.type
    extra = apply_fields(provider, fields)
    _check(provider, previous_type=previous_type)
    with transaction.atomic():
        provider.save()
        audit.record(
            actor=actor,
            action="provider.updated",
            target=provider,
            target_label=_label(provider),
            before=before,
            after=selectors.provider_state(provider),
            extra=extra,
            only_if_changed=True,
        )
    return provider


def provider_delete(*, actor, provider: Provider) -> None:
    if problem := policies.provider_removal_error(provider):
        raise ValidationError(problem, code="in_use")
    with transaction.atomic():
        audit.record(
            actor=actor,
            action="provider.deleted",
            target=provider,
            target_label=_label(provider),
            before=selectors.provider_state(provider),
        )
        provider.delete()


def identity_disconnect(*, actor, user, account_id: int) -> None:
    """Remove one of the user's connected identities, never their last way to sign in (a usable password
    or another connected identity must remain). The user row is locked, so two removals at once cannot
    both see "another one remains" and leave none."""
    from allauth.socialaccount.models import SocialAccount
    from django.contrib.auth import get_user_model

    with transaction.atomic():
        locked = get_user_model().objects.select_for_update().get(pk=user.pk)
        account = SocialAccount.objects.filter(user=locked, pk=account_id).first()
        if account is None:
            raise ValidationError("No such connected identity.", code="not_found")
        others = SocialAccount.objects.filter(user=locked).exclude(pk=account.pk).exists()
        if not others and not locked.has_usable_password():
            raise ValidationError(
                "This is your only way to sign in: set a password or connect another identity first.",
                code="last_method",
            )
        state = {"provider": account.provider, "uid": account.uid}
        account.delete()
        audit.record(actor=actor, action="identity.unlinked", target=locked, target_type="user", before=state)
        event_record(
            type="identity.unlinked",
            payload={"user_id": str(locked.public_id), "provider": provider_type_of(account.provider)},
        )


def provider_type_of(allauth_provider: str) -> str:
    """The Provider.Type an allauth provider id stands for (generic OIDC ones are `oidc-<issuer hash>`)."""
    from identity.federation.adapter import ALLAUTH_PROVIDER

    if allauth_provider.startswith("oidc-"):
        return Provider.Type.OIDC.value
    names = {name: str(kind) for kind, name in ALLAUTH_PROVIDER.items()}
    return names.get(allauth_provider, allauth_provider)


def identity_linked(*, user, account, provider: Provider | None) -> None:
    """A provider identity now signs in to `user`: a new account made from it, or linked to an existing
    one. Recorded on the user, with the application whose provider it came through (client_id)."""
    state = {"provider": account.provider, "uid": account.uid}
    payload = {"user_id": str(user.public_id), "provider": provider_type_of(account.provider)}
    if provider is not None:
        state.update(client_id=provider.application.client_id, provider_id=provider.pk)
        payload.update(provider=str(provider.type), client_id=provider.application.client_id, provider_id=provider.pk)
    with transaction.atomic():
        audit.record(actor=user, action="identity.linked", target=user, target_type="user", after=state)
        event_record(type="identity.linked", payload=payload)
