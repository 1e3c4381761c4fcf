"""Token introspection (RFC 7662) and revocation (RFC 7009), driven against a running server."""

from __future__ import annotations

import base64
import time
import uuid
from datetime import timedelta

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model, set_token_value

from applications import services
from applications.models import Scope, TokenRevocation
from tests.applications.factories import ScopeFactory, make_application

pytestmark = pytest.mark.django_db(transaction=True)
AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()

CALLBACK = {
    "web": "https://rp.example.com/callback",
    "spa": "http://localhost:5173/callback",
    "native": "com.example.app:/callback",
}
USER_SCOPE = "openid profile offline_access"


# --- helpers -----------------------------------------------------------------------------------
def user_app(app_type: str = "web", **fields):
    allowed = list(Scope.objects.filter(name__in=USER_SCOPE.split()))
    extra = {"allowed_origins": "http://localhost:5173"} if app_type == "spa" else {}
    return make_application(
        type=app_type, redirect_uris=CALLBACK[app_type], allowed_scopes=allowed, trusted=True, **extra, **fields
    )


def m2m_app(**fields):
    scope = Scope.objects.filter(name="events:read").first() or ScopeFactory(name="events:read")
    return make_application(type="m2m", allowed_scopes=[scope], **fields)


def user_tokens(server, browser, user, application, secret=None) -> dict:
    """Access and refresh tokens for `user` through the authorization code flow (PKCE for public clients)."""
    public = secret is None
    client = OAuth2Session(
        application.client_id,
        secret,
        scope=USER_SCOPE,
        redirect_uri=CALLBACK[application.type],
        code_challenge_method="S256" if public else None,
        token_endpoint_auth_method="none" if public else "client_secret_basic",
    )
    verifier = generate_token(48)
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"), code_verifier=verifier)
    browser.sign_in(user.email)
    response = browser.authorize(url)
    return client.fetch_token(
        server.url("/oauth/token"),
        authorization_response=response.headers["Location"],
        code_verifier=verifier if public else None,
    )


def m2m_token(server, application, secret) -> str:
    client = OAuth2Session(application.client_id, secret, token_endpoint_auth_method="client_secret_basic")
    return client.fetch_token(server.url("/oauth/token"), grant_type="client_credentials")["access_token"]


def introspect(server, application, secret, token=None, **extra) -> requests.Response:
    data = {"token": token, **extra} if token is not None else extra
    return requests.post(server.url("/oauth/introspect"), data=data, auth=(application.client_id, secret), timeout=10)


def revoke(server, application, secret, token, **extra) -> requests.Response:
    data = {"token": token, **extra}
    if secret is None:  # a public client identifies itself with client_id only
        return requests.post(server.url("/oauth/revoke"), data={**data, "client_id": application.client_id}, timeout=10)
    return requests.post(server.url("/oauth/revoke"), data=data, auth=(application.client_id, secret), timeout=10)


# --- introspection -----------------------------------------------------------------------------
def test_introspect_client_credentials_token_is_active_without_sub(server):
    application, secret = m2m_app(access_token_ttl=600)
    token = m2m_token(server, application, secret)
    now = int(time.time())

    response = introspect(server, application, secret, token)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["active"] is True
    assert body["scope"] == "events:read"
    assert body["client_id"] == application.client_id
    assert body["token_type"] == "Bearer"
    assert body["iss"] == server.base
    assert now - 5 <= body["iat"] <= now + 5
    assert body["exp"] - body["iat"] == 600
    assert "sub" not in body


def test_introspect_user_access_token_with_post_auth_carries_sub_and_no_personal_data(server, browser, user):
    application, secret = user_app()
    tokens = user_tokens(server, browser, user, application, secret)

    response = requests.post(
        server.url("/oauth/introspect"),
        data={"token": tokens["access_token"], "client_id": application.client_id, "client_secret": secret},
        timeout=10,
    )

    body = response.json()
    assert response.status_code == 200
    assert body["active"] is True
    assert body["sub"] == str(user.public_id)
    assert set(body["scope"].split()) == set(USER_SCOPE.split())
    assert body["token_type"] == "Bearer"
    assert "username" not in body
    assert "email" not in body


@pytest.mark.parametrize("hint", [None, "refresh_token", "access_token", "something_else"])
def test_introspect_refresh_token_with_any_hint_is_active_as_refresh_token(server, browser, user, hint):
    application, secret = user_app(refresh_token_ttl=3600)
    tokens = user_tokens(server, browser, user, application, secret)
    extra = {"token_type_hint": hint} if hint else {}

    body = introspect(server, application, secret, tokens["refresh_token"], **extra).json()

    assert body["active"] is True
    assert body["token_type"] == "refresh_token"
    assert body["sub"] == str(user.public_id)
    assert body["client_id"] == application.client_id
    assert set(body["scope"].split()) == set(USER_SCOPE.split())
    assert body["exp"] - body["iat"] == 3600


