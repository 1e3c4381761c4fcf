"""How the endpoints that authenticate a client answer a failed or doubled authentication (RFC 6749 §2.3, §5.2)."""

from __future__ import annotations

import base64

import pytest

from applications.models import Scope
from tests.applications.factories import make_application

pytestmark = pytest.mark.django_db

# Each endpoint with a request that is valid apart from client authentication.
ENDPOINTS = {
    "/oauth/token": {"grant_type": "client_credentials"},
    "/oauth/introspect": {"token": "some-token"},
    "/oauth/revoke": {"token": "some-token"},
}


@pytest.fixture
def m2m():
    return make_application(type="m2m", allowed_scopes=list(Scope.objects.filter(name="management:read")))


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("who", ["wrong-secret", "unknown-client"])
def test_failed_basic_authentication_is_401_with_a_basic_challenge(client, m2m, path, who):
    # RFC 6749 §5.2: the WWW-Authenticate header matches "the authentication scheme used by the client".
    application, secret = m2m
    client_id, client_secret = (application.client_id, "wrong") if who == "wrong-secret" else ("unknown", secret)

    response = client.post(path, ENDPOINTS[path], HTTP_AUTHORIZATION=basic(client_id, client_secret))

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"].startswith("Basic realm=")
    assert "Bearer" not in response["WWW-Authenticate"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_failed_body_authentication_never_challenges_with_bearer(client, m2m, path):
    # RFC 6749 §5.2: without an Authorization header the 401 names the HTTP scheme the server supports.
    application, _ = m2m

    response = client.post(path, {**ENDPOINTS[path], "client_id": application.client_id, "client_secret": "wrong"})

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"].startswith("Basic realm=")


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("body_secret", ["right", "wrong", ""])
def test_basic_and_a_body_client_secret_together_are_invalid_request(client, m2m, path, body_secret):
    # RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request."
    application, secret = m2m
    body = {**ENDPOINTS[path], "client_secret": {"right": secret, "wrong": "wrong", "": ""}[body_secret]}

    response = client.post(path, body, HTTP_AUTHORIZATION=basic(application.client_id, secret))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "WWW-Authenticate" not in response


def test_unknown_client_at_the_device_authorization_endpoint_gets_a_basic_challenge(client):
    response = client.post(
        "/oauth/device", "client_id=unknown&scope=openid", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"].startswith("Basic realm=")
