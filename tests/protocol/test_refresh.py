"""Refresh tokens: rotation per app, replay detection, lifetimes, and concurrent refreshes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from django.utils import timezone
from oauth2_provider.models import get_refresh_token_model

from applications import policies
from applications.models import Scope, TokenRevocation
from applications.oauth.validator import token_checksum
from tests.applications.factories import make_application, not_before_entries
from tests.protocol.conftest import query_of

pytestmark = pytest.mark.django_db(transaction=True)
RefreshToken = get_refresh_token_model()
CALLBACK = "https://rp.example.com/callback"


def web_app(**fields):
    allowed = list(Scope.objects.filter(name__in=["openid", "profile", "offline_access"]))
    return make_application(type="web", redirect_uris=CALLBACK, allowed_scopes=allowed, trusted=True, **fields)


def first_tokens(server, browser, user, application, secret) -> dict:
    client = OAuth2Session(application.client_id, secret, scope="openid profile offline_access", redirect_uri=CALLBACK)
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    browser.sign_in(user.email)
    response = browser.authorize(url)
    return client.fetch_token(server.url("/oauth/token"), authorization_response=response.headers["Location"])


def test_refresh_with_rotation_returns_new_token_and_old_one_stops(server, browser, user):
    application, secret = web_app(access_token_ttl=120)
    tokens = first_tokens(server, browser, user, application, secret)

    response = server.refresh(application, secret, tokens["refresh_token"])

    assert response.status_code == 200, response.text
    new = response.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert new["expires_in"] == 120
    assert server.userinfo_status(new["access_token"]) == 200
    assert server.userinfo_status(tokens["access_token"]) == 401  # the old access token was deleted
    assert server.refresh(application, secret, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    claims = server.decode_id_token(new["id_token"], client_id=application.client_id)
    original = server.decode_id_token(tokens["id_token"], client_id=application.client_id)
    assert claims["auth_time"] == original["auth_time"]  # the sign-in, not the refresh


def rotated_long_ago(refresh_token: str) -> None:
    """As if the token had been rotated out before the lost-race window (policies.LOST_RACE_SECONDS)."""
    long_ago = timezone.now() - timedelta(seconds=policies.LOST_RACE_SECONDS + 1)
    RefreshToken.objects.filter(token_checksum=token_checksum(refresh_token)).update(revoked=long_ago)


def test_refresh_replay_of_rotated_token_revokes_the_whole_family(server, browser, user):
    application, secret = web_app()
    tokens = first_tokens(server, browser, user, application, secret)
    newest = server.refresh(application, secret, tokens["refresh_token"]).json()
    rotated_long_ago(tokens["refresh_token"])

    replay = server.refresh(application, secret, tokens["refresh_token"])

    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert server.refresh(application, secret, newest["refresh_token"]).json()["error"] == "invalid_grant"
    assert server.userinfo_status(newest["access_token"]) == 401


def test_refresh_replay_ends_the_users_jwt_access_tokens_at_that_application_once(server, browser, user):
    application, secret = web_app()
    tokens = first_tokens(server, browser, user, application, secret)
    server.refresh(application, secret, tokens["refresh_token"])
    rotated_long_ago(tokens["refresh_token"])

    server.refresh(application, secret, tokens["refresh_token"])
    server.refresh(application, secret, tokens["refresh_token"])  # the family is already revoked: nothing more

    assert not_before_entries() == {(str(user.public_id), application.client_id, "refresh_token_replayed")}
    assert TokenRevocation.objects.count() == 1


@pytest.mark.parametrize("rotation", [True, False])
def test_refresh_with_a_resource_the_client_may_not_use_is_invalid_target(server, browser, user, rotation):
    # RFC 8707 §2: a refresh token without resources must not become a token for any audience asked.
    application, secret = web_app(refresh_token_rotation=rotation)
    tokens = first_tokens(server, browser, user, application, secret)

    response = requests.post(
        server.url("/oauth/token"),
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "resource": "https://attacker.example.com",
        },
        auth=(application.client_id, secret),
        timeout=10,
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"
    assert server.refresh(application, secret, tokens["refresh_token"]).status_code == 200  # nothing was used up


def test_refresh_without_rotation_keeps_the_refresh_token(server, browser, user):
    application, secret = web_app(refresh_token_rotation=False)
    tokens = first_tokens(server, browser, user, application, secret)

    first = server.refresh(application, secret, tokens["refresh_token"]).json()
    second = server.refresh(application, secret, tokens["refresh_token"]).json()

    assert first["refresh_token"] == second["refresh_token"] == tokens["refresh_token"]
    assert server.userinfo_status(second["access_token"]) == 200


def test_refresh_after_app_refresh_lifetime_is_invalid_grant(server, browser, user):
    application, secret = web_app(refresh_token_ttl=3600)
    tokens = first_tokens(server, browser, user, application, secret)
    RefreshToken.objects.update(created=timezone.now() - timedelta(seconds=3601))

    response = server.refresh(application, secret, tokens["refresh_token"])

    assert response.json()["error"] == "invalid_grant"


def test_refresh_by_another_client_is_invalid_grant(server, browser, user):
    application, secret = web_app()
    other, other_secret = web_app(name="Other")
    tokens = first_tokens(server, browser, user, application, secret)

    assert server.refresh(other, other_secret, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert server.refresh(application, secret, tokens["refresh_token"]).status_code == 200


def test_refresh_of_deactivated_user_is_invalid_grant(server, browser, user):
    application, secret = web_app()
    tokens = first_tokens(server, browser, user, application, secret)
    user.is_active = False
    user.save()

    assert server.refresh(application, secret, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def introspection(server, application, secret, token: str) -> dict:
    return requests.post(
        server.url("/oauth/introspect"), data={"token": token}, auth=(application.client_id, secret), timeout=10
    ).json()


def test_concurrent_refreshes_of_one_token_leave_the_winners_tokens_valid(server, browser, user):
    """Twenty at once, on either database: one wins, the others lose (locked out, or too late) and revoke nothing."""
    application, secret = web_app()
    tokens = first_tokens(server, browser, user, application, secret)
    start = threading.Barrier(20)

    def race(_):
        start.wait()
        return server.refresh(application, secret, tokens["refresh_token"])

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(race, range(20)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * 19, [r.text for r in responses if r.status_code != 400]
    assert {r.json()["error"] for r in responses if r.status_code == 400} == {"invalid_grant"}
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert RefreshToken.objects.filter(revoked__isnull=True).count() == 1
    assert introspection(server, application, secret, winner["access_token"])["active"] is True
    assert server.userinfo_status(winner["access_token"]) == 200
    assert server.refresh(application, secret, winner["refresh_token"]).status_code == 200


def test_rotated_token_presented_again_within_the_race_window_revokes_nothing(server, browser, user):
    # What a loser of a race sees once the winner has committed: the token it holds was just rotated.
    application, secret = web_app()
    tokens = first_tokens(server, browser, user, application, secret)
    winner = server.refresh(application, secret, tokens["refresh_token"]).json()

    late = server.refresh(application, secret, tokens["refresh_token"])

    assert late.status_code == 400
    assert late.json()["error"] == "invalid_grant"
    assert introspection(server, application, secret, winner["access_token"])["active"] is True
    assert server.refresh(application, secret, winner["refresh_token"]).status_code == 200


@pytest.mark.parametrize("algorithm", ["", "ES256"])  # an application's own signing key costs no query
def test_refresh_query_budget(client, django_assert_max_num_queries, warm_keys, algorithm):
    from tests.identity.factories import UserFactory

    user = UserFactory()
    application, secret = web_app(algorithm=algorithm)
    client.force_login(user)
    response = client.get(
        "/oauth/authorize",
        {
            "response_type": "code",
            "client_id": application.client_id,
            "redirect_uri": CALLBACK,
            "scope": "openid offline_access",
        },
    )
    code = query_of_location(response["Location"])["code"]
    tokens = client.post(
        "/oauth/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": application.client_id,
            "client_secret": secret,
        },
    ).json()
    # The transaction; one locked read judges the token; the client's row (its secret, read on every
    # request); one asks the app's access rule (policies.access_allowed: a required role the user lacks?)
    # at every issuance; the ID token's row.
    # Then django-oauth-toolkit 3.4.1's own rotation, as it writes it: the old refresh token and its
    # access token locked again, the refresh token's revoke() in a savepoint (read again, its access token
    # read and deleted, which unlinks it, and the refresh token saved), the new access and refresh tokens.
    with django_assert_max_num_queries(17):
        response = client.post(
            "/oauth/token",
            {
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": application.client_id,
                "client_secret": secret,
            },
        )
    assert response.status_code == 200, response.content


def query_of_location(location: str) -> dict:
    from urllib.parse import parse_qs, urlsplit

    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.mark.parametrize("algorithm", ["", "ES256"])
def test_code_exchange_and_userinfo_query_budgets(client, django_assert_max_num_queries, warm_keys, algorithm):
    from tests.identity.factories import UserFactory

    user = UserFactory()
    application, secret = web_app(algorithm=algorithm)
    client.force_login(user)
    response = client.get(
        "/oauth/authorize",
        {
            "response_type": "code",
            "client_id": application.client_id,
            "redirect_uri": CALLBACK,
            "scope": "openid profile offline_access",
        },
    )
    code = query_of_location(response["Location"])["code"]
    # The locked grant is validated and narrows resources; 1 for the secret's first use; 1 for the
    # app's access rule (policies.access_allowed) at every issuance.
    with django_assert_max_num_queries(10):
        tokens = client.post(
            "/oauth/token",
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": CALLBACK,
                "client_id": application.client_id,
                "client_secret": secret,
            },
        )
    assert tokens.status_code == 200, tokens.content
    with django_assert_max_num_queries(3):
        info = client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {tokens.json()['access_token']}")
    assert info.status_code == 200


__all__ = ["query_of"]


def test_another_client_presenting_a_rotated_token_does_not_revoke_the_family(server, browser, user):
    application, secret = web_app()
    other, other_secret = web_app(name="Other")
    tokens = first_tokens(server, browser, user, application, secret)
    newest = server.refresh(application, secret, tokens["refresh_token"]).json()

    stolen = server.refresh(other, other_secret, tokens["refresh_token"])

    assert stolen.json()["error"] == "invalid_grant"
    assert server.userinfo_status(newest["access_token"]) == 200
    assert server.refresh(application, secret, newest["refresh_token"]).status_code == 200


def test_deactivating_an_application_stops_its_existing_tokens(server, browser, user):
    from applications import services

    application, secret = web_app()
    tokens = first_tokens(server, browser, user, application, secret)
    assert server.userinfo_status(tokens["access_token"]) == 200

    services.application_deactivate(actor=None, application=application)

    assert server.userinfo_status(tokens["access_token"]) == 401
    assert server.refresh(application, secret, tokens["refresh_token"]).status_code == 401


def test_access_and_refresh_tokens_carry_256_random_bits(server, browser, user):
    import re

    application, secret = web_app()
    tokens = first_tokens(server, browser, user, application, secret)
    rotated = server.refresh(application, secret, tokens["refresh_token"]).json()

    values = [tokens["access_token"], tokens["refresh_token"], rotated["access_token"], rotated["refresh_token"]]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", value) for value in values), values  # 32 bytes, base64url
    assert len(set(values)) == 4
