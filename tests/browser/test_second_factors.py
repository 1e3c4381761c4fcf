"""Second factors in a real browser: an authenticator app and a passkey (Chromium's virtual authenticator,
through the DevTools WebAuthn domain) set up on the account page, each signing in; an application that
requires a second factor stepping up a session that signed in to another with a password alone.

WebAuthn refuses IP addresses as relying-party ids: live_server serves on localhost.
"""

from __future__ import annotations

import pytest
import requests
from allauth.mfa.models import Authenticator

from tests.browser.test_journeys import CALLBACK_PATH, authorization_url, landed_params, sign_in, spa
from tests.identity.mfa.helpers import totp_code

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(server, settings):  # noqa: F811  (the shared live server, named by host name)
    """The live server as http://localhost:<port>: WebAuthn accepts localhost, never an IP address."""
    server.base = server.base.replace("127.0.0.1", "localhost")
    settings.LATCHKEY_ISSUER = server.base
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": server.base}
    return server


@pytest.fixture
def page(chromium, server):
    context = chromium.new_context(base_url=server.base, viewport={"width": 1024, "height": 768})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def id_token_claims(server, application, code: str) -> dict:
    response = requests.post(
        server.url("/oauth/token"),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": application.client_id,
            "redirect_uri": server.url(CALLBACK_PATH),
            "code_verifier": "v" * 64,
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return server.decode_id_token(response.json()["id_token"], client_id=application.client_id)


def virtual_authenticator(page) -> dict:
    """A platform authenticator that verifies the person (as a fingerprint would), answering at once."""
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }
    added = devtools.send("WebAuthn.addVirtualAuthenticator", {"options": options})
    return {"devtools": devtools, "id": added["authenticatorId"]}


def enrol_totp_in_page(page) -> str:
    page.goto("/account/")
    page.get_by_test_id("account-totp-add").click()
    secret = page.get_by_test_id("totp-secret").inner_text()
    page.get_by_label("Code from the app").fill(totp_code(secret))
    page.get_by_test_id("totp-activate-submit").click()
    page.get_by_test_id("recovery-codes").wait_for()
    return secret


def test_authenticator_app_set_up_then_asked_for_at_sign_in(server, page, user, screenshot, settings):
    settings.MFA_TOTP_TOLERANCE = 1
    application = spa(server, trusted=True)
    page.goto("/login?next=/account/")
    sign_in(page, user.email)
    page.get_by_test_id("account-totp-add").wait_for()
    page.get_by_test_id("account-totp-add").click()
    screenshot("totp-set-up")
    page.go_back()
    secret = enrol_totp_in_page(page)
    screenshot("recovery-codes")
    page.goto("/account/")
    assert page.get_by_test_id("account-totp-on").is_visible()
    page.get_by_test_id("account-sign-out").click()

    page.goto(authorization_url(server, application, "openid"))
    sign_in(page, user.email)
    page.get_by_test_id("second-factor-form").wait_for()
    screenshot("second-factor")
    page.get_by_label("Code").fill(totp_code(secret, 1))
    page.get_by_test_id("second-factor-submit").click()

    claims = id_token_claims(server, application, landed_params(page)["code"])
    assert claims["amr"] == ["pwd", "otp", "mfa"]


def test_passkey_added_on_the_account_page_signs_in_alone(server, page, user, screenshot):
    authenticator = virtual_authenticator(page)
    application = spa(server, trusted=True)
    page.goto("/login?next=/account/")
    sign_in(page, user.email)
    page.get_by_test_id("account-passkey-add").click()
    page.get_by_test_id("passkey-add").click()
    page.get_by_test_id("recovery-codes").wait_for()  # the first factor comes with recovery codes
    (passkey,) = Authenticator.objects.filter(user=user, type=Authenticator.Type.WEBAUTHN)
    assert passkey.wrap().is_passwordless
    credentials = authenticator["devtools"].send("WebAuthn.getCredentials", {"authenticatorId": authenticator["id"]})
    assert len(credentials["credentials"]) == 1 and credentials["credentials"][0]["isResidentCredential"]
    page.goto("/account/")
    page.get_by_test_id("account-sign-out").click()

    page.goto(authorization_url(server, application, "openid"))
    page.get_by_test_id("passkey-login").wait_for()
    screenshot("passkey-sign-in")
    page.get_by_test_id("passkey-login").click()

    claims = id_token_claims(server, application, landed_params(page)["code"])
    assert claims["amr"] == ["hwk", "mfa"]  # a device-bound key that verified the person


def test_sso_into_an_app_requiring_mfa_steps_up_through_passkey_enrolment(server, page, user, screenshot):
    virtual_authenticator(page)
    relaxed = spa(server, name="Relaxed SPA", trusted=True)
    strict = spa(server, name="Strict SPA", trusted=True, auth_methods=["mfa"])
    page.goto(authorization_url(server, relaxed, "openid"))
    sign_in(page, user.email)
    assert id_token_claims(server, relaxed, landed_params(page)["code"])["amr"] == ["pwd"]

    page.goto(authorization_url(server, strict, "openid"))  # single sign-on: no sign-in page, but a step up
    page.get_by_test_id("second-factor-required").wait_for()
    screenshot("second-factor-required")
    page.get_by_test_id("second-factor-passkey").click()
    page.get_by_test_id("passkey-passwordless").uncheck()  # a second factor only
    page.get_by_test_id("passkey-add").click()
    page.get_by_test_id("second-factor-continue").click()  # past the recovery codes, back to the request

    assert id_token_claims(server, strict, landed_params(page)["code"])["amr"] == ["pwd", "hwk", "mfa"]
    page.goto(authorization_url(server, relaxed, "openid"))  # the session has both factors now
    assert "code" in landed_params(page)