def test_introspect_access_token_with_refresh_hint_still_found(server, browser, user):
    application, secret = user_app()
    tokens = user_tokens(server, browser, user, application, secret)
    body = introspect(server, application, secret, tokens["access_token"], token_type_hint="refresh_token").json()
    assert body["active"] is True
    assert body["token_type"] == "Bearer"


def test_introspect_unknown_token_is_only_active_false(server):
    application, secret = m2m_app()
    response = introspect(server, application, secret, "not-a-token")
    assert response.status_code == 200
    assert response.json() == {"active": False}
    assert response.headers["Cache-Control"] == "no-store"


def test_introspect_foreign_token_is_inactive_but_active_for_its_owner(server, browser, user):
    owner, owner_secret = m2m_app()
    other, other_secret = m2m_app()
    web, web_secret = user_app()
    m2m_access = m2m_token(server, owner, owner_secret)
    tokens = user_tokens(server, browser, user, web, web_secret)

    for token in (m2m_access, tokens["access_token"], tokens["refresh_token"]):
        assert introspect(server, other, other_secret, token).json() == {"active": False}
    assert introspect(server, web, web_secret, m2m_access).json() == {"active": False}
    assert introspect(server, owner, owner_secret, m2m_access).json()["active"] is True


def test_introspect_expired_tokens_are_inactive(server, browser, user):
    application, secret = user_app()
    tokens = user_tokens(server, browser, user, application, secret)
    long_ago = timezone.now() - timedelta(days=365)
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    RefreshToken.objects.update(created=long_ago)

    assert introspect(server, application, secret, tokens["access_token"]).json() == {"active": False}
    assert introspect(server, application, secret, tokens["refresh_token"]).json() == {"active": False}


def test_introspect_tokens_of_inactive_user_are_inactive(server, browser, user):
    application, secret = user_app()
    tokens = user_tokens(server, browser, user, application, secret)
    user.is_active = False
    user.save()

    assert introspect(server, application, secret, tokens["access_token"]).json() == {"active": False}
    assert introspect(server, application, secret, tokens["refresh_token"]).json() == {"active": False}


def test_introspect_rotated_out_refresh_token_is_inactive_and_new_pair_active(server, browser, user):
    application, secret = user_app()
    tokens = user_tokens(server, browser, user, application, secret)
    new = server.refresh(application, secret, tokens["refresh_token"]).json()

    assert introspect(server, application, secret, tokens["refresh_token"]).json() == {"active": False}
    assert introspect(server, application, secret, tokens["access_token"]).json() == {"active": False}
    assert introspect(server, application, secret, new["refresh_token"]).json()["active"] is True
    assert introspect(server, application, secret, new["access_token"]).json()["active"] is True


@pytest.mark.parametrize("app_type", ["spa", "native"])
def test_introspect_by_public_client_is_401_invalid_client(server, browser, user, app_type):
    application, _ = user_app(app_type)
    tokens = user_tokens(server, browser, user, application)
    attempts = [
        requests.post(
            server.url("/oauth/introspect"),
            data={"token": tokens["access_token"], "client_id": application.client_id},
            timeout=10,
        ),
        introspect(server, application, "", tokens["access_token"]),  # Basic with an empty secret
    ]
    for response in attempts:
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert "WWW-Authenticate" in response.headers
        assert response.headers["Cache-Control"] == "no-store"


def test_introspect_wrong_secret_or_unknown_client_is_401_invalid_client(server):
    application, secret = m2m_app()
    token = m2m_token(server, application, secret)
    for client_id, client_secret in ((application.client_id, "wrong"), ("unknown", secret)):
        response = requests.post(
            server.url("/oauth/introspect"), data={"token": token}, auth=(client_id, client_secret), timeout=10
        )
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert "WWW-Authenticate" in response.headers


def test_introspect_by_inactive_client_is_401_invalid_client(server):
    application, secret = m2m_app()
    token = m2m_token(server, application, secret)
    services.application_deactivate(actor=None, application=application)

    response = introspect(server, application, secret, token)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_introspect_with_secret_in_grace_period_works(server):
    application, old = m2m_app()
    token = m2m_token(server, application, old)
    new = services.application_rotate_secret(actor=None, application=application, grace_period_seconds=300)
    for secret in (old, new):
        assert introspect(server, application, secret, token).json()["active"] is True


