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


def test_forgotten_password_reset_from_the_apps_sign_in_page_lands_back_with_a_code(server, page, user, screenshot):
    application = spa(server, name="Streaming SPA", trusted=True)

    page.goto(authorization_url(server, application, "openid"))
    page.get_by_test_id("login-forgot").click()
    page.get_by_test_id("reset-form").get_by_label("Email").fill(user.email)
    page.get_by_test_id("reset-submit").click()
    page.get_by_test_id("reset-sent").wait_for()

    (message,) = mail.outbox
    assert message.subject.startswith("[Streaming SPA] ")
    page.goto(server.url(emailed_path(message)))
    form = page.get_by_test_id("reset-key-form")
    form.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    form.get_by_label("New password (again)").fill(NEW_PASSWORD)
    screenshot("reset-password")
    page.get_by_test_id("reset-key-submit").click()

    form = page.get_by_test_id("login-form")
    form.get_by_label("Email").fill(user.email)
    form.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_test_id("login-submit").click()
    assert "code" in landed_params(page)


def test_password_change_on_the_account_page_needs_the_current_password(server, page, user, screenshot):
    from tests.protocol.conftest import PASSWORD  # noqa: PLC0415

    page.goto(server.url("/login?next=/account/"))
    page.get_by_test_id("login-form").get_by_label("Email").fill(user.email)
    page.get_by_test_id("login-form").get_by_label("Password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("account-password").click()
    form = page.get_by_test_id("password-change-form")
    form.get_by_label("Current password").fill("not my password")
    form.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    form.get_by_label("New password (again)").fill(NEW_PASSWORD)
    page.get_by_test_id("password-change-submit").click()
    page.get_by_test_id("oldpassword-error").wait_for()

    form = page.get_by_test_id("password-change-form")
    form.get_by_label("Current password").fill(PASSWORD)
    form.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    form.get_by_label("New password (again)").fill(NEW_PASSWORD)
    screenshot("password-change")
    page.get_by_test_id("password-change-submit").click()
    page.wait_for_url("**/account/**")

    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
