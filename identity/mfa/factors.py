"""Which second factors this session has shown, and the `amr` values (RFC 8176) they make.

The session's sign-in record (identity.auth_time) says how the person signed in: "password",
"provider", or "passkey" (a passkey alone, allauth's passwordless sign-in); its `factors` list the
second factors shown since, as `amr` values: "otp" (an authenticator app's code or a recovery
code) and "hwk"/"swk" (a security key: "swk" when the credential may be synced to other devices,
the WebAuthn backup-eligible flag; "hwk" when it is bound to one device).

allauth tells us a factor was used (`authenticator_used`) before its sign-in completes, so a factor
shown during a sign-in waits in the session (with the user it belongs to) until Django's
`user_logged_in` makes it part of the new sign-in record; after sign-in (a step-up, or enrolling a
factor, which proves it), it joins the current record at once.
"""

from __future__ import annotations

import json
import time

from allauth.mfa.models import Authenticator
from fido2.webauthn import AuthenticationResponse

OTP, HARDWARE_KEY, SOFTWARE_KEY = "otp", "hwk", "swk"
MFA = "mfa"  # RFC 8176 §2: more than one factor
PASSKEY = "passkey"  # the sign-in method of a passkey alone

PENDING_SESSION_KEY = "latchkey_factors_pending"
PENDING_SECONDS = 600


def factor_of(authenticator: Authenticator) -> str:
    """The `amr` value of an authenticator (allauth's row)."""
    if authenticator.type != Authenticator.Type.WEBAUTHN:
        return OTP
    data = authenticator.wrap().authenticator_data
    return SOFTWARE_KEY if data.is_backup_eligible() else HARDWARE_KEY


def assertion_user_verified(request) -> bool:
    """Did the passkey just presented verify the person (a PIN or biometric: the UV flag)? fido2 has checked
    the assertion's signature, which covers these flags; anything unreadable counts as not verified."""
    try:
        response = AuthenticationResponse.from_dict(json.loads(request.POST.get("credential", "")))
        return bool(response.response.authenticator_data.is_user_verified())
    except (TypeError, ValueError, KeyError, AttributeError):
        return False


def on_authenticator_used(sender, request, user, authenticator, reauthenticated=False, passwordless=False, **kwargs):
    """allauth's `authenticator_used`: a factor shown now, at sign-in (pending) or later (this sign-in's)."""
    if request is None or not hasattr(request, "session"):
        return
    entry = {"user": str(user.pk), "factor": factor_of(authenticator), "at": int(time.time())}
    if passwordless:
        entry.update(passwordless=True, user_verified=assertion_user_verified(request))
    if request.user.is_authenticated and request.user.pk == user.pk and not passwordless:
        factor_record(request, entry["factor"])
    else:
        request.session[PENDING_SESSION_KEY] = [*request.session.get(PENDING_SESSION_KEY, []), entry]


def on_authenticator_added(sender, request, user, authenticator, **kwargs):
    """Enrolling a factor proves it (a code from the app, a touch of the key): this sign-in has shown it."""
    if request is not None and hasattr(request, "session") and authenticator.type != Authenticator.Type.RECOVERY_CODES:
        factor_record(request, factor_of(authenticator))


def factor_record(request, factor: str) -> None:
    from identity.auth_time import SIGN_IN_METHOD_SESSION_KEY

    sign_in = dict(request.session.get(SIGN_IN_METHOD_SESSION_KEY) or {"method": "password", "provider_id": None})
    factors = list(sign_in.get("factors") or [])
    if factor not in factors:
        sign_in["factors"] = [*factors, factor]
        request.session[SIGN_IN_METHOD_SESSION_KEY] = sign_in


def pending_take(request, user) -> list[dict]:
    """The factors `user` showed during the sign-in that just completed (and no one else's, nor stale ones)."""
    pending = request.session.pop(PENDING_SESSION_KEY, [])
    now = time.time()
    return [
        entry
        for entry in pending
        if isinstance(entry, dict) and entry.get("user") == str(user.pk) and now - entry.get("at", 0) < PENDING_SECONDS
    ]


def sign_in_record(request, user) -> dict:
    """The new sign-in record for Django's `user_logged_in`: by password unless a passkey alone signed in."""
    shown = pending_take(request, user)
    passkey = next((entry for entry in reversed(shown) if entry.get("passwordless")), None)
    if passkey is not None:
        return {
            "method": PASSKEY,
            "provider_id": None,
            "key": passkey["factor"],
            "user_verified": bool(passkey.get("user_verified")),
            "factors": [],
        }
    factors = list(dict.fromkeys(entry["factor"] for entry in shown))
    return {"method": "password", "provider_id": None, "factors": factors}


def second_factor_shown(sign_in: dict | None) -> bool:
    """Has this sign-in shown two factors: a second factor, or a passkey that verified the person?"""
    sign_in = sign_in or {}
    if sign_in.get("factors"):
        return True
    return sign_in.get("method") == PASSKEY and bool(sign_in.get("user_verified"))


def amr_values(sign_in: dict | None, first: str) -> list[str]:
    """`first` (the first factor's value, e.g. "pwd"), then the second factors, then "mfa" when there are two."""
    sign_in = sign_in or {}
    values = [first, *[f for f in sign_in.get("factors") or [] if isinstance(f, str)]]
    if second_factor_shown(sign_in):
        values.append(MFA)
    return list(dict.fromkeys(values))
