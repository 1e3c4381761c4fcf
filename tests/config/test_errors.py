"""A failed request answered in its endpoint's shape: 503 + Retry-After when the database is out of
reach, JSON server_error with the request id for a bug, a branded page on the pages (config.errors)."""

from __future__ import annotations

import base64
import logging
import sqlite3
from contextlib import contextmanager
from unittest import mock

import psycopg
import pytest
import redis
from django.db import DataError, IntegrityError, InterfaceError, OperationalError, ProgrammingError
from django.db.backends.utils import CursorWrapper
from django.test import Client

from config.errors import is_unavailable
from tests.applications.factories import AccessTokenFactory, make_application
from tests.identity.factories import UserFactory


def wrapped(django_error: type[Exception], driver_error: BaseException) -> Exception:
    """A Django database error as Django raises it: the driver's error as its cause."""
    try:
        raise django_error(str(driver_error)) from driver_error
    except django_error as error:
        return error


def connection_lost() -> Exception:
    return wrapped(OperationalError, psycopg.errors.ConnectionFailure("server closed the connection unexpectedly"))


# --- the classifier ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        connection_lost(),  # 08006
        wrapped(OperationalError, psycopg.errors.ConnectionException("08000")),
        wrapped(OperationalError, psycopg.errors.AdminShutdown("terminating connection due to administrator command")),
        wrapped(OperationalError, psycopg.errors.CrashShutdown("57P02")),
        wrapped(OperationalError, psycopg.errors.CannotConnectNow("the database system is starting up")),
        wrapped(OperationalError, psycopg.errors.QueryCanceled("canceling statement due to statement timeout")),
        wrapped(OperationalError, psycopg.OperationalError("connection failed: Connection refused")),
        wrapped(InterfaceError, psycopg.OperationalError("the connection is closed")),
        wrapped(OperationalError, sqlite3.OperationalError("database is locked")),
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError("timed out"),
        redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
        redis.exceptions.TimeoutError("Timeout reading from socket"),
    ],
    ids=repr,
)
def test_is_unavailable_connection_failures_are_unavailable(error):
    assert is_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        wrapped(IntegrityError, psycopg.errors.UniqueViolation("duplicate key value violates unique constraint")),
        wrapped(DataError, psycopg.errors.StringDataRightTruncation("value too long")),
        wrapped(ProgrammingError, psycopg.errors.UndefinedTable('relation "x" does not exist')),
        wrapped(OperationalError, psycopg.errors.DiskFull("could not extend file")),
        wrapped(OperationalError, sqlite3.OperationalError("no such table: x")),
        OperationalError("no cause"),
        wrapped(IntegrityError, ConnectionResetError()),  # an integrity error is never unavailability
        ValueError("a bug"),
        KeyError("client_id"),
    ],
    ids=repr,
)
def test_is_unavailable_bugs_and_bad_input_are_not(error):
    assert not is_unavailable(error)


# --- the endpoints -----------------------------------------------------------------------------------


@contextmanager
def database_raises(error_factory=connection_lost):
    """Every statement fails as it would with the database out of reach (or with the given error)."""

    def fail(self, *args, **kwargs):
        raise error_factory()

    with mock.patch.object(CursorWrapper, "execute", fail), mock.patch.object(CursorWrapper, "executemany", fail):
        yield


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def client_credentials(client, application, secret: str):
    authorization = basic(application.client_id, secret)
    return client.post("/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=authorization)


@pytest.fixture
def m2m(db):
    return make_application(type="m2m")


def assert_oauth_unavailable(response):
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "5"
    assert response["Cache-Control"] == "no-store"
    assert response.json()["error"] == "temporarily_unavailable"
    assert response.json()["error_description"]


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/oauth/token", {"grant_type": "client_credentials"}),
        ("/oauth/introspect", {"token": "some-access-token"}),
        ("/oauth/revoke", {"token": "some-access-token"}),
    ],
)
def test_client_authenticated_endpoint_database_unreachable_is_503_json_with_retry_after(client, m2m, path, data):
    application, secret = m2m
    with database_raises():
        response = client.post(path, data, HTTP_AUTHORIZATION=basic(application.client_id, secret))
    assert_oauth_unavailable(response)


def test_device_authorization_database_unreachable_is_503_json(client, db):
    native, _ = make_application(type="native")
    with database_raises():
        response = client.post(
            "/oauth/device", f"client_id={native.client_id}", content_type="application/x-www-form-urlencoded"
        )
    assert_oauth_unavailable(response)


def test_userinfo_database_unreachable_is_503_json(client, db):
    token = AccessTokenFactory(raw="userinfo-access-token", scope="openid")
    with database_raises():
        response = client.get("/oauth/userinfo", HTTP_AUTHORIZATION="Bearer userinfo-access-token")
    assert token.pk
    assert_oauth_unavailable(response)


