"""Ending sessions: signed out, and what they handed out revoked. Audited with the acting user."""

from __future__ import annotations

from allauth.usersessions.models import UserSession
from django.db import transaction

from applications.models import Grant
from applications.services import code_tokens_revoke, users_tokens_revoke
from identity import audit
from identity.user_sessions.selectors import device_label, sign_in_id_of

SESSION_ENDED = "session_ended"
SIGNED_OUT_EVERYWHERE = "signed_out_everywhere"


def session_end(*, actor, user, session_id: int) -> bool:
    """End one of `user`'s sessions: it is signed out, the codes it issued and not yet redeemed stop working,
    and the tokens those it did issue (their refresh families included) are revoked. False when the user has
    no such session (another person's, or already ended).

    A JWT access token has no row: the revocation list takes every one of the user's JWTs at that
    application issued until now (applications.services.code_tokens_revoke), which other sessions replace
    by refreshing.
    """
    row = UserSession.objects.filter(user_id=user.pk, pk=session_id).first()
    if row is None:
        return False
    sign_in_id = sign_in_id_of(row.session_key)
    with transaction.atomic():
        if sign_in_id:
            codes = Grant.objects.filter(user_id=user.pk, sign_in_id=sign_in_id).select_related("application", "user")
            codes.filter(redeemed_at__isnull=True).delete()
            for grant in codes.filter(redeemed_at__isnull=False):
                code_tokens_revoke(grant=grant, application=grant.application, reason=SESSION_ENDED)
        audit.record(
            actor=actor,
            action="user.session_ended",
            target=user,
            extra={"session": {"old": f"{device_label(row.user_agent)} from {row.ip}", "new": None}},
        )
        row.end()
    return True


def sessions_end_all(*, actor, user) -> int:
    """ "Sign out everywhere": every session of `user` ends and every token they hold, at every application,
    is revoked (refresh tokens too, so no app keeps them signed in). Returns how many sessions ended."""
    rows = list(UserSession.objects.filter(user_id=user.pk))
    with transaction.atomic():
        Grant.objects.filter(user_id=user.pk, redeemed_at__isnull=True).delete()
        users_tokens_revoke(users=[user], applications=None, reason=SIGNED_OUT_EVERYWHERE)
        audit.record(
            actor=actor,
            action="user.signed_out_everywhere",
            target=user,
            extra={"sessions": {"old": len(rows), "new": 0}},
        )
        for row in rows:
            row.end()
    return len(rows)
