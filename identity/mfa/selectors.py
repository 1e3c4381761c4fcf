"""What second factors a person has, for their account page and the admin."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.conf import settings


def second_factor_types(user) -> set[str]:
    """The kinds of second factor `user` has that can be shown (TOTP, passkeys); recovery codes only stand in
    for them."""
    kinds = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)
    return set(Authenticator.objects.filter(user_id=user.pk, type__in=kinds).values_list("type", flat=True))


def second_factors_of(user) -> dict:
    """{"blocked": may add none yet (second_factor_blocked), "totp": on?, "passkeys": how many,
    "recovery_codes": unused codes (None without any)}: two queries."""
    rows = list(Authenticator.objects.filter(user_id=user.pk))
    codes = next((row for row in rows if row.type == Authenticator.Type.RECOVERY_CODES), None)
    return {
        "blocked": second_factor_blocked(user),
        "totp": any(row.type == Authenticator.Type.TOTP for row in rows),
        "passkeys": sum(row.type == Authenticator.Type.WEBAUTHN for row in rows),
        "recovery_codes": len(codes.wrap().get_unused_codes()) if codes is not None else None,
    }


def second_factor_blocked(user) -> bool:
    """allauth refuses a new factor while an address of the account is unverified (MFA_ALLOW_UNVERIFIED_EMAIL):
    someone who registered another person's address must not lock its owner out with their own factor. The
    pages say so (and offer the link again) instead of sending the person round in a circle."""
    if getattr(settings, "MFA_ALLOW_UNVERIFIED_EMAIL", False):
        return False
    return EmailAddress.objects.filter(user_id=user.pk, verified=False).exists()
