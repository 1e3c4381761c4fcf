"""Who may accept an invitation: the one rule, shared by the accept page (to explain) and the service (to enforce)."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.utils import timezone

from identity.organizations.models import Invitation

# code → what the person is told (never the invited address: the link may be in the wrong hands).
REFUSALS = {
    "invalid": "This invitation link is not valid. Ask for a new invitation.",
    "accepted": "This invitation has already been used.",
    "revoked": "This invitation was withdrawn. Ask for a new invitation.",
    "expired": "This invitation has expired. Ask for a new invitation.",
    "email_mismatch": (
        "This invitation was sent to another email address. Sign in with the account whose verified "
        "email address received it, or verify that address on your account first."
    ),
}


def invitation_refusal(invitation: Invitation | None, user) -> str | None:
    """Why `user` may not accept `invitation` (a REFUSALS code), or None when they may.

    Only a *verified* address (allauth's EmailAddress) equal to the invited one counts: an
    unverified address proves nothing about who holds the mailbox.
    """
    if invitation is None:
        return "invalid"
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= timezone.now():
        return "expired"
    verified = EmailAddress.objects.filter(user=user, email__iexact=invitation.email, verified=True).exists()
    return None if verified else "email_mismatch"
