"""CORS per application on token, userinfo, revoke and introspect (Django test client, HTTP_ORIGIN)."""

from __future__ import annotations

import base64
import logging
import time
from unittest import mock

import pytest
from django.core.cache import caches
from redis.exceptions import ConnectionError as RedisConnectionError

from applications import services
from applications.models import Application, Scope
from applications.oauth import cors
from applications.oauth.validator import LatchkeyValidator
from config import cache as shared_cache
from tests.applications.factories import make_application
from tests.conftest import CLOSED_PORT_CACHE_URL

pytestmark = pytest.mark.django_db

ORIGIN = "https://spa.example.com"
OTHER = "https://evil.example.net"
REVOKE_BUDGET = 6  # measured 5: client, secret, token and its refresh token, the delete
ENDPOINTS = ["/oauth/token", "/oauth/userinfo", "/oauth/revoke", "/oauth/introspect"]


@pytest.fixture(autouse=True)
def fresh_origin_cache():
    """The cache outlives each test's rolled-back transaction; start every test from a new generation."""
    cors._start_generation()
    yield
    cors._start_generation()


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run a service and its on-commit effects, as a real request's transaction would."""

    def run(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(actor=None, **kwargs)

    return run


@pytest.fixture
def spa(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        application, _ = make_application(type="spa", allowed_origins=ORIGIN)
    return application


def call(client, path: str, origin: str | None, **extra):
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    if path == "/oauth/userinfo":
        return client.get(path, **headers, **extra)
    return client.post(path, {}, **headers, **extra)


def preflight(client, path: str, origin: str):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )


def cors_headers(response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


# --- allowed origins ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ENDPOINTS)
def test_cors_listed_origin_on_endpoint_gets_its_origin_echoed(client, spa, path):
    response = call(client, path, ORIGIN)

    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "Access-Control-Allow-Credentials" not in response
    assert "origin" in response["Vary"].lower()


@pytest.mark.parametrize("path", ENDPOINTS)
def test_cors_preflight_from_listed_origin_allows_post_with_authorization(client, spa, path):
    response = preflight(client, path, ORIGIN)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "authorization" in response["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in response


def test_cors_origin_matching_ignores_case_and_default_port(client):
    make_application(type="spa", allowed_origins="https://App.Example.com:443")
    cors._start_generation()  # make_application's commit hook was discarded with the test transaction

    response = call(client, "/oauth/token", "https://app.example.com")

    assert response["Access-Control-Allow-Origin"] == "https://app.example.com"


def test_cors_userinfo_error_exposes_www_authenticate(client, spa):
    response = call(client, "/oauth/userinfo", ORIGIN)

    assert response.status_code == 401
    assert "WWW-Authenticate" in response["Access-Control-Expose-Headers"]


def test_cors_token_response_from_listed_origin_carries_origin_and_token(client, spa):
    application, secret = make_application(type="m2m")
    auth = basic(application.client_id, secret)

    response = client.post(
        "/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth, HTTP_ORIGIN=ORIGIN
    )

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert response.json()["access_token"]


# --- origins that get nothing -------------------------------------------------------------------


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("origin", [OTHER, "null", "https://spa.example.com.evil.net", "http://spa.example.com"])
def test_cors_unlisted_origin_gets_no_cors_headers(client, spa, path, origin):
    assert cors_headers(call(client, path, origin)) == {}
    response = preflight(client, path, origin)
    assert cors_headers(response) == {}


def test_cors_inactive_apps_origin_gets_no_cors_headers(client):
    make_application(type="spa", allowed_origins=ORIGIN, is_active=False)
    cors._start_generation()

    assert cors_headers(preflight(client, "/oauth/token", ORIGIN)) == {}
    assert cors_headers(call(client, "/oauth/token", ORIGIN)) == {}


def test_cors_deactivated_apps_origin_stops_at_once(client, spa, commit):
    assert preflight(client, "/oauth/token", ORIGIN)["Access-Control-Allow-Origin"] == ORIGIN  # cache now warm

    commit(services.application_deactivate, application=spa)

    assert cors_headers(preflight(client, "/oauth/token", ORIGIN)) == {}
    assert cors_headers(call(client, "/oauth/userinfo", ORIGIN)) == {}


def test_cors_deleted_apps_origin_stops_at_once(client, spa, commit):
    assert preflight(client, "/oauth/revoke", ORIGIN)["Access-Control-Allow-Origin"] == ORIGIN

    commit(services.application_delete, application=spa)

    assert cors_headers(preflight(client, "/oauth/revoke", ORIGIN)) == {}
    assert cors_headers(call(client, "/oauth/revoke", ORIGIN)) == {}


def test_cors_origin_added_by_update_works_at_once(client, spa, commit):
    added = "https://beta.example.com"
    assert cors_headers(preflight(client, "/oauth/token", added)) == {}  # cache now warm without it

    spa.allowed_origins = f"{ORIGIN}\n{added}"
    commit(services.application_update, application=spa)

    assert preflight(client, "/oauth/token", added)["Access-Control-Allow-Origin"] == added
    assert call(client, "/oauth/introspect", added)["Access-Control-Allow-Origin"] == added


def test_cors_origin_removed_by_update_stops_at_once(client, spa, commit):
    assert preflight(client, "/oauth/token", ORIGIN)["Access-Control-Allow-Origin"] == ORIGIN

    spa.allowed_origins = "https://moved.example.com"
    commit(services.application_update, application=spa)

    assert cors_headers(preflight(client, "/oauth/token", ORIGIN)) == {}


def test_cors_origin_of_new_app_works_at_once(client, spa, commit):
    newcomer = "https://new.example.com"
    assert cors_headers(preflight(client, "/oauth/token", newcomer)) == {}

    commit(
        services.application_create,
        application=Application(
            name="Newcomer", type="spa", redirect_uris=f"{newcomer}/callback", allowed_origins=newcomer
        ),
    )

    assert preflight(client, "/oauth/token", newcomer)["Access-Control-Allow-Origin"] == newcomer


# --- the cache is an optimisation ---------------------------------------------------------------


def test_cors_with_the_cache_unreachable_answers_from_the_database(client, spa, use_cache):
    use_cache(CLOSED_PORT_CACHE_URL)

    assert preflight(client, "/oauth/token", ORIGIN)["Access-Control-Allow-Origin"] == ORIGIN
    assert cors_headers(preflight(client, "/oauth/token", OTHER)) == {}


def test_cors_invalidation_the_cache_missed_is_one_warning_and_heals_by_expiry(
    client, spa, commit, monkeypatch, caplog
):
    monkeypatch.setattr(shared_cache, "RETRY_SECONDS", 0)  # the cache is back for the next request
    assert preflight(client, "/oauth/token", ORIGIN)["Access-Control-Allow-Origin"] == ORIGIN  # cache now warm

    refused = mock.Mock(side_effect=RedisConnectionError("Error 111 connecting to 127.0.0.1:1."))
    with monkeypatch.context() as outage, caplog.at_level(logging.WARNING):
        outage.setattr(caches["default"], "set", refused)
        commit(services.application_deactivate, application=spa)  # the write succeeds

    # Deactivation also announces its not-before entry (applications.oauth.revocations), with its own warning.
    (warning,) = [r for r in caplog.records if r.levelno >= logging.WARNING and "CORS" in r.getMessage()]
    assert warning.getMessage() == (
        "cache unreachable (ConnectionError): the CORS origin set was not refreshed; "
        f"every server sees the change within {cors.ORIGINS_CACHE_SECONDS} s"
    )
    assert warning.exc_info is None
    assert not Application.objects.get(pk=spa.pk).is_active
    # Until the cached set expires it still lists the origin; then the database's answer is cached.
    assert preflight(client, "/oauth/token", ORIGIN)["Access-Control-Allow-Origin"] == ORIGIN
    later = time.time() + cors.ORIGINS_CACHE_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert cors_headers(preflight(client, "/oauth/token", ORIGIN)) == {}


def test_cors_on_redis_keeps_the_set_and_its_generation_at_most_the_backstop_time(client, spa, real_redis):
    assert preflight(client, "/oauth/token", ORIGIN)["Access-Control-Allow-Origin"] == ORIGIN

    backend = caches["default"]
    generation = backend.get("latchkey:cors-origins:generation")
    for key in ("latchkey:cors-origins:generation", f"latchkey:cors-origins:{generation}"):
        assert 0 < real_redis.ttl(backend.make_key(key)) <= cors.ORIGINS_CACHE_SECONDS


# --- other paths --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/.well-known/jwks.json"])
@pytest.mark.parametrize("origin", [ORIGIN, OTHER])
def test_cors_discovery_and_jwks_stay_public(client, spa, path, origin):
    response = client.get(path, HTTP_ORIGIN=origin)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("path", ["/oauth/authorize", "/oauth/logout", "/oauth/device", "/login", "/admin/login/"])
def test_cors_listed_origin_gets_nothing_outside_the_four_endpoints(client, spa, path):
    assert cors_headers(client.get(path, HTTP_ORIGIN=ORIGIN)) == {}
    assert cors_headers(preflight(client, path, ORIGIN)) == {}


# --- the validator hook oauthlib asks on code and refresh responses --------------------------------


def test_cors_validator_is_origin_allowed_asks_the_same_set(spa):
    validator = LatchkeyValidator()

    assert validator.is_origin_allowed(spa.client_id, ORIGIN, request=None) is True
    assert validator.is_origin_allowed(spa.client_id, OTHER, request=None) is False


# --- normalization ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("https://App.Example.com", "https://app.example.com"),
        ("https://app.example.com:443", "https://app.example.com"),
        ("http://localhost:5173", "http://localhost:5173"),
        ("http://127.0.0.1:80", "http://127.0.0.1"),
        ("http://[::1]:3000", "http://[::1]:3000"),
        ("null", None),
        ("", None),
        ("https://app.example.com/", None),
        ("https://user@app.example.com", None),
        ("ftp://app.example.com", None),
        ("https://app.example.com:99999", None),
        ("https://[::1", None),
    ],
)
def test_cors_normalize_origin(origin, expected):
    assert cors.normalize_origin(origin) == expected


# --- query budgets ------------------------------------------------------------------------------


def test_cors_preflight_with_warm_cache_makes_no_queries(client, spa, django_assert_num_queries):
    preflight(client, "/oauth/token", ORIGIN)  # warms the cache

    with django_assert_num_queries(0):
        response = preflight(client, "/oauth/token", ORIGIN)
    assert response["Access-Control-Allow-Origin"] == ORIGIN


def test_cors_preflight_with_cold_cache_makes_one_query(client, spa, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = preflight(client, "/oauth/userinfo", ORIGIN)
    assert response["Access-Control-Allow-Origin"] == ORIGIN


def test_cors_client_credentials_token_from_browser_query_budget(client, spa, django_assert_max_num_queries):
    application, secret = make_application(type="m2m")
    auth = basic(application.client_id, secret)
    client.post("/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth, HTTP_ORIGIN=ORIGIN)

    with django_assert_max_num_queries(6):
        response = client.post(
            "/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth, HTTP_ORIGIN=ORIGIN
        )
    assert response["Access-Control-Allow-Origin"] == ORIGIN


def user_tokens(client) -> tuple[Application, str, dict]:
    """A web app's tokens for a signed-in user, through authorize and the code exchange."""
    from urllib.parse import parse_qs, urlsplit

    from tests.identity.factories import UserFactory

    callback = "https://rp.example.com/callback"
    application, secret = make_application(
        type="web", redirect_uris=callback, trusted=True, allowed_scopes=Scope.objects.filter(name="openid")
    )
    client.force_login(UserFactory())
    authorize = client.get(
        "/oauth/authorize",
        {"response_type": "code", "client_id": application.client_id, "redirect_uri": callback, "scope": "openid"},
    )
    code = parse_qs(urlsplit(authorize["Location"]).query)["code"][0]
    tokens = client.post(
        "/oauth/token",
        {"grant_type": "authorization_code", "code": code, "redirect_uri": callback},
        HTTP_AUTHORIZATION=basic(application.client_id, secret),
    )
    assert tokens.status_code == 200, tokens.content
    client.logout()
    return application, secret, tokens.json()


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_cors_userinfo_from_browser_query_budget(client, spa, django_assert_max_num_queries):
    _, _, tokens = user_tokens(client)
    preflight(client, "/oauth/userinfo", ORIGIN)  # warms the cache

    with django_assert_max_num_queries(3):
        response = client.get(
            "/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}", HTTP_ORIGIN=ORIGIN
        )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN


def test_cors_introspect_from_browser_query_budget(client, spa, django_assert_max_num_queries):
    application, secret, tokens = user_tokens(client)
    preflight(client, "/oauth/introspect", ORIGIN)

    with django_assert_max_num_queries(3):
        response = client.post(
            "/oauth/introspect",
            {"token": tokens["access_token"]},
            HTTP_AUTHORIZATION=basic(application.client_id, secret),
            HTTP_ORIGIN=ORIGIN,
        )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN


def test_cors_revoke_from_browser_query_budget(client, spa, django_assert_max_num_queries):
    application, secret, tokens = user_tokens(client)
    preflight(client, "/oauth/revoke", ORIGIN)

    with django_assert_max_num_queries(REVOKE_BUDGET):
        response = client.post(
            "/oauth/revoke",
            {"token": tokens["access_token"]},
            HTTP_AUTHORIZATION=basic(application.client_id, secret),
            HTTP_ORIGIN=ORIGIN,
        )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
