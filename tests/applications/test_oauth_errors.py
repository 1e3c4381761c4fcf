"""Bad input at the protocol endpoints gets an OAuth error or a 4xx page, never a 500."""

from __future__ import annotations

import base64

import pytest

from applications.models import Scope
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory

CALLBACK = "https://rp.example.com/callback"


@pytest.fixture
def web(db):
    application, secret = make_application(
        type="web",
        redirect_uris=CALLBACK,
        trusted=True,
        allowed_scopes=list(Scope.objects.filter(name__in=["openid", "offline_access"])),
    )
    return application, secret


@pytest.fixture
def signed_in(client, db):
    client.force_login(UserFactory())
    return client


def authorize_params(application, **extra):
    return {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": CALLBACK,
        "scope": "openid",
        "state": "st",
        **extra,
    }


@pytest.mark.parametrize(
    "extra",
    [
        {"state": "s" * 5000},
        {"nonce": "n" * 5000},
        {"code_challenge": "c" * 500, "code_challenge_method": "S256"},
        {"code_challenge": "short", "code_challenge_method": "S256"},
        {
            "code_challenge": "has spaces in it and is long enough to pass length checks ok",
            "code_challenge_method": "S256",
        },
        {"max_age": "-1"},
        {"max_age": "9" * 30},
        {"prompt": "none login"},
        {"prompt": "select_account"},
        {"response_type": "token"},
        {"response_type": "code id_token"},
        {"response_type": ""},
        {"scope": "openid " + "x" * 5000},
        {"claims": "{not json"},
        {"id_token_hint": "garbage"},
        {"ui_locales": "\x00"},
        {"state": "\x00null"},
    ],
)
def test_authorize_malformed_parameters_never_500(signed_in, web, extra):
    application, _ = web
    response = signed_in.get("/oauth/authorize", authorize_params(application, **extra))
    assert response.status_code < 500
    if response.status_code == 302 and response["Location"].startswith(CALLBACK):
        assert "error=" in response["Location"] or "code=" in response["Location"]


def test_authorize_duplicated_parameter_is_an_error_page(signed_in, web):
    application, _ = web
    query = (
        "&".join(f"{k}={v}" for k, v in authorize_params(application).items()) + f"&client_id={application.client_id}"
    )
    response = signed_in.get(f"/oauth/authorize?{query}")
    assert response.status_code == 400
    assert "Location" not in response


@pytest.mark.parametrize("method", ["get", "post"])
def test_authorize_oversized_state_is_an_error_page_never_a_redirect_without_it(signed_in, web, method):
    application, _ = web
    response = getattr(signed_in, method)("/oauth/authorize", authorize_params(application, state="s" * 5000))
    assert response.status_code == 400
    assert "Location" not in response
    assert 'data-testid="oauth-error"' in response.content.decode()
    assert "state" in response.content.decode()


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("scope", ["openid", "openid offline_access"])
def test_openid_request_without_redirect_uri_is_an_error_page_even_with_one_registered(signed_in, web, method, scope):
    application, _ = web
    params = {k: v for k, v in authorize_params(application, scope=scope).items() if k != "redirect_uri"}
    response = getattr(signed_in, method)("/oauth/authorize", params)
    assert response.status_code == 400
    assert "Location" not in response
    page = response.content.decode()
    assert 'data-testid="oauth-error"' in page
    assert "invalid_request" in page and "redirect_uri" in page


def test_plain_oauth_request_without_redirect_uri_uses_the_one_registered(signed_in, web):
    application, _ = web
    params = {k: v for k, v in authorize_params(application, scope="offline_access").items() if k != "redirect_uri"}
    response = signed_in.get("/oauth/authorize", params)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{CALLBACK}?code=")


def basic(application, secret) -> str:
    return "Basic " + base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "invalid_request"),  # no grant_type: a missing parameter, not an unknown grant
        ({"grant_type": "password", "username": "a", "password": "b"}, "unsupported_grant_type"),
        ({"grant_type": "implicit"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code"}, "invalid_request"),
        ({"grant_type": "authorization_code", "code": "x" * 5000, "redirect_uri": CALLBACK}, "invalid_grant"),
        ({"grant_type": "authorization_code", "code": "nope", "redirect_uri": CALLBACK}, "invalid_grant"),
        ({"grant_type": "authorization_code", "code": "a\x00b", "redirect_uri": CALLBACK}, "invalid_grant"),
        (
            {"grant_type": "authorization_code", "code": "nope", "redirect_uri": CALLBACK, "code_verifier": "v" * 500},
            "invalid_request",  # a code_verifier longer than RFC 7636 §4.1 allows is malformed
        ),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "\x00"}, "invalid_grant"),
        ({"grant_type": "refresh_token", "refresh_token": "r" * 5000}, "invalid_grant"),
        ({"grant_type": "client_credentials"}, "unauthorized_client"),
        ({"grant_type": "urn:ietf:params:oauth:grant-type:device_code"}, None),
    ],
)
def test_token_malformed_requests_get_rfc6749_errors(client, web, data, error):
    application, secret = web
    response = client.post("/oauth/token", data, HTTP_AUTHORIZATION=basic(application, secret))
    assert 400 <= response.status_code < 500, response.content
    body = response.json()
    if error:
        assert body["error"] == error
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic",
        "Basic !!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
        "Bearer abc",
        "Basic " + base64.b64encode(b"%zz:%zz").decode(),
        "Basic " + base64.b64encode(b"a%00b:secret").decode(),  # a NUL in the client_id
    ],
)
def test_token_malformed_client_authentication_is_invalid_client(client, db, authorization):
    response = client.post("/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=authorization)
    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("invalid_client", "invalid_request")


def test_userinfo_without_token_is_401_with_no_store(client, db):
    response = client.get("/oauth/userinfo")
    assert response.status_code == 401
    assert "WWW-Authenticate" in response


@pytest.mark.parametrize("parameter", ["grant_type", "code", "redirect_uri", "client_id", "code_verifier"])
def test_token_repeated_parameter_is_invalid_request(client, web, parameter):
    application, secret = web
    values = {
        "grant_type": "authorization_code",
        "code": "abc",
        "redirect_uri": CALLBACK,
        "client_id": application.client_id,
        "client_secret": secret,
        "code_verifier": "v" * 43,
    }
    body = "&".join(f"{k}={v}" for k, v in values.items()) + f"&{parameter}={values[parameter]}"
    response = client.post("/oauth/token", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert parameter in response.json()["error_description"]
