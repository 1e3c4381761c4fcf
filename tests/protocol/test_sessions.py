"""Native apps (RFC 8252), single sign-on across apps, and the prompt / max_age rules."""

from __future__ import annotations

import time

import pytest
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from applications.models import Scope
from tests.applications.factories import make_application
from tests.identity.factories import RoleFactory
from tests.protocol.conftest import query_of

pytestmark = pytest.mark.django_db(transaction=True)


def scopes(*names):
    return list(Scope.objects.filter(name__in=names))


def test_native_app_pkce_with_private_scheme_redirect(server, browser, user):
    application, _ = make_application(
        type="native",
        redirect_uris="com.example.tv:/callback",
        allowed_scopes=scopes("openid", "offline_access"),
        trusted=True,
    )
    client = OAuth2Session(
        application.client_id,
        scope="openid offline_access",
        redirect_uri="com.example.tv:/callback",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = generate_token(64)
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"), code_verifier=verifier)
    browser.sign_in(user.email)
    response = browser.authorize(url)
    assert response.headers["Location"].startswith("com.example.tv:/callback?code=")
    token = client.fetch_token(
        server.url("/oauth/token"), authorization_response=response.headers["Location"], code_verifier=verifier
    )
    assert "refresh_token" in token
    assert server.decode_id_token(token["id_token"], client_id=application.client_id)["sub"] == str(user.public_id)


def test_native_app_loopback_redirect_with_ephemeral_port(server, browser, user):
    application, _ = make_application(
        type="native", redirect_uris="http://127.0.0.1/callback", allowed_scopes=scopes("openid"), trusted=True
    )
    redirect_uri = "http://127.0.0.1:53682/callback"
    client = OAuth2Session(
        application.client_id,
        scope="openid",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = generate_token(64)
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"), code_verifier=verifier)
    browser.sign_in(user.email)
    response = browser.authorize(url)
    assert response.headers["Location"].startswith(redirect_uri + "?code=")
    token = client.fetch_token(
        server.url("/oauth/token"), authorization_response=response.headers["Location"], code_verifier=verifier
    )
    assert "id_token" in token


def test_second_app_signs_in_without_a_login_screen(server, browser, user):
    first, first_secret = make_application(
        type="web",
        name="First",
        redirect_uris="https://one.example.com/cb",
        allowed_scopes=scopes("openid"),
        trusted=True,
    )
    second, second_secret = make_application(
        type="web",
        name="Second",
        redirect_uris="https://two.example.com/cb",
        allowed_scopes=scopes("openid"),
        trusted=True,
    )
    browser.sign_in(user.email)
    for application, secret, callback in (
        (first, first_secret, "https://one.example.com/cb"),
        (second, second_secret, "https://two.example.com/cb"),
    ):
        client = OAuth2Session(application.client_id, secret, scope="openid", redirect_uri=callback)
        url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
        response = browser.get(url)
        assert response.headers["Location"].startswith(callback + "?code=")


def test_prompt_login_and_max_age_send_the_user_back_to_sign_in(server, browser, user):
    application, secret = make_application(
        type="web", redirect_uris="https://rp.example.com/cb", allowed_scopes=scopes("openid"), trusted=True
    )
    client = OAuth2Session(application.client_id, secret, scope="openid", redirect_uri="https://rp.example.com/cb")
    browser.sign_in(user.email)

    url, _ = client.create_authorization_url(server.url("/oauth/authorize"), prompt="login")
    response = browser.get(url)
    assert "/login?next=" in response.headers["Location"]
    next_url = query_of(response)["next"]
    assert "prompt" not in next_url
    signed_in = browser.sign_in(user.email, next_url=next_url)
    assert "code=" in browser.get(server.url(signed_in.headers["Location"])).headers["Location"]

    time.sleep(2)
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"), max_age="1")
    assert "/login?next=" in browser.get(url).headers["Location"]
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"), max_age="600")
    assert "code=" in browser.get(url).headers["Location"]
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"), max_age="1", prompt="none")
    assert query_of(browser.get(url))["error"] == "login_required"


def test_prompt_consent_shows_the_consent_page_even_for_a_trusted_app(server, browser, user):
    application, secret = make_application(
        type="web", redirect_uris="https://rp.example.com/cb", allowed_scopes=scopes("openid"), trusted=True
    )
    client = OAuth2Session(application.client_id, secret, scope="openid", redirect_uri="https://rp.example.com/cb")
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"), prompt="consent")
    browser.sign_in(user.email)
    response = browser.get(url)
    assert response.status_code == 200
    assert 'data-testid="consent-approve"' in response.text


def test_roles_scope_releases_the_users_roles(server, browser, user):
    role = RoleFactory(name="streaming:subscriber")
    user.roles.add(role)
    application, secret = make_application(
        type="web",
        redirect_uris="https://rp.example.com/cb",
        allowed_scopes=scopes("openid", "roles", "phone"),
        trusted=True,
    )
    client = OAuth2Session(
        application.client_id, secret, scope="openid roles", redirect_uri="https://rp.example.com/cb"
    )
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    browser.sign_in(user.email)
    token = client.fetch_token(
        server.url("/oauth/token"), authorization_response=browser.authorize(url).headers["Location"]
    )
    claims = server.decode_id_token(token["id_token"], client_id=application.client_id)
    assert claims["roles"] == ["streaming:subscriber"]
    assert "email" not in claims
    assert client.get(server.url("/oauth/userinfo")).json()["roles"] == ["streaming:subscriber"]
