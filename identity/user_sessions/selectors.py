"""A person's sessions as the account page and the admin show them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from importlib import import_module

from allauth.usersessions.models import UserSession
from django.conf import settings

from applications.models import Grant
from identity.auth_time import SIGN_IN_METHOD_SESSION_KEY


@dataclass
class SignInSession:
    row: UserSession
    device: str
    address: str
    signed_in_at: datetime
    sign_in_id: str
    current: bool
    applications: list[str] = field(default_factory=list)

    @property
    def pk(self) -> int:
        return self.row.pk


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (
    ("Windows", "Windows"),
    ("Android", "Android"),
    (r"iPhone|iPad", "iOS"),
    ("Mac OS X|Macintosh", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def device_label(user_agent: str) -> str:
    """ "Firefox on Linux" from a User-Agent header; what a person recognises, not a full parse."""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), "")
    system = next((name for pattern, name in _SYSTEMS if re.search(pattern, user_agent)), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown device"


def sign_in_id_of(session_key: str) -> str:
    """The sign-in id this session holds (identity.auth_time), read from the session store; "" when gone."""
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    record = store.load().get(SIGN_IN_METHOD_SESSION_KEY)
    return (record or {}).get("id", "") if isinstance(record, dict) else ""


def sessions_of(user, *, current_key: str | None = None) -> list[SignInSession]:
    """The user's live sessions, newest first, each with the applications it signed in to. Ended or expired
    ones are purged on the way (allauth's purge_and_list)."""
    rows = sorted(UserSession.objects.purge_and_list(user), key=lambda row: row.created_at, reverse=True)
    sessions = [
        SignInSession(
            row=row,
            device=device_label(row.user_agent),
            address=row.ip,
            signed_in_at=row.created_at,
            sign_in_id=sign_in_id_of(row.session_key),
            current=row.session_key == current_key,
        )
        for row in rows
    ]
    ids = {session.sign_in_id for session in sessions if session.sign_in_id}
    names: dict[str, set[str]] = {}
    for sign_in_id, name in Grant.objects.filter(user_id=user.pk, sign_in_id__in=ids).values_list(
        "sign_in_id", "application__name"
    ):
        names.setdefault(sign_in_id, set()).add(name)
    for session in sessions:
        session.applications = sorted(names.get(session.sign_in_id, ()))
    return sessions
