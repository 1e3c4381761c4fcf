"""An authenticator app (TOTP): set up on the account page, asked for after the password, limited, audited."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail

from applications.events.models import Event
from identity.auth_time import SIGN_IN_METHOD_SESSION_KEY
from identity.models import AuditEvent
from tests.identity.factories import UserFactory
from tests.identity.mfa.helpers import enrol_totp, sign_in, totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def person():
    return UserFactory(email="ada@example.com")


def test_account_page_offers_an_authenticator_app_and_shows_it_on(client, person):
    sign_in(client, person)
    assert 'data-testid="account-totp-add"' in client.get("/account/").content.decode()

    enrol_totp(client, person)

    page = client.get("/account/").content.decode()
    assert 'data-testid="account-totp-on"' in page
    assert 'data-testid="account-recovery-codes"' in page  # the first factor came with recovery codes


def test_totp_setup_shows_the_code_inline_under_the_page_policy(client, person):
    sign_in(client, person)

    page = client.get("/account/2fa/totp/activate/")

    html = page.content.decode()
    assert "<svg" in html and "data:image" not in html  # no data: image, which img-src would refuse
    assert "script-src 'none'" in page["Content-Security-Policy"]


def test_totp_secret_is_encrypted_at_rest(client, person):
    sign_in(client, person)
    secret = enrol_totp(client, person)

    stored = Authenticator.objects.get(user=person, type=Authenticator.Type.TOTP).data["secret"]
    assert secret not in stored
    assert Authenticator.objects.get(user=person, type=Authenticator.Type.TOTP).wrap().validate_code(totp_code(secret))


def test_wrong_setup_code_keeps_the_app_off(client, person):
    sign_in(client, person)
    client.get("/account/2fa/totp/activate/")

    response = client.post("/account/2fa/totp/activate/", {"code": "000000"})

    assert response.status_code == 200
    assert "aria-invalid" in response.content.decode()
    assert not Authenticator.objects.filter(user=person).exists()


@pytest.mark.django_db(transaction=True)  # allauth tells of a new factor once it has committed
def test_turning_on_an_app_is_an_event_an_audit_row_and_a_notice(client):
    person = UserFactory(email="ada@example.com")
    sign_in(client, person)
    mail.outbox.clear()

    enrol_totp(client, person)

    events = list(Event.objects.filter(type="user.second_factor_added").values_list("payload", flat=True))
    assert {"user_id": str(person.public_id), "factor": "totp"} in events
    assert {"user_id": str(person.public_id), "factor": "recovery_codes"} in events
    assert AuditEvent.objects.filter(action="user.second_factor_added", target_id=str(person.pk)).count() == 2
    assert [m.to for m in mail.outbox] == [[person.email]]
    assert "secret" not in mail.outbox[0].body.lower()


def test_sign_in_with_an_app_asks_for_its_code_after_the_password(client, person):
    sign_in(client, person)
    secret = enrol_totp(client, person)
    client.post("/logout")

    response = sign_in(client, person, next_url="/account/")

    assert response.status_code == 302
    assert response["Location"] == "/account/2fa/authenticate/"
    assert "_auth_user_id" not in client.session  # not signed in with the password alone
    response = client.post("/account/2fa/authenticate/", {"code": totp_code(secret)})
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    assert client.session["_auth_user_id"] == str(person.pk)
    assert client.session[SIGN_IN_METHOD_SESSION_KEY] | {"id": "…"} == {
        "method": "password",
        "provider_id": None,
        "factors": ["otp"],
        "id": "…",
    }


def test_recovery_code_signs_in_in_place_of_the_app(client, person):
    sign_in(client, person)
    enrol_totp(client, person)
    codes = Authenticator.objects.get(user=person, type=Authenticator.Type.RECOVERY_CODES).wrap().get_unused_codes()
    client.post("/logout")

    sign_in(client, person)
    response = client.post("/account/2fa/authenticate/", {"code": codes[0]})

    assert response.status_code == 302
    assert client.session[SIGN_IN_METHOD_SESSION_KEY]["factors"] == ["otp"]
    client.post("/logout")
    sign_in(client, person)
    again = client.post("/account/2fa/authenticate/", {"code": codes[0]})  # each code works once
    assert again.status_code == 200
    assert "_auth_user_id" not in client.session


def test_wrong_codes_are_limited_per_account_with_a_clear_message(client, person, settings):
    settings.LATCHKEY_SECOND_FACTOR_FAILURES_PER_USER = 3
    sign_in(client, person)
    secret = enrol_totp(client, person)
    client.post("/logout")
    sign_in(client, person)

    for _ in range(3):
        wrong = client.post("/account/2fa/authenticate/", {"code": "000000"})
        assert wrong.status_code == 200
        assert "Too many wrong codes" not in wrong.content.decode()
    refused = client.post("/account/2fa/authenticate/", {"code": totp_code(secret)})

    assert "Too many wrong codes. Try again in" in refused.content.decode()  # even the right code, unchecked
    assert "_auth_user_id" not in client.session


def test_turning_the_app_off_needs_a_recent_sign_in_and_is_recorded(client, person, settings):
    sign_in(client, person)
    enrol_totp(client, person)

    response = client.post("/account/2fa/totp/deactivate/")

    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=person).exists()  # recovery codes went with the last factor
    removed = set(Event.objects.filter(type="user.second_factor_removed").values_list("payload__factor", flat=True))
    assert removed == {"totp", "recovery_codes"}


def test_setting_up_a_factor_long_after_signing_in_asks_for_the_password_again(client, person):
    client.force_login(person)  # a session with no recent sign-in on record

    response = client.get("/account/2fa/totp/activate/")

    assert response.status_code == 302
    assert response["Location"].startswith("/account/reauthenticate/?next=")


def test_changing_the_password_emails_a_notice(client, person):
    sign_in(client, person)
    mail.outbox.clear()

    response = client.post(
        "/account/password/change/",
        {
            "oldpassword": "correct horse battery staple",
            "password1": "a new long passphrase 7",
            "password2": "a new long passphrase 7",
        },
    )

    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [[person.email]]
    assert "password" in mail.outbox[0].subject.lower()


def test_an_unverified_address_must_be_confirmed_before_a_factor_and_the_link_can_be_sent_again(client, person):
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=person, email=person.email, verified=False, primary=True)
    sign_in(client, person)

    page = client.get("/account/").content.decode()
    assert 'data-testid="verify-email-first"' in page and 'data-testid="account-totp-add"' not in page
    assert 'data-testid="verify-email-first"' in client.get("/account/second-factor").content.decode()
    mail.outbox.clear()
    sent = client.post("/account/verify-email")
    again = client.post("/account/verify-email")  # at most one link every few minutes

    assert sent.status_code == again.status_code == 200
    assert 'data-testid="verification-sent"' in again.content.decode()
    assert [m.to for m in mail.outbox] == [[person.email]]
    assert client.get("/account/verify-email").status_code == 405


def test_the_second_step_costs_few_queries(client, person, django_assert_max_num_queries):
    sign_in(client, person)
    secret = enrol_totp(client, person)
    client.post("/logout")
    sign_in(client, person, next_url="/account/")

    # The session, the user, whether they have a factor, their factors, and the session saved (3, savepoints too).
    with django_assert_max_num_queries(7):
        assert client.get("/account/2fa/authenticate/").status_code == 200
    # The code checked and marked used, then the sign-in itself: a new session key, last_login, allauth's
    # session list (purged and this session added) and the session saved with the factor shown.
    with django_assert_max_num_queries(24):
        assert client.post("/account/2fa/authenticate/", {"code": totp_code(secret)}).status_code == 302
