"""The sign-in page on allauth's engine: same wire format, throttled, session auth_time kept."""

from __future__ import annotations

import re

import pytest

from identity.auth_time import AUTH_TIME_SESSION_KEY, SIGN_IN_METHOD_SESSION_KEY
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def test_sign_in_admin_created_user_by_email_any_case_records_auth_time(client):
    user = UserFactory(email="ada@example.com")

    response = client.post("/login", {"username": "Ada@Example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/account/apps"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert isinstance(client.session[AUTH_TIME_SESSION_KEY], int)


def test_password_sign_in_records_the_password_method_over_an_earlier_provider_one(client):
    user = UserFactory(email="ada@example.com")
    client.force_login(user)
    session = client.session
    session[SIGN_IN_METHOD_SESSION_KEY] = {"method": "provider", "provider_id": 7}  # an earlier social sign-in
    session.save()

    response = client.post("/login", {"username": user.email, "password": PASSWORD})

    assert response.status_code == 302
    recorded = client.session[SIGN_IN_METHOD_SESSION_KEY]
    assert recorded == {"method": "password", "provider_id": None, "factors": [], "id": recorded["id"]}
    assert re.fullmatch(r"[0-9a-f]{32}", recorded["id"])  # this sign-in's own id, for the codes it issues


def test_admin_login_is_our_sign_in_page_under_its_policy(client):
    response = client.get("/admin/login/?next=/admin/auth/")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="login-form"' in html and 'action="/login"' in html
    assert '<input type="hidden" name="next" value="/admin/auth/">' in html
    assert "script-src" in response["Content-Security-Policy"]
    assert 'name="this_is_the_login_form"' not in html  # not Django's admin form


def test_admin_login_posts_through_our_sign_in_and_its_limits(client, settings):
    settings.LATCHKEY_SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP = 1
    UserFactory(email="root@example.com", is_staff=True, is_superuser=True)

    wrong = client.post("/admin/login/", {"username": "root@example.com", "password": "wrong"})
    refused = client.post("/admin/login/", {"username": "root@example.com", "password": PASSWORD})

    assert wrong.status_code == 200
    assert refused.status_code == 429  # the lockout of /login holds here too
    assert "_auth_user_id" not in client.session


def test_sign_in_inactive_user_is_refused(client):
    user = UserFactory(email="gone@example.com", is_active=False)

    response = client.post("/login", {"username": user.email, "password": PASSWORD})

    assert "_auth_user_id" not in client.session
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert response["Location"] != "/account/apps"


def test_allauth_login_url_is_our_sign_in_page(client):
    response = client.get("/account/login/?next=/account/")
    assert response.status_code == 302
    assert response["Location"] == "/login?next=/account/"


def test_sign_in_page_links_to_password_reset_keeping_next(client):
    html = client.get("/login", {"next": "/account/"}).content.decode()
    assert 'href="/account/password/reset/?next=/account/"' in html


def test_sign_in_page_offers_registration_only_when_open(client, settings):
    settings.LATCHKEY_REGISTRATION = "closed"
    assert 'data-testid="login-register"' not in client.get("/login").content.decode()
    settings.LATCHKEY_REGISTRATION = "open"
    assert 'data-testid="login-register"' in client.get("/login").content.decode()


def test_console_email_in_production_is_flagged_by_check_deploy(settings):
    from django.core import checks  # noqa: PLC0415

    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    flagged = [m.id for m in checks.run_checks(include_deployment_checks=True)]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    clean = [m.id for m in checks.run_checks(include_deployment_checks=True)]

    assert "latchkey.W002" in flagged
    assert "latchkey.W002" not in clean


def test_sign_in_session_lasts_session_cookie_age_not_the_browser_session(client, settings):
    user = UserFactory(email="ada@example.com")

    response = client.post("/login", {"username": user.email, "password": PASSWORD})

    assert response.status_code == 302
    assert client.session.get_expire_at_browser_close() is False
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == settings.SESSION_COOKIE_AGE


def test_sign_in_leaves_no_flash_message_for_another_page(client):
    from django.contrib.messages import get_messages  # noqa: PLC0415

    user = UserFactory(email="ada@example.com")
    response = client.post("/login", {"username": user.email, "password": PASSWORD})

    assert list(get_messages(response.wsgi_request)) == []
