"""LATCHKEY_REGISTRATION=invite: closed to the public; a user created without a password is emailed a
single-use link to choose one (allauth's reset link)."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from identity import services
from identity.models import AuditEvent, User

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase 42"


def link_in(message) -> str:
    return re.search(r"https?://[^/\s]+(/\S+)", message.body).group(1)


def test_user_created_without_password_in_invite_mode_chooses_one_by_the_emailed_link(
    client, settings, django_capture_on_commit_callbacks
):
    settings.LATCHKEY_REGISTRATION = "invite"
    with django_capture_on_commit_callbacks(execute=True):
        user = services.user_create(actor=None, email="grace@example.com", password=None)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["grace@example.com"] and "choose a password" in message.subject
    page = client.get(link_in(message), follow=True)
    response = client.post(page.redirect_chain[-1][0], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(action="user.invited").count() == 1
    # The link dies once used.
    assert 'data-testid="reset-invalid"' in client.get(link_in(message), follow=True).content.decode()


@pytest.mark.parametrize("mode", ["closed", "open"])
def test_user_created_without_password_outside_invite_mode_gets_no_email(
    settings, mode, django_capture_on_commit_callbacks
):
    settings.LATCHKEY_REGISTRATION = mode
    with django_capture_on_commit_callbacks(execute=True):
        services.user_create(actor=None, email="grace@example.com", password=None)
    assert mail.outbox == []


def test_user_created_with_password_in_invite_mode_gets_no_email(settings, django_capture_on_commit_callbacks):
    settings.LATCHKEY_REGISTRATION = "invite"
    with django_capture_on_commit_callbacks(execute=True):
        services.user_create(actor=None, email="grace@example.com", password="correct horse battery staple")
    assert mail.outbox == []


def test_admin_action_emails_the_selected_users_a_link(admin_client, settings, django_capture_on_commit_callbacks):
    user = User.objects.create_user("grace@example.com", None)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/identity/user/", {"action": "invite", "_selected_action": [user.pk]})
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["grace@example.com"]]
