"""The token endpoint's answers to a wrong or malformed exchange (RFC 6749 §5.2, RFC 7636)."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from applications.models import Scope
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db

CALLBACK = "https://rp.example.com/callback"
OTHER_CALLBACK = "https://rp.example.com/other"
VERIFIER = "v" * 43


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


@pytest.fixture
def web():
    return make_application(
        type="web",
        redirect_uris=f"{CALLBACK} {OTHER_CALLBACK}",
        trusted=True,
        allowed_scopes=list(Scope.objects.filter(name__in=["openid", "offline_access"])),
    )


def basic(application, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()


def code_for(client, application, **extra) -> str:
    client.force_login(UserFactory())
    response = client.get(
        "/oauth/authorize",
        {"response_type": "code", "client_id": application.client_id, "redirect_uri": CALLBACK, "scope": "openid"}
        | extra,
    )
    assert response.status_code == 302, response.content
    return parse_qs(urlsplit(response["Location"]).query)["code"][0]


def exchange(client, application, secret: str, **data):
    body = {"grant_type": "authorization_code", "redirect_uri": CALLBACK} | data
    return client.post("/oauth/token", body, HTTP_AUTHORIZATION=basic(application, secret))


# --- item 7: the code's redirect URI, its challenge, an empty code --------------------------------
def test_code_exchange_with_another_registered_redirect_uri_is_invalid_grant(client, web):
    # RFC 6749 §5.2: the redirect URI "does not match the redirection URI used in the authorization request".
    application, secret = web
    code = code_for(client, application)

    response = exchange(client, application, secret, code=code, redirect_uri=OTHER_CALLBACK)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert exchange(client, application, secret, code=code).status_code == 200  # the code was not used up


def test_code_issued_with_a_challenge_and_exchanged_without_verifier_is_invalid_grant(client, web):
    application, secret = web
    code = code_for(client, application, code_challenge=s256(VERIFIER), code_challenge_method="S256")

    for missing in ({}, {"code_verifier": ""}):
        response = exchange(client, application, secret, code=code, **missing)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"
    assert exchange(client, application, secret, code=code, code_verifier=VERIFIER).status_code == 200


def test_an_empty_code_is_a_missing_code_invalid_request(client, web):
    application, secret = web

    response = exchange(client, application, secret, code="")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "code" in response.json()["error_description"]


# --- item 8: the verifier's own syntax ------------------------------------------------------------
@pytest.mark.parametrize(
    "verifier",
    ["v" * 42, "v" * 129, "v" * 42 + "!", "v" * 42 + " ", "v" * 42 + "+", "é" * 43],
    ids=["too-short", "too-long", "bang", "space", "plus", "non-ascii"],
)
def test_a_malformed_code_verifier_is_invalid_request_even_when_it_matches_its_challenge(client, web, verifier):
    # RFC 7636 §4.1: 43 to 128 characters of [A-Z a-z 0-9 - . _ ~]. A verifier outside that syntax
    # is a malformed parameter, not a wrong one: invalid_request (RFC 6749 §5.2), before the code is
    # judged, so the client learns to fix its request rather than to restart the authorization.
    application, secret = web
    code = code_for(client, application, code_challenge=s256(verifier), code_challenge_method="S256")

    response = exchange(client, application, secret, code=code, code_verifier=verifier)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "code_verifier" in response.json()["error_description"]
    assert exchange(client, application, secret, code=code, code_verifier=verifier).status_code == 400


def test_a_well_formed_code_verifier_of_every_allowed_character_is_accepted(client, web):
    application, secret = web
    verifier = "AZaz09-._~" * 5
    code = code_for(client, application, code_challenge=s256(verifier), code_challenge_method="S256")

    assert exchange(client, application, secret, code=code, code_verifier=verifier).status_code == 200


# --- item 12: the request's form -------------------------------------------------------------------
def test_a_token_request_without_grant_type_is_invalid_request(client, web):
    application, secret = web

    response = client.post("/oauth/token", {"code": "abc"}, HTTP_AUTHORIZATION=basic(application, secret))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "grant_type" in response.json()["error_description"]
    assert response["Cache-Control"] == "no-store"


def test_a_token_request_with_a_json_body_is_invalid_request(client, web):
    # RFC 6749 §3.2: the token request is application/x-www-form-urlencoded.
    application, secret = web

    response = client.post(
        "/oauth/token",
        json.dumps({"grant_type": "client_credentials"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(application, secret),
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "application/x-www-form-urlencoded" in response.json()["error_description"]
