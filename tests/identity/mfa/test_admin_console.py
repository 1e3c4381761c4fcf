"""The admin console (and a staff session on /api/) signs in through /login and asks for a second factor."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail

from applications.events.models import Event
from identity.models import AuditEvent
from tests.conftest import staff_sign_in
from tests.identity.factories import UserFactory
from tests.identity.mfa.helpers import enrol_totp, sign_in, totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return UserFactory(email="root@example.com", is_staff=True, is_superuser=True)


def test_anonymous_admin_visit_goes_to_our_sign_in_page(client):
    response = client.get("/admin/applications/", follow=True)

    assert response.redirect_chain[-1] == ("/admin/login/?next=/admin/applications/", 302)
    assert response.status_code == 200
    assert 'data-testid="login-form"' in response.content.decode()  # our sign-in page


def test_staff_with_a_password_only_is_led_to_set_up_a_second_factor(client, staff):
    sign_in(client, staff)

    response = client.get("/admin/", follow=True)

    assert response.redirect_chain[-1] == ("/account/second-factor?next=%2Fadmin%2F", 302)
    assert 'data-testid="second-factor-required"' in response.content.decode()


def test_staff_who_showed_their_app_code_at_sign_in_reach_the_console(client, staff):
    sign_in(client, staff)
    secret = enrol_totp(client, staff)
    client.post("/logout")

    sign_in(client, staff, next_url="/admin/")
    signed_in = client.post("/account/2fa/authenticate/", {"code": totp_code(secret)})

    assert signed_in["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_staff_with_an_app_but_a_password_only_session_are_asked_for_its_code(client, staff):
    sign_in(client, staff)
    enrol_totp(client, staff)
    client.force_login(staff)  # a session that showed the password only

    response = client.get("/admin/", follow=True)

    assert response.redirect_chain[-1][0] == "/account/2fa/reauthenticate/?next=%2Fadmin%2F"


def test_optional_admin_second_factor_lets_a_password_only_staff_session_in(client, staff, settings):
    settings.LATCHKEY_ADMIN_SECOND_FACTOR = "optional"
    sign_in(client, staff)

    assert client.get("/admin/").status_code == 200


def test_staff_session_on_the_management_api_needs_the_second_factor_too(staff):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_login(staff)
    assert api.get("/api/applications").status_code == 403

    staff_sign_in(api, staff)
    assert api.get("/api/applications").status_code == 200


@pytest.mark.django_db(transaction=True)  # the notice goes once the reset has committed
def test_admin_resets_a_users_factors_audited_with_an_event_and_a_notice(client):
    person = UserFactory(email="ada@example.com")
    sign_in(client, person)
    enrol_totp(client, person)
    admin = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    staff_sign_in(client, admin)
    mail.outbox.clear()

    response = client.post(
        "/admin/identity/user/", {"action": "second_factors_reset", "_selected_action": [person.pk]}, follow=True
    )

    assert response.status_code == 200
    assert "Removed the second factors of 1 user(s)" in response.content.decode()
    assert not Authenticator.objects.filter(user=person).exists()
    (event,) = Event.objects.filter(type="user.second_factors_reset")
    assert event.payload == {"user_id": str(person.public_id), "factors": ["recovery_codes", "totp"]}
    (audit,) = AuditEvent.objects.filter(action="user.second_factors_reset")
    assert audit.actor_id == str(admin.public_id)
    assert [m.to for m in mail.outbox] == [[person.email]]
    assert "removed every second factor" in mail.outbox[0].body
    # The person signs in with the password alone again.
    client.post("/logout")
    assert sign_in(client, person)["Location"] != "/account/2fa/authenticate/"


def test_allauths_own_authenticator_admin_is_not_offered(admin_client):
    assert admin_client.get("/admin/mfa/authenticator/").status_code == 404


def test_optional_admin_second_factor_is_flagged_by_check_deploy(settings):
    from django.core import checks  # noqa: PLC0415

    settings.LATCHKEY_ADMIN_SECOND_FACTOR = "optional"
    flagged = [m.id for m in checks.run_checks(include_deployment_checks=True)]
    settings.LATCHKEY_ADMIN_SECOND_FACTOR = "required"
    clean = [m.id for m in checks.run_checks(include_deployment_checks=True)]

    assert "latchkey.W004" in flagged
    assert "latchkey.W004" not in clean


def test_the_users_page_shows_their_second_factors(admin_client):
    from django.test import Client

    person, browser = UserFactory(email="ada@example.com"), Client()
    sign_in(browser, person)
    enrol_totp(browser, person)

    page = admin_client.get(f"/admin/identity/user/{person.pk}/change/").content.decode()

    assert "authenticator app, 10 unused recovery code(s)" in page


def test_sign_in_page_answers_where_static_files_were_never_collected(client, settings, tmp_path):
    settings.DEBUG = False
    settings.STATIC_ROOT = str(tmp_path)  # nothing collected here (Django resets its storage on the change)
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

    page = client.get("/login")

    assert page.status_code == 200  # not a 500 for a missing manifest entry; only the passkey button is inert
    assert 'src="/static/mfa/js/webauthn.js"' in page.content.decode()
