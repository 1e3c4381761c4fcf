"""Failed password sign-ins (issue 20), counted in the shared cache (config.ratelimit):

- per (account, address): locked for the rest of a LATCHKEY_SIGN_IN_LOCKOUT_SECONDS window after
  LATCHKEY_SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP failures: the guesser is stopped, the person elsewhere is not;
- per account, from anywhere: only slowed, at most LATCHKEY_SIGN_IN_FAILURES_PER_ACCOUNT_PER_MINUTE failures a
  minute, so nobody can lock a victim out for longer than the minute;
- per address: LATCHKEY_SIGN_IN_FAILURES_PER_IP failures per lockout window, across accounts.

A refused attempt is answered before the password is checked, with 429 and Retry-After. The account is the
address typed, whether or not an account has it: known and unknown addresses are counted and answered alike
(no enumeration). A successful sign-in only reads the counters (one cache round trip).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from config.ratelimit import Limit, client_ip, count, count_and_wait, reached
from identity.models import normalize_email

ACCOUNT_AND_ADDRESS = "sign-in-account-ip"


def _checks(request: HttpRequest, email: str) -> list[tuple[Limit, str]]:
    account = normalize_email(email or "")
    address = client_ip(request)
    lockout = settings.LATCHKEY_SIGN_IN_LOCKOUT_SECONDS
    checks = [(Limit("sign-in-ip", settings.LATCHKEY_SIGN_IN_FAILURES_PER_IP, lockout), address)]
    if account:
        checks += [
            (
                Limit(ACCOUNT_AND_ADDRESS, settings.LATCHKEY_SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP, lockout),
                f"{account} {address}",
            ),
            (Limit("sign-in-account", settings.LATCHKEY_SIGN_IN_FAILURES_PER_ACCOUNT_PER_MINUTE, 60), account),
        ]
    return checks


def refused_for(request: HttpRequest, email: str) -> int | None:
    """Seconds this attempt must wait (it is refused unchecked), or None when it may be checked."""
    return reached(_checks(request, email))


def failed(request: HttpRequest, email: str) -> None:
    """Count a failed attempt against every limit it falls under. The failure that locks an existing account
    for this address records one `user.sign_in_locked` event (for webhooks)."""
    checks = _checks(request, email)
    for limit, value in checks:
        if limit.name != ACCOUNT_AND_ADDRESS:
            count(limit, value)
            continue
        counted, wait = count_and_wait(limit, value)
        if counted == limit.limit:
            _locked(email, wait)


def _locked(email: str, wait: int) -> None:
    from applications.events.services import event_record
    from identity.models import User

    user = User.objects.filter(email__iexact=normalize_email(email)).only("public_id").first()
    if user is not None:
        until = timezone.now() + timedelta(seconds=wait)
        event_record(type="user.sign_in_locked", payload={"user_id": str(user.public_id), "until": until.isoformat()})
