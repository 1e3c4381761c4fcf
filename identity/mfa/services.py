"""Second-factor changes: audit rows and events (for webhooks), and an admin's reset of a user's factors.

allauth's flows add and remove factors on the person's own account page; its signals
(`authenticator_added`, `_removed`, `_reset`) reach `factor_changed` here, which records the change as
the person's own (allauth sends `authenticator_added` once the new factor has committed, so that record
is a transaction of its own). An admin's reset goes through `second_factors_reset` (acting_user audited; the person
gets a notice by email).
"""

from __future__ import annotations

from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.mfa.models import Authenticator
from django.db import transaction

from applications.events.services import event_record
from identity import audit
from identity.models import User

ADDED, REMOVED, RESET = "second_factor_added", "second_factor_removed", "second_factors_reset"
# What events call allauth's authenticator types.
FACTOR_NAMES = {
    Authenticator.Type.TOTP: "totp",
    Authenticator.Type.WEBAUTHN: "passkey",
    Authenticator.Type.RECOVERY_CODES: "recovery_codes",
}


def factor_changed(*, actor, user: User, authenticator: Authenticator, change: str) -> None:
    """One change to one factor: `user.second_factor_added` / `_removed` (recovery codes regenerated count
    as added), with the factor's kind, never its secret."""
    factor = FACTOR_NAMES.get(authenticator.type, str(authenticator.type))
    with transaction.atomic():
        audit.record(
            actor=actor, action=f"user.{change}", target=user, extra={"second_factor": {"old": None, "new": factor}}
        )
        event_record(type=f"user.{change}", payload={"user_id": str(user.public_id), "factor": factor})


def second_factors_reset(*, actor, user: User) -> int:
    """An admin removes every second factor of `user` (a lost phone and lost recovery codes): they sign in
    with their password alone again and may enrol new ones. Audited, an event, and a notice to the person.
    Returns how many factors were removed (0: nothing happened, nothing recorded)."""
    with transaction.atomic():
        removed = list(Authenticator.objects.select_for_update().filter(user_id=user.pk).values_list("type", flat=True))
        if not removed:
            return 0
        Authenticator.objects.filter(user_id=user.pk).delete()
        factors = sorted({FACTOR_NAMES.get(t, str(t)) for t in removed})
        audit.record(
            actor=actor, action=f"user.{RESET}", target=user, extra={"second_factors": {"old": factors, "new": []}}
        )
        event_record(type=f"user.{RESET}", payload={"user_id": str(user.public_id), "factors": factors})
        transaction.on_commit(
            lambda: get_account_adapter().send_notification_mail("identity/email/second_factors_reset", user),
            robust=True,
        )
    return len(removed)


def on_authenticator_added(sender, request, user, authenticator, **kwargs) -> None:
    factor_changed(actor=user, user=user, authenticator=authenticator, change=ADDED)


def on_authenticator_removed(sender, request, user, authenticator, **kwargs) -> None:
    factor_changed(actor=user, user=user, authenticator=authenticator, change=REMOVED)


def on_authenticator_reset(sender, request, user, authenticator, **kwargs) -> None:
    factor_changed(actor=user, user=user, authenticator=authenticator, change=ADDED)