def test_introspect_missing_token_is_400_invalid_request(server):
    application, secret = m2m_app()
    response = introspect(server, application, secret)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.headers["Cache-Control"] == "no-store"


def test_introspect_duplicated_token_is_400_invalid_request(server):
    application, secret = m2m_app()
    token = m2m_token(server, application, secret)
    response = requests.post(
        server.url("/oauth/introspect"),
        data=[("token", "unknown"), ("token", token)],
        auth=(application.client_id, secret),
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_introspect_token_in_query_string_or_get_is_refused(server):
    application, secret = m2m_app()
    token = m2m_token(server, application, secret)
    in_query = requests.post(
        server.url("/oauth/introspect"), params={"token": token}, auth=(application.client_id, secret), timeout=10
    )
    assert in_query.status_code == 400
    assert in_query.json()["error"] == "invalid_request"
    get = requests.get(
        server.url("/oauth/introspect"), params={"token": token}, auth=(application.client_id, secret), timeout=10
    )
    assert get.status_code == 405


# --- revocation --------------------------------------------------------------------------------
def test_revoke_access_token_revokes_its_refresh_token(server, browser, user):
    application, secret = user_app()
    tokens = user_tokens(server, browser, user, application, secret)
    assert server.userinfo_status(tokens["access_token"]) == 200

    response = revoke(server, application, secret, tokens["access_token"], token_type_hint="access_token")

    assert response.status_code == 200
    assert server.userinfo_status(tokens["access_token"]) == 401
    assert server.refresh(application, secret, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert introspect(server, application, secret, tokens["refresh_token"]).json() == {"active": False}


@pytest.mark.parametrize("hint", [None, "refresh_token", "access_token"])
def test_revoke_refresh_token_revokes_its_access_token(server, browser, user, hint):
    application, secret = user_app()
    tokens = user_tokens(server, browser, user, application, secret)
    extra = {"token_type_hint": hint} if hint else {}

    response = revoke(server, application, secret, tokens["refresh_token"], **extra)

    assert response.status_code == 200
    assert server.userinfo_status(tokens["access_token"]) == 401
    assert server.refresh(application, secret, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert introspect(server, application, secret, tokens["access_token"]).json() == {"active": False}


def test_revoke_rotated_out_refresh_token_ends_the_whole_grant(server, browser, user):
    """RFC 7009 §2.1: every token of the same grant goes, including those issued after rotation."""
    application, secret = user_app()
    tokens = user_tokens(server, browser, user, application, secret)
    newest = server.refresh(application, secret, tokens["refresh_token"]).json()
    assert server.userinfo_status(newest["access_token"]) == 200

    assert revoke(server, application, secret, tokens["refresh_token"]).status_code == 200

    assert server.userinfo_status(newest["access_token"]) == 401
    assert introspect(server, application, secret, newest["refresh_token"]).json() == {"active": False}


def test_revoke_leaves_other_grants_of_the_same_client_alone(server, browser, user):
    application, secret = user_app()
    first = user_tokens(server, browser, user, application, secret)
    second = user_tokens(server, browser, user, application, secret)

    revoke(server, application, secret, first["refresh_token"])

    assert server.userinfo_status(first["access_token"]) == 401
    assert server.userinfo_status(second["access_token"]) == 200
    assert server.refresh(application, secret, second["refresh_token"]).status_code == 200


def test_revoke_another_clients_token_is_200_and_token_keeps_working(server, browser, user):
    victim, victim_secret = user_app()
    attacker, attacker_secret = user_app()
    spa, _ = user_app("spa")
    tokens = user_tokens(server, browser, user, victim, victim_secret)

    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert revoke(server, attacker, attacker_secret, token).status_code == 200
        assert revoke(server, spa, None, token).status_code == 200

    assert server.userinfo_status(tokens["access_token"]) == 200
    assert introspect(server, victim, victim_secret, tokens["refresh_token"]).json()["active"] is True
    assert server.refresh(victim, victim_secret, tokens["refresh_token"]).status_code == 200


@pytest.mark.parametrize("app_type", ["spa", "native"])
def test_revoke_by_public_client_with_client_id_only_revokes_its_token(server, browser, user, app_type):
    application, _ = user_app(app_type)
    tokens = user_tokens(server, browser, user, application)
    assert server.userinfo_status(tokens["access_token"]) == 200

    response = revoke(server, application, None, tokens["refresh_token"])

    assert response.status_code == 200
    assert server.userinfo_status(tokens["access_token"]) == 401
    assert server.refresh(application, None, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_revoke_client_credentials_token(server):
    application, secret = m2m_app()
    token = m2m_token(server, application, secret)
    assert revoke(server, application, secret, token).status_code == 200
    assert introspect(server, application, secret, token).json() == {"active": False}


def test_revoke_unknown_token_is_200(server):
    application, secret = m2m_app()
    assert revoke(server, application, secret, "not-a-token").status_code == 200


def test_revoke_by_inactive_client_is_401_invalid_client(server, browser, user):
    application, secret = user_app()
    tokens = user_tokens(server, browser, user, application, secret)
    services.application_deactivate(actor=None, application=application)

    response = revoke(server, application, secret, tokens["access_token"])

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in response.headers


def test_revoke_by_confidential_client_without_or_with_wrong_secret_is_401(server):
    application, secret = m2m_app()
    token = m2m_token(server, application, secret)
    for response in (
        requests.post(
            server.url("/oauth/revoke"), data={"token": token, "client_id": application.client_id}, timeout=10
        ),
        revoke(server, application, "wrong", token),
    ):
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
    assert introspect(server, application, secret, token).json()["active"] is True


def test_revoke_missing_or_duplicated_token_is_400_invalid_request(server):
    application, secret = m2m_app()
    for data in ({}, [("token", "a"), ("token", "b")]):
        response = requests.post(
            server.url("/oauth/revoke"), data=data, auth=(application.client_id, secret), timeout=10
        )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"


# --- query budgets (Django test client) --------------------------------------------------------
def _basic(application, secret) -> str:
    return "Basic " + base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()


def _stored_tokens(application, user) -> tuple[str, str]:
    """An access token and its refresh token, saved as the token endpoint saves them."""
    access = AccessToken(
        user=user, application=application, scope=USER_SCOPE, expires=timezone.now() + timedelta(hours=1)
    )
    raw_access, raw_refresh = "access-" + generate_token(30), "refresh-" + generate_token(30)
    set_token_value(access, raw_access)
    access.save()
    refresh_row = RefreshToken(user=user, application=application, access_token=access, token_family=uuid.uuid4())
    set_token_value(refresh_row, raw_refresh)
    refresh_row.save()
    return raw_access, raw_refresh


@pytest.fixture
def stamped(client, user):
    """A confidential client whose secret's last-used stamp is fresh, and two of its tokens."""
    application, secret = user_app()
    auth = _basic(application, secret)
    client.post("/oauth/introspect", {"token": "warm-up"}, HTTP_AUTHORIZATION=auth)  # stamps last-used
    return application, auth, _stored_tokens(application, user)


@pytest.mark.parametrize("which", [0, 1])
def test_revoke_ends_the_users_jwt_access_tokens_at_the_client_once(client, stamped, user, which):
    application, auth, tokens = stamped

    for _ in range(2):  # the second time the grant is already revoked: nothing more
        assert client.post("/oauth/revoke", {"token": tokens[which]}, HTTP_AUTHORIZATION=auth).status_code == 200

    assert list(TokenRevocation.objects.values_list("subject", "client_id", "reason")) == [
        (str(user.public_id), application.client_id, "revoked_by_client")
    ]


@pytest.mark.parametrize(
    ("which", "hint"), [("access", None), ("refresh", None), ("refresh", "refresh_token"), ("unknown", None)]
)
def test_introspect_query_budget(client, django_assert_max_num_queries, stamped, which, hint):
    application, auth, (access, refresh_token) = stamped
    token = {"access": access, "refresh": refresh_token, "unknown": "nope"}[which]
    data = {"token": token, **({"token_type_hint": hint} if hint else {})}
    with django_assert_max_num_queries(3):
        response = client.post("/oauth/introspect", data, HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200
    assert response.json()["active"] is (which != "unknown")


@pytest.mark.parametrize("which", ["access", "refresh", "unknown"])
def test_revoke_query_budget(client, django_assert_max_num_queries, stamped, which):
    application, auth, (access, refresh_token) = stamped
    token = {"access": access, "refresh": refresh_token, "unknown": "nope"}[which]
    # Client, token (a refresh token sent without a hint is first looked for as an access token),
    # then django-oauth-toolkit's revoke_family: BEGIN, family update, access-token delete, COMMIT.
    # +4 for tokens.revoked: whether the family held a live token, its INSERT, and the savepoint that
    # puts the revocation and its event in one transaction. +1: the not-before entry for the user at the
    # client, which reaches the grant's JWT access tokens (they have no row).
    with django_assert_max_num_queries(14):
        response = client.post("/oauth/revoke", {"token": token}, HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200
    assert not AccessToken.objects.filter(application=application).exists() or which == "unknown"
