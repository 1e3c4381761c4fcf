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

from django.conf import settings
from django.http import HttpRequest

from config.ratelimit import Limit, client_ip, count, reached
from identity.models import normalize_email


def _checks(request: HttpRequest, email: str) -> list[tuple[Limit, str]]:
    account = normalize_email(email or "")
    address = client_ip(request)
    lockout = settings.LATCHKEY_SIGN_IN_LOCKOUT_SECONDS
    checks = [(Limit("sign-in-ip", settings.LATCHKEY_SIGN_IN_FAILURES_PER_IP, lockout), address)]
    if account:
        checks += [
            (
                Limit("sign-in-account-ip", settings.LATCHKEY_SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP, lockout),
                f"{account} {address}",
            ),
            (Limit("sign-in-account", settings.LATCHKEY_SIGN_IN_FAILURES_PER_ACCOUNT_PER_MINUTE, 60), account),
        ]
    return checks


def refused_for(request: HttpRequest, email: str) -> int | None:
    """Seconds this attempt must wait (it is refused unchecked), or None when it may be checked."""
    return reached(_checks(request, email))


def failed(request: HttpRequest, email: str) -> None:
    """Count a failed attempt against every limit it falls under."""
    for limit, value in _checks(request, email):
        count(limit, value)
