"""Self-service accounts: registration, email verification, password reset and change (allauth flows).

Browser-free: the Django client posts the forms and reads the email from mail.outbox.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail

from identity.models import User
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase 42"
SIGNUP = "/account/signup/"
RESET = "/account/password/reset/"
CHANGE = "/account/password/change/"


@pytest.fixture
def open_registration(settings):
    settings.LATCHKEY_REGISTRATION = "open"


def link_in(message) -> str:
    """The path of the one link on this server in an email body."""
    return re.search(r"https?://[^/\s]+(/\S+)", message.body).group(1)


def register(client, email: str = "new@example.com", **extra):
    return client.post(SIGNUP, {"email": email, "password1": PASSWORD, "password2": PASSWORD, **extra})


# --- registration -----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["closed", "invite"])
def test_registration_not_open_shows_closed_page_and_creates_no_user(client, settings, mode):
    settings.LATCHKEY_REGISTRATION = mode

    page = client.get(SIGNUP)
    response = register(client)

    assert 'data-testid="signup-closed"' in page.content.decode()
    assert 'data-testid="signup-closed"' in response.content.decode()
    assert not User.objects.filter(email="new@example.com").exists()
    assert mail.outbox == []


def test_registration_closed_by_default():
    from config.settings import base

    assert base.LATCHKEY_REGISTRATION == "closed" or "LATCHKEY_REGISTRATION" in __import__("os").environ


def test_registration_page_is_branded_and_under_the_strict_csp(client, open_registration):
    response = client.get(SIGNUP)

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="signup-form"' in html and 'data-testid="brand-name"' in html
    assert "script-src 'none'" in response["Content-Security-Policy"]


def test_registration_open_creates_unverified_user_signs_in_and_sends_the_link(client, open_registration):
    response = register(client, email="New@Example.com")

    user = User.objects.get(email="new@example.com")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    assert user.email_verified is False
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@example.com"]
    assert "/account/confirm-email/" in mail.outbox[0].body


def test_registration_weak_password_or_taken_email_gets_field_errors(client, open_registration):
    UserFactory(email="taken@example.com")

    weak = client.post(SIGNUP, {"email": "x@example.com", "password1": "123", "password2": "123"})
    taken = register(client, email="taken@example.com")

    assert weak.status_code == 200 and 'data-testid="password1-error"' in weak.content.decode()
    assert not User.objects.filter(email="x@example.com").exists()
    # No enumeration: a taken address looks like a success to the visitor; its owner gets an email.
    assert User.objects.filter(email="taken@example.com").count() == 1
    assert taken.status_code in (200, 302)


def test_verification_link_confirms_on_post_only_and_sets_email_verified(client, open_registration):
    register(client)
    path = link_in(mail.outbox[0])
    user = User.objects.get(email="new@example.com")

    page = client.get(path)
    assert page.status_code == 200 and 'data-testid="confirm-form"' in page.content.decode()
    user.refresh_from_db()
    assert user.email_verified is False  # a mail scanner fetching the link confirms nothing

    response = client.post(path)

    user.refresh_from_db()
    assert response.status_code == 302
    assert user.email_verified is True


def test_verification_bad_link_shows_a_readable_page(client):
    response = client.get("/account/confirm-email/not-a-key/")
    assert response.status_code == 200
    assert 'data-testid="confirm-invalid"' in response.content.decode()


def test_email_verified_claim_follows_the_link(client, open_registration):
    from applications.oauth.claims import user_claims  # noqa: PLC0415

    register(client)
    user = User.objects.get(email="new@example.com")
    assert user_claims(user, {"email"})["email_verified"] is False
    client.post(link_in(mail.outbox[0]))
    user.refresh_from_db()
    assert user_claims(user, {"email"})["email_verified"] is True


def test_mandatory_verification_holds_sign_in_until_the_link(client, open_registration, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"

    response = register(client)

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    client.post(link_in(mail.outbox[0]))
    signed_in = client.post("/login", {"username": "new@example.com", "password": PASSWORD})
    assert signed_in.status_code == 302 and "_auth_user_id" in client.session


# --- password reset ------------------------------------------------------------------------------------
def test_password_reset_by_email_link_sets_a_new_password(client):
    user = UserFactory(email="ada@example.com")

    assert client.post(RESET, {"email": "ada@example.com"}).status_code == 302
    assert len(mail.outbox) == 1
    page = client.get(link_in(mail.outbox[0]), follow=True)
    form_action = re.search(r'data-testid="reset-key-form"', page.content.decode())
    assert form_action and page.redirect_chain
    response = client.post(page.redirect_chain[-1][0], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert client.post("/login", {"username": user.email, "password": NEW_PASSWORD}).status_code == 302


def test_password_reset_unknown_email_looks_the_same_and_sends_nothing(client):
    response = client.post(RESET, {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_password_reset_used_link_is_refused_readably(client):
    UserFactory(email="ada@example.com")
    client.post(RESET, {"email": "ada@example.com"})
    path = link_in(mail.outbox[0])
    page = client.get(path, follow=True)
    client.post(page.redirect_chain[-1][0], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    again = client.get(path, follow=True)

    assert 'data-testid="reset-invalid"' in again.content.decode()


# --- password change -------------------------------------------------------------------------------------
def test_password_change_requires_the_current_password(client):
    user = UserFactory(email="ada@example.com")
    client.force_login(user)

    wrong = client.post(CHANGE, {"oldpassword": "wrong", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    right = client.post(CHANGE, {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert wrong.status_code == 200 and 'data-testid="oldpassword-error"' in wrong.content.decode()
    assert right.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert client.session["_auth_user_id"] == str(user.pk)  # this session stays signed in


def test_password_change_signed_out_goes_to_sign_in(client):
    response = client.get(CHANGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")


def test_account_page_links_to_password_change(client):
    client.force_login(UserFactory())
    assert 'href="/account/password/change/"' in client.get("/account/").content.decode()


def test_mandatory_verification_lets_admin_verified_users_in_and_holds_the_others(client, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    verified = UserFactory(email="verified@example.com", email_verified=True)
    unverified = UserFactory(email="unverified@example.com", email_verified=False)

    client.post("/login", {"username": verified.email, "password": PASSWORD})
    assert client.session["_auth_user_id"] == str(verified.pk)
    client.logout()

    held = client.post("/login", {"username": unverified.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert held.status_code == 302 and held["Location"] == "/account/confirm-email/"
    assert mail.outbox[-1].to == [unverified.email]


def test_registration_for_an_app_that_refuses_passwords_is_closed(client, open_registration):
    from applications.models import Application  # noqa: PLC0415
    from tests.branding.test_pages import authorize_path, web_app  # noqa: PLC0415

    application = web_app(name="Social only")
    Application.objects.filter(pk=application.pk).update(auth_methods=["retired-provider"])
    pending = authorize_path(application)

    response = client.post(
        SIGNUP, {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD, "next": pending}
    )

    assert 'data-testid="signup-closed"' in response.content.decode()
    assert not User.objects.filter(email="new@example.com").exists()


def test_email_address_management_is_not_offered(client):
    client.force_login(UserFactory())
    assert client.get("/account/email/").status_code == 404


ACCOUNT_PAGES = [
    "/account/inactive/",
    "/account/signup/",
    "/account/reauthenticate/",
    "/account/confirm-email/",
    "/account/password/change/",
    "/account/password/set/",
    "/account/password/reset/",
    "/account/password/reset/done/",
    "/account/password/reset/key/done/",
    "/account/password/reset/key/1-bad/",
    "/account/login/code/confirm/",
]


@pytest.mark.parametrize("signed_in", [False, True])
@pytest.mark.parametrize("path", ACCOUNT_PAGES)
def test_every_account_page_answers_branded_under_the_csp_never_a_500(client, open_registration, path, signed_in):
    if signed_in:
        client.force_login(UserFactory())

    response = client.get(path)

    assert response.status_code < 500
    if response.status_code == 200:
        assert 'data-testid="brand-name"' in response.content.decode()
        assert "script-src 'none'" in response["Content-Security-Policy"]


def test_registration_verification_and_password_changes_are_audited(client, open_registration):
    from identity.models import AuditEvent  # noqa: PLC0415

    register(client)
    client.post(link_in(mail.outbox[0]))
    client.post(CHANGE, {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    user = User.objects.get(email="new@example.com")
    events = list(AuditEvent.objects.filter(target_id=str(user.pk)).order_by("id"))
    assert [e.action for e in events] == ["user.registered", "user.email_verified", "user.password_changed"]
    assert {e.actor_label for e in events} == {"new@example.com"}
    assert events[-1].changes == {"password": {"old": "[hidden]", "new": "[hidden]"}}


@pytest.mark.parametrize("mode", ["closed", "open"])
def test_password_reset_gives_no_password_to_a_user_created_without_one(client, settings, mode):
    settings.LATCHKEY_REGISTRATION = mode
    User.objects.create_user("nopassword@example.com", None)

    response = client.post(RESET, {"email": "nopassword@example.com"})

    assert response.status_code == 302  # the same answer as for anyone
    assert mail.outbox == []


def test_password_reset_resends_an_invitation_in_invite_mode(client, settings):
    settings.LATCHKEY_REGISTRATION = "invite"
    User.objects.create_user("invited@example.com", None)

    client.post(RESET, {"email": "invited@example.com"})

    assert [m.to for m in mail.outbox] == [["invited@example.com"]]


def test_password_reset_sends_nothing_to_a_deactivated_user(client):
    UserFactory(email="gone@example.com", is_active=False)
    client.post(RESET, {"email": "gone@example.com"})
    assert mail.outbox == []
