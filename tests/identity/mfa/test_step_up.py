"""Applications that require a second factor step a one-factor sign-in up, on every authorization (SSO too)."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from applications.models import Scope
from applications.oauth.claims import ACR_MFA
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory
from tests.identity.mfa.helpers import enrol_totp, sign_in, totp_code

pytestmark = pytest.mark.django_db

CALLBACK = "https://rp.example.com/callback"


@pytest.fixture
def person():
    return UserFactory(email="ada@example.com")


def app(**fields):
    return make_application(
        type="web",
        redirect_uris=CALLBACK,
        trusted=True,
        allowed_scopes=list(Scope.objects.filter(name__in=["openid"])),
        **fields,
    )


def authorize_url(application, **extra) -> str:
    query = {"response_type": "code", "client_id": application.client_id, "redirect_uri": CALLBACK, "scope": "openid"}
    return "/oauth/authorize?" + urlencode(query | extra)


def id_token_claims(client, application, secret, location: str) -> dict:
    code = parse_qs(urlsplit(location).query)["code"][0]
    basic = base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()
    response = client.post(
        "/oauth/token",
        {"grant_type": "authorization_code", "redirect_uri": CALLBACK, "code": code},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 200, response.content
    payload = response.json()["id_token"].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_sso_into_an_app_that_requires_mfa_steps_up_and_the_id_token_says_so(client, person, settings):
    settings.MFA_TOTP_TOLERANCE = 1  # two codes a moment apart: each is used once
    plain, plain_secret = app()
    strict, strict_secret = app(auth_methods=["mfa"])
    sign_in(client, person)
    secret = enrol_totp(client, person)
    client.post("/logout")
    sign_in(client, person)
    client.post("/account/2fa/authenticate/", {"code": totp_code(secret, -1)})
    client.post("/logout")
    # A session that signed in with a password only: the ordinary app is happy with it.
    client.force_login(person)
    ordinary = client.get(authorize_url(plain))
    assert ordinary.status_code == 302 and ordinary["Location"].startswith(CALLBACK)
    assert id_token_claims(client, plain, plain_secret, ordinary["Location"])["amr"] == ["pwd"]

    stepped = client.get(authorize_url(strict, state="s1"))

    assert stepped.status_code == 302
    assert stepped["Location"].startswith("/account/second-factor?next=")
    back = parse_qs(urlsplit(stepped["Location"]).query)["next"][0]
    ask = client.get(stepped["Location"])
    assert ask["Location"] == f"/account/2fa/reauthenticate/?{urlencode({'next': back})}"
    confirm = client.post(ask["Location"], {"code": totp_code(secret, 1), "next": back})
    assert confirm["Location"] == back
    issued = client.get(back)
    assert issued["Location"].startswith(CALLBACK) and "state=s1" in issued["Location"]
    claims = id_token_claims(client, strict, strict_secret, issued["Location"])
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["acr"] == ACR_MFA


def test_prompt_none_on_an_app_that_requires_mfa_is_interaction_required(client, person):
    strict, _ = app(auth_methods=["mfa"])
    client.force_login(person)

    response = client.get(authorize_url(strict, prompt="none", state="s"))

    query = parse_qs(urlsplit(response["Location"]).query)
    assert response["Location"].startswith(CALLBACK)
    assert query["error"] == ["interaction_required"]
    assert query["state"] == ["s"]


def test_acr_values_asking_for_mfa_steps_up_an_app_that_does_not_require_it(client, person):
    plain, _ = app()
    client.force_login(person)

    assert client.get(authorize_url(plain, acr_values=ACR_MFA))["Location"].startswith("/account/second-factor")
    assert client.get(authorize_url(plain, acr_values="urn:example:other"))["Location"].startswith(CALLBACK)


def test_the_recovery_codes_page_continues_only_to_this_host(client, person):
    sign_in(client, person)
    enrol_totp(client, person)

    page = client.get("/account/2fa/recovery-codes/?next=https://evil.example/")

    assert 'data-testid="second-factor-continue"' not in page.content.decode()
    assert "evil.example" not in page.content.decode()


def test_auth_methods_accepts_mfa_beside_methods_and_alone(client, writer):
    for methods in (["mfa"], ["password", "mfa"]):
        response = writer.post(
            "/api/applications",
            {"name": f"strict {len(methods)}", "type": "web", "redirect_uris": [CALLBACK], "auth_methods": methods},
            format="json",
        )
        assert response.status_code == 201, response.content
        assert response.json()["auth_methods"] == methods
    refused = writer.post(
        "/api/applications",
        {"name": "odd", "type": "web", "redirect_uris": [CALLBACK], "auth_methods": ["2fa"]},
        format="json",
    )
    assert refused.status_code == 400
    assert "'mfa' to require a second factor" in refused.json()["fields"]["auth_methods"][0]


def test_discovery_names_the_multi_factor_acr(client):
    document = client.get("/.well-known/openid-configuration").json()

    assert document["acr_values_supported"] == [ACR_MFA]
    assert "acr" in document["claims_supported"]


def test_device_approval_for_an_app_that_requires_mfa_steps_up_and_comes_back_to_the_code(client, person):
    from datetime import timedelta

    from django.utils import timezone
    from oauth2_provider.models import get_device_grant_model

    device_app, _ = make_application(type="native", auth_methods=["mfa"])
    get_device_grant_model().objects.create(
        client_id=device_app.client_id,
        device_code="d" * 40,
        user_code="BCDFGHJK",
        scope="openid",
        expires=timezone.now() + timedelta(minutes=10),
    )
    client.force_login(person)

    response = client.post("/device", {"user_code": "BCDF-GHJK"})

    assert response.status_code == 302
    assert response["Location"] == "/account/second-factor?" + urlencode({"next": "/device?user_code=BCDF-GHJK"})
