"""Invitations: an emailed link with which a person an admin created chooses their password.

The link is allauth's password-reset link (the same single-use token, bound to the user's current
password hash and last login, and the same page), so it dies once used and needs no table of its own.
It is sent outside any sign-in page, so it wears the deployment's brand.
"""

from __future__ import annotations

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from branding.services import branding_for
from identity.models import User


def invitation_url(user: User) -> str:
    path = reverse(
        "account_reset_password_from_key",
        kwargs={"uidb36": user_pk_to_url_str(user), "key": default_token_generator.make_token(user)},
    )
    return f"{settings.LATCHKEY_ISSUER}{path}"


def invitation_send(user: User) -> None:
    context = {"brand": branding_for(None), "user": user, "invitation_url": invitation_url(user)}
    subject = " ".join(render_to_string("identity/email/invitation_subject.txt", context).split())
    body = render_to_string("identity/email/invitation_message.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
