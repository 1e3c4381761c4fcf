"""CORS per application against a running server: real preflights, then the browser's real requests."""

from __future__ import annotations

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from applications import services
from applications.models import Scope
from tests.applications.factories import make_application
from tests.protocol.conftest import query_of

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = "https://spa.example.com"
CALLBACK = "https://spa.example.com/callback"
ENDPOINTS = ["/oauth/token", "/oauth/userinfo", "/oauth/revoke", "/oauth/introspect"]


def spa_app(**fields):
    return make_application(
        type="spa",
        redirect_uris=CALLBACK,
        allowed_origins=ORIGIN,
        allowed_scopes=list(Scope.objects.filter(name__in=["openid", "profile"])),
        trusted=True,
        **fields,
    )[0]


def preflight(server, path: str, origin: str) -> requests.Response:
    return requests.options(
        server.url(path),
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
        timeout=10,
    )


def cors_headers(response: requests.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


def test_cors_spa_preflights_and_exchanges_code_from_its_origin(server, browser, user):
    application = spa_app()
    for path in ENDPOINTS:
        response = preflight(server, path, ORIGIN)
        assert response.status_code == 200, path
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN, path
        assert "POST" in response.headers["Access-Control-Allow-Methods"]
        assert "authorization" in response.headers["Access-Control-Allow-Headers"]
        assert "Access-Control-Allow-Credentials" not in response.headers

    client = OAuth2Session(
        application.client_id, scope="openid profile", redirect_uri=CALLBACK, code_challenge_method="S256"
    )
    verifier = generate_token(48)
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"), code_verifier=verifier)
    browser.sign_in(user.email)
    code = query_of(browser.authorize(url))["code"]

    token = requests.post(
        server.url("/oauth/token"),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": application.client_id,
            "code_verifier": verifier,
        },
        headers={"Origin": ORIGIN},
        timeout=10,
    )
    assert token.status_code == 200, token.text
    assert token.headers["Access-Control-Allow-Origin"] == ORIGIN
    access_token = token.json()["access_token"]

    userinfo = requests.get(
        server.url("/oauth/userinfo"),
        headers={"Origin": ORIGIN, "Authorization": f"Bearer {access_token}"},
        timeout=10,
    )
    assert userinfo.status_code == 200
    assert userinfo.headers["Access-Control-Allow-Origin"] == ORIGIN

    revoke = requests.post(
        server.url("/oauth/revoke"),
        data={"token": access_token, "client_id": application.client_id},
        headers={"Origin": ORIGIN},
        timeout=10,
    )
    assert revoke.status_code == 200
    assert revoke.headers["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.parametrize("path", ENDPOINTS)
def test_cors_preflight_from_unlisted_origin_gets_no_cors_headers(server, path):
    spa_app()

    response = preflight(server, path, "https://evil.example.net")

    assert cors_headers(response) == {}


def test_cors_origin_added_through_service_works_at_once(server):
    application = spa_app()
    added = "https://beta.example.com"
    assert cors_headers(preflight(server, "/oauth/token", added)) == {}  # the server's cache is warm without it

    application.allowed_origins = f"{ORIGIN}\n{added}"
    services.application_update(actor=None, application=application)

    assert preflight(server, "/oauth/token", added).headers["Access-Control-Allow-Origin"] == added


def test_cors_deactivated_app_origin_gets_no_cors_headers_at_once(server):
    application = spa_app()
    assert preflight(server, "/oauth/token", ORIGIN).headers["Access-Control-Allow-Origin"] == ORIGIN

    services.application_deactivate(actor=None, application=application)

    assert cors_headers(preflight(server, "/oauth/token", ORIGIN)) == {}


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/.well-known/jwks.json"])
def test_cors_discovery_and_jwks_are_public_to_any_origin(server, path):
    spa_app()
    for origin in (ORIGIN, "https://evil.example.net"):
        response = requests.get(server.url(path), headers={"Origin": origin}, timeout=10)
        assert response.status_code == 200
        assert response.headers["Access-Control-Allow-Origin"] == "*"
