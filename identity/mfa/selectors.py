"""What second factors a person has, for their account page and the admin."""

from __future__ import annotations

from allauth.mfa.models import Authenticator


def second_factors_of(user) -> dict:
    """{"totp": on?, "passkeys": how many, "recovery_codes": unused codes (None without any)}: one query."""
    rows = list(Authenticator.objects.filter(user_id=user.pk))
    codes = next((row for row in rows if row.type == Authenticator.Type.RECOVERY_CODES), None)
    return {
        "totp": any(row.type == Authenticator.Type.TOTP for row in rows),
        "passkeys": sum(row.type == Authenticator.Type.WEBAUTHN for row in rows),
        "recovery_codes": len(codes.wrap().get_unused_codes()) if codes is not None else None,
    }