def assert_branded_unavailable_page(response, settings):
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == "5"
    page = response.content.decode()
    assert 'data-testid="unavailable"' in page
    assert "try again in a few seconds" in page
    assert f'data-testid="brand-name">{settings.LATCHKEY_BRAND_NAME}<' in page  # the deployment's brand
    assert "style-src 'nonce-" in response["Content-Security-Policy"]


def test_authorize_database_unreachable_is_branded_503_page(client, m2m, settings):
    web, _ = make_application(type="web", redirect_uris="https://rp.example.com/cb")
    settings.LATCHKEY_BRAND_NAME = "Acme ID"
    with database_raises():
        response = client.get(
            "/oauth/authorize",
            {"client_id": web.client_id, "response_type": "code", "redirect_uri": "https://rp.example.com/cb"},
        )
    assert_branded_unavailable_page(response, settings)


@pytest.mark.parametrize("path", ["/account/", "/account/apps", "/login?next=/oauth/authorize%3Fclient_id%3Dx"])
def test_page_database_unreachable_is_branded_503_page(client, db, settings, path):
    client.force_login(UserFactory())
    with database_raises():
        response = client.get(path)
    assert_branded_unavailable_page(response, settings)


def test_management_api_database_unreachable_is_503_in_its_error_shape(reader):
    with database_raises():
        response = reader.get("/api/applications")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "error": "temporarily_unavailable",
        "detail": "The service is temporarily unavailable. Retry the request in a few seconds.",
        "fields": {},
    }


def test_database_unreachable_logs_one_warning_without_traceback(client, m2m, caplog):
    application, secret = m2m
    with caplog.at_level(logging.INFO), database_raises():
        response = client_credentials(client, application, secret)
    assert response.status_code == 503
    warnings = [r for r in caplog.records if r.name == "django.request"]
    assert [(r.levelname, r.getMessage()[:35]) for r in warnings] == [
        ("WARNING", "Service Unavailable: /oauth/token (")
    ]
    assert not [r for r in caplog.records if r.exc_info or r.exc_text]


def test_connection_error_raised_by_a_middleware_is_503_json(m2m):
    """handler500 answers what a middleware raised, in the same shape."""
    application, secret = m2m
    client = Client(raise_request_exception=False)
    with mock.patch(
        "django.contrib.sessions.middleware.SessionMiddleware.process_request", side_effect=connection_lost()
    ):
        response = client_credentials(client, application, secret)
    assert_oauth_unavailable(response)


# --- bugs: 500 server_error with the request id, logged once --------------------------------------


def unique_violation() -> Exception:
    return wrapped(IntegrityError, psycopg.errors.UniqueViolation("duplicate key value violates unique constraint"))


def tracebacks(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info or r.exc_text]


def test_token_endpoint_integrity_error_is_500_server_error_with_request_id_logged_once(m2m, caplog):
    application, secret = m2m
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.INFO), database_raises(unique_violation):
        response = client_credentials(client, application, secret)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert "Retry-After" not in response
    body = response.json()
    assert body["error"] == "server_error"
    assert body["request_id"] == response["X-Request-ID"]
    assert [(r.name, r.levelname) for r in tracebacks(caplog)] == [("django.request", "ERROR")]


def test_management_api_unexpected_error_is_500_in_its_error_shape(reader, caplog):
    reader.raise_request_exception = False
    with caplog.at_level(logging.INFO), database_raises(unique_violation):
        response = reader.get("/api/applications")
    assert response.status_code == 500
    assert response.json() == {
        "error": "server_error",
        "detail": "The server met an unexpected error. Quote the request_id if you report it.",
        "fields": {},
        "request_id": response["X-Request-ID"],
    }
    assert len(tracebacks(caplog)) == 1


def test_page_unexpected_error_is_branded_500_page_logged_once(db, settings, caplog):
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory())
    with caplog.at_level(logging.INFO), mock.patch("identity.views.render", side_effect=RuntimeError("a bug")):
        response = client.get("/account/")
    assert response.status_code == 500
    page = response.content.decode()
    assert 'data-testid="server-error"' in page
    assert response["X-Request-ID"] in page
    assert [(r.name, r.levelname) for r in tracebacks(caplog)] == [("django.request", "ERROR")]


# --- bad input stays a client error ----------------------------------------------------------------------


def test_token_endpoint_bad_input_is_still_400(client, m2m):
    application, secret = m2m
    response = client.post("/oauth/token", {}, HTTP_AUTHORIZATION=basic(application.client_id, secret))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_management_api_bad_input_is_still_400(writer):
    response = writer.post("/api/roles", {"name": ""}, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid"


def test_an_outage_is_logged_at_warning_not_error(client, m2m, caplog):
    """A 503 is the dependency's state, logged once as a warning; ERROR stays for bugs (500)."""
    application, secret = m2m
    with caplog.at_level(logging.INFO), database_raises():
        response = client_credentials(client, application, secret)

    assert response.status_code == 503
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    request_lines = [r for r in caplog.records if r.name == "latchkey.request"]
    assert [r.levelname for r in request_lines] == ["WARNING"]
