"""Failed client authentications are limited per client and per address (issue 20): 401 until the limit,
then 429 with Retry-After in the endpoint's JSON error shape; a correct secret is never slowed and costs no
counter; the limit holds across two app servers sharing Redis."""

from __future__ import annotations

import json
from contextlib import ExitStack
from unittest import mock

import pytest
import requests

from applications.oauth import client_limits
from tests.applications.factories import make_application
from tests.applications.oauth.test_memo_processes import (
    SETUP,
    manage,
    redis_reachable,
    start_two_servers,
    token,
)

pytestmark = pytest.mark.django_db(transaction=True)


def client_credentials(server, client_id: str, secret: str, path: str = "/oauth/token") -> requests.Response:
    data = {"grant_type": "client_credentials"} if path == "/oauth/token" else {"token": "anything"}
    return requests.post(server.url(path), data=data, auth=(client_id, secret), timeout=10)


@pytest.fixture
def limits(settings):
    settings.LATCHKEY_CLIENT_AUTH_FAILURES_PER_CLIENT = 3
    settings.LATCHKEY_CLIENT_AUTH_FAILURES_PER_IP = 5
    settings.LATCHKEY_CLIENT_AUTH_FAILURE_WINDOW_SECONDS = 300


def test_bad_secrets_get_401_then_429_with_retry_after_and_the_right_secret_still_works(server, limits):
    application, secret = make_application(type="m2m")

    answers = [client_credentials(server, application.client_id, "wrong") for _ in range(4)]

    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    limited = answers[-1]
    assert limited.json()["error"] == "invalid_client"
    assert "Too many failed client authentications" in limited.json()["error_description"]
    assert 1 <= int(limited.headers["Retry-After"]) <= 300
    assert limited.headers["Cache-Control"] == "no-store"
    with mock.patch.object(client_limits, "count", side_effect=AssertionError("a counter was read")):
        assert client_credentials(server, application.client_id, secret).status_code == 200


def test_one_address_failing_for_many_clients_is_limited_per_address(server, limits):
    clients = [make_application(type="m2m", name=f"Robot {n}")[0] for n in range(3)]
    answers = [client_credentials(server, app.client_id, "wrong") for app in clients for _ in range(2)]

    assert [a.status_code for a in answers] == [401] * 5 + [429]


@pytest.mark.parametrize("path", ["/oauth/introspect", "/oauth/revoke"])
def test_introspection_and_revocation_are_limited_alike(server, limits, path):
    application, _ = make_application(type="m2m")
    answers = [client_credentials(server, application.client_id, "wrong", path) for _ in range(4)]
    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert answers[-1].json()["error"] == "invalid_client" and answers[-1].headers["Retry-After"]


def test_limit_holds_across_two_servers_sharing_redis(tmp_path):
    if not redis_reachable():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    limits = {
        "CACHE_URL": "redis://127.0.0.1:6379/13",
        "LATCHKEY_CLIENT_AUTH_FAILURES_PER_CLIENT": "3",
        "LATCHKEY_CLIENT_AUTH_FAILURES_PER_IP": "100000",  # other runs' failures from 127.0.0.1 share the window
    }
    with ExitStack() as stack:
        env, servers = start_two_servers(stack, tmp_path, **limits)
        app = json.loads(manage(env, "shell", "--no-imports", "-c", SETUP))
        client_id, secret = app["client_id"], app["client_secret"]

        statuses = [token(url, client_id, "wrong").status_code for url in (*servers, *servers)]

        assert statuses == [401, 401, 401, 429]  # the fourth failure, wherever it lands
        assert all(token(url, client_id, secret).status_code == 200 for url in servers)
