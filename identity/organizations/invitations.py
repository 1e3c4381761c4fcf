"""Invitation links: the token, its stored hash, the link and the email that carries it.

The token is random (`secrets`) and only its SHA-256 is stored, so the table leaks no usable link;
it is shown once (the API's and the admin's response) and emailed. The email is sent outside any
application's pages, so it wears the deployment's brand (as identity.invitations does).
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from branding.services import branding_for


def token_generate() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_link(token: str) -> str:
    return f"{settings.LATCHKEY_ISSUER}{reverse('organizations:invitation', kwargs={'token': token})}"


def invitation_email_send(*, email: str, organization_name: str, link: str, expires_at) -> None:
    context = {
        "brand": branding_for(None),
        "organization_name": organization_name,
        "invitation_url": link,
        "expires_at": expires_at,
    }
    subject = " ".join(render_to_string("organizations/email/invitation_subject.txt", context).split())
    body = render_to_string("organizations/email/invitation_message.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email])
