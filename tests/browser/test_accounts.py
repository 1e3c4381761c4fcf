"""Self-service in a real browser: register from an application's sign-in page, verify by the emailed
link, sign in, and land back in the application's authorization request with a code."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail

from identity.models import User
from tests.browser.test_journeys import authorization_url, landed_params, spa

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a brand new passphrase 42"


def emailed_path(message) -> str:
    url = re.search(r"https?://\S+", message.body).group(0)
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def test_register_verify_sign_in_lands_back_at_the_app_with_a_code(server, page, settings, screenshot):
    settings.LATCHKEY_REGISTRATION = "open"
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    application = spa(server, name="Streaming SPA", trusted=True)

    page.goto(authorization_url(server, application, "openid email"))
    page.get_by_test_id("login-register").click()
    form = page.get_by_test_id("signup-form")
    form.get_by_label("Email").fill("grace@example.com")
    form.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    form.get_by_label("Password (again)").fill(NEW_PASSWORD)
    screenshot("register")
    page.get_by_test_id("signup-submit").click()
    page.get_by_test_id("verification-sent").wait_for()
    assert User.objects.get(email="grace@example.com").email_verified is False

    (message,) = mail.outbox
    assert message.subject.startswith("[Streaming SPA] ")
    page.goto(server.url(emailed_path(message)))
    screenshot("verify-email")
    page.get_by_test_id("confirm-submit").click()

    # Verified, and back in the authorization request, which asks the person to sign in.
    form = page.get_by_test_id("login-form")
    form.wait_for()
    form.get_by_label("Email").fill("grace@example.com")
    form.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_test_id("login-submit").click()
    assert "code" in landed_params(page)
    assert User.objects.get(email="grace@example.com").email_verified is True
