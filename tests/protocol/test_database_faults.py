"""The database failing under a live server (PostgreSQL): connections killed between and in the middle
of token requests (pg_terminate_backend from a second connection), and a server still starting up.

Clients see 503 temporarily_unavailable JSON with Retry-After, never HTML; the very next request on
the same worker thread succeeds; nothing committed is lost and nothing half-done is kept.
The restart of the whole server is bench/restart_under_load.py's job (other tests share the server).
"""

from __future__ import annotations

import time
from unittest import mock

import psycopg
import pytest
import requests
from django.db import connection

from applications.models import Scope
from applications.oauth.validator import LatchkeyValidator
from tests.applications.factories import RefreshTokenFactory, make_application
from tests.identity.factories import UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_terminate_backend: PostgreSQL only"),
]
_real_connect = psycopg.connect


def admin_connection() -> psycopg.Connection:
    """A second connection to the test database, outside Django."""
    s = connection.settings_dict
    return _real_connect(
        dbname=s["NAME"],
        user=s["USER"] or None,
        password=s["PASSWORD"] or None,
        host=s["HOST"] or None,
        port=s["PORT"] or None,
        autocommit=True,
    )


def terminate(pids: list[int]) -> None:
    """pg_terminate_backend, then wait until those backends are gone."""
    with admin_connection() as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [pids])
        deadline = time.monotonic() + 10
        while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids]).fetchone()[0]:
            assert time.monotonic() < deadline, "the backends did not exit"
            time.sleep(0.02)


def server_backends() -> list[int]:
    """The live server's connections to the test database: every one but this thread's and the admin one."""
    connection.ensure_connection()
    mine = connection.connection.info.backend_pid
    with admin_connection() as admin:
        rows = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND pid <> %s",
            [mine],
        ).fetchall()
    return [pid for (pid,) in rows]


@pytest.fixture
def persistent_connections(monkeypatch):
    """The production setting: each server thread keeps its connection between requests (tests use 0)."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    yield
    monkeypatch.undo()
    if leftover := server_backends():
        terminate(leftover)  # so no idle keep-alive thread holds the test database


def token_request(session: requests.Session, server, application, secret: str) -> requests.Response:
    return session.post(
        server.url("/oauth/token"), data={"grant_type": "client_credentials"}, auth=(application.client_id, secret),
        timeout=20,
    )  # fmt: skip


def active(server, application, secret: str, token: str) -> bool:
    response = requests.post(
        server.url("/oauth/introspect"), data={"token": token}, auth=(application.client_id, secret), timeout=20
    )
    return response.json()["active"]


def assert_unavailable(response: requests.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Retry-After"] == "5"
    assert response.json()["error"] == "temporarily_unavailable"


def kill_own_connection_then(original):
    """A validator step that has this request's database connection terminated, then carries on."""

    def step(*args, **kwargs):
        # The request has used its connection by now (a client kept in memory may leave the INSERT its
        # first statement, and the request's first statement runs Django's health check, which would
        # find the dead connection and reconnect: the case of the test above).
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        terminate([connection.connection.info.backend_pid])
        return original(*args, **kwargs)

    return step


def test_connections_killed_between_requests_next_request_on_every_thread_succeeds(server, persistent_connections):
    application, secret = make_application(type="m2m")
    sessions = [requests.Session() for _ in range(3)]  # three keep-alive connections: three server threads
    for session in sessions:
        assert token_request(session, server, application, secret).status_code == 200

    killed = server_backends()
    assert len(killed) >= 3  # the threads kept their connections
    terminate(killed)

    for session in sessions:
        response = token_request(session, server, application, secret)
        assert response.status_code == 200, response.text
    for session in sessions:
        session.close()


def test_connection_killed_mid_token_request_is_503_json_then_next_request_succeeds(server, persistent_connections):
    application, secret = make_application(type="m2m")
    session = requests.Session()
    issued = [token_request(session, server, application, secret).json()["access_token"] for _ in range(3)]

    step = kill_own_connection_then(LatchkeyValidator.save_bearer_token)
    with mock.patch.object(LatchkeyValidator, "save_bearer_token", step):
        failed = token_request(session, server, application, secret)

    assert_unavailable(failed)
    after = token_request(session, server, application, secret)  # the same server thread
    assert after.status_code == 200, after.text
    assert all(active(server, application, secret, token) for token in [*issued, after.json()["access_token"]])
    session.close()


def test_connection_killed_between_refresh_lock_and_insert_is_503_and_the_refresh_token_still_works(server):
    allowed = Scope.objects.filter(name__in=["openid", "offline_access"])
    application, secret = make_application(
        type="web", redirect_uris="https://rp.example.com/cb", allowed_scopes=allowed
    )
    user = UserFactory()
    RefreshTokenFactory(user=user, application=application, raw="refresh-before-the-fault")
    data = {"grant_type": "refresh_token", "refresh_token": "refresh-before-the-fault"}

    # The token view holds the refresh token's row lock in a transaction; the new tokens' INSERT then fails.
    step = kill_own_connection_then(LatchkeyValidator.save_bearer_token)
    with mock.patch.object(LatchkeyValidator, "save_bearer_token", step):
        failed = requests.post(server.url("/oauth/token"), data=data, auth=(application.client_id, secret), timeout=20)

    assert_unavailable(failed)
    # The rotation was rolled back with the rest: the same refresh token works, once.
    retried = requests.post(server.url("/oauth/token"), data=data, auth=(application.client_id, secret), timeout=20)
    assert retried.status_code == 200, retried.text
    assert active(server, application, secret, retried.json()["access_token"])


def connect_refused_with(message: str, times: int):
    """psycopg.connect refusing the first `times` connects as PostgreSQL does (no SQLSTATE on a connect)."""
    calls = []

    def connect(*args, **kwargs):
        calls.append(1)
        if len(calls) <= times:
            raise psycopg.OperationalError(f'connection failed: connection to server at "127.0.0.1" failed: {message}')
        return _real_connect(*args, **kwargs)

    return connect, calls


def test_database_starting_up_the_request_waits_for_it_and_succeeds(server):
    application, secret = make_application(type="m2m")
    connect, calls = connect_refused_with("FATAL:  the database system is starting up", times=3)
    with mock.patch.object(psycopg, "connect", connect):
        response = token_request(requests.Session(), server, application, secret)
    assert response.status_code == 200, response.text
    assert len(calls) == 4


def test_database_shutting_down_is_503_at_once(server):
    application, secret = make_application(type="m2m")
    connect, calls = connect_refused_with("FATAL:  the database system is shutting down", times=100)
    with mock.patch.object(psycopg, "connect", connect):
        response = token_request(requests.Session(), server, application, secret)
    assert_unavailable(response)
    assert len(calls) == 1
