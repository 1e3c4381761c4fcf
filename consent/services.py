"""Consent rules: when to ask, what to record, and what revoking does."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction

from applications.events.services import event_record
from applications.models import Application
from applications.services import user_tokens_revoke
from consent.models import Consent
from identity import audit


def consent_granted_scopes(*, user, application: Application) -> set[str]:
    scopes = Consent.objects.filter(user=user, application=application).values_list("scopes", flat=True).first()
    return set(scopes or ())


def consent_new_scopes(*, user, application: Application, scopes: Iterable[str]) -> list[str]:
    """The requested scopes the user has not yet granted this application, in request order."""
    granted = consent_granted_scopes(user=user, application=application)
    return [scope for scope in scopes if scope not in granted]


def consent_required(
    *, user, application: Application, scopes: Iterable[str], prompt: set[str], new_scopes: list[str] | None = None
) -> bool:
    """Ask when prompt=consent, or when the app is not trusted and asks for anything not yet granted.

    `new_scopes`: consent_new_scopes() of the same request, when the caller has it already (one query less).
    """
    if "consent" in prompt:
        return True
    if application.trusted:
        return False
    if new_scopes is None:
        new_scopes = consent_new_scopes(user=user, application=application, scopes=scopes)
    return bool(new_scopes)


def consent_grant(*, user, application: Application, scopes: Iterable[str]) -> Consent:
    """Record the union of what was granted before and `scopes`; `consent.granted` (every scope now
    granted) when that grew, in the same transaction."""
    wanted = set(scopes)
    for _ in range(2):  # a concurrent first grant of the same pair loses the insert once, then updates
        try:
            with transaction.atomic():
                consent, created = Consent.objects.select_for_update().get_or_create(
                    user=user, application=application, defaults={"scopes": sorted(wanted)}
                )
                grew = created
                if not created and not wanted <= set(consent.scopes):
                    consent.scopes = sorted(wanted | set(consent.scopes))
                    consent.save(update_fields=["scopes", "updated_at"])
                    grew = True
                if grew:
                    event_record(
                        type="consent.granted",
                        application=application,
                        payload={
                            "user_id": str(user.public_id),
                            "client_id": application.client_id,
                            "scopes": sorted(consent.scopes),
                        },
                    )
                return consent
        except IntegrityError:
            continue
    raise RuntimeError("consent could not be recorded")  # pragma: no cover


def consent_revoke(*, actor, user, application: Application) -> bool:
    """Forget the consent and revoke the app's tokens for this user at once; False if there was none."""
    with transaction.atomic():
        consent = Consent.objects.filter(user=user, application=application).first()
        if consent is not None:
            audit.record(
                actor=actor,
                action="consent.revoked",
                target=consent,
                target_label=f"{user.email} → {application.name}",
                before={"user": user.email, "application": application.name, "scopes": sorted(consent.scopes)},
            )
            event_record(
                type="consent.revoked",
                application=application,
                payload={"user_id": str(user.public_id), "client_id": application.client_id},
            )
            consent.delete()
        user_tokens_revoke(user=user, application=application, reason="consent_revoked")
    return consent is not None
