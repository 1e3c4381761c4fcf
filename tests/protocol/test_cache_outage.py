"""The shared cache down: its port closed, or a listener that accepts and never answers.

The cache is an optimisation (config.cache): every flow keeps working from the database, each request
within the cache timeouts (0.5 s a call, tests/config/test_timeouts.py), and an operator sees one
warning line per outage, never a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import requests
from authlib.integrations.requests_client import OAuth2Session
from django.db import connection

from applications.models import Application
from tests.applications.factories import make_application
from tests.conftest import CLOSED_PORT_CACHE_URL
from tests.protocol.test_authorization_code import web_app
from tests.protocol.test_device import approve, native_app, poll, rewind_last_poll, start

ROOT = Path(__file__).resolve().parents[2]
SPA_ORIGIN = "https://spa.example.com"

# Loose: a request pays at most a few cache timeouts of 0.5 s, never a hung worker.
REQUEST_BOUND_SECONDS = 5


def timed(call):
    started = time.monotonic()
    response = call()
    elapsed = time.monotonic() - started
    assert elapsed < REQUEST_BOUND_SECONDS, f"{elapsed:.1f} s"
    return response


def test_sign_in_with_the_cache_down_signs_in(server, browser, user, cache_down):
    signed_in = timed(lambda: browser.sign_in(user.email, next_url="/account/"))

    assert signed_in.status_code == 302
    assert signed_in.headers["Location"] == "/account/"
    assert timed(lambda: browser.get(server.url("/account/"))).status_code == 200


def test_client_credentials_with_the_cache_down_issue_a_token(server, cache_down):
    application, secret = make_application(type="m2m")

    response = timed(
        lambda: requests.post(
            server.url("/oauth/token"),
            data={"grant_type": "client_credentials"},
            auth=(application.client_id, secret),
            timeout=10,
        )
    )

    assert response.status_code == 200, response.text
    assert response.json()["access_token"]


def test_code_exchange_with_the_cache_down_issues_tokens(server, browser, user, cache_down):
    application, secret = web_app()
    client = OAuth2Session(
        application.client_id, secret, scope="openid profile", redirect_uri="https://rp.example.com/callback"
    )
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    browser.sign_in(user.email)

    callback = timed(lambda: browser.authorize(url))
    assert callback.status_code == 302
    token = timed(
        lambda: client.fetch_token(server.url("/oauth/token"), authorization_response=callback.headers["Location"])
    )

    claims = server.decode_id_token(token["id_token"], client_id=application.client_id)
    assert claims["sub"] == str(user.public_id)


def test_cors_with_the_cache_down_answers_preflights_from_the_database(server, cache_down):
    make_application(type="spa", allowed_origins=SPA_ORIGIN)

    def preflight(origin: str) -> requests.Response:
        headers = {"Origin": origin, "Access-Control-Request-Method": "POST"}
        return requests.options(server.url("/oauth/token"), headers=headers, timeout=10)

    allowed = timed(lambda: preflight(SPA_ORIGIN))
    refused = timed(lambda: preflight("https://evil.example.net"))

    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == SPA_ORIGIN
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_admin_with_the_cache_down_lists_applications(admin_client, cache_down):
    make_application(type="web", name="Listed while Redis is down")

    response = timed(lambda: admin_client.get("/admin/applications/application/"))

    assert response.status_code == 200
    assert "Listed while Redis is down" in response.content.decode()


def database_url() -> str:
    """This test's database, for a command run in its own process (the rows are committed)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def test_app_create_with_the_cache_down_succeeds_with_a_warning_line_per_missed_refresh(cache_down, request):
    """The operator's view: the application is saved, printed, and a line says each thing the cache missed."""
    url = CLOSED_PORT_CACHE_URL if cache_down == "refused" else request.getfixturevalue("silent_cache_url")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CACHE_"))}
    environment.update(
        DJANGO_SETTINGS_MODULE="config.settings.test", DATABASE_URL=database_url(), CACHE_URL=url, LOG_FORMAT="plain"
    )

    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            *("manage.py", "app", "create", "--name", "Made while Redis is down", "--type", "web"),
            *("--redirect-uri", "https://rp.example.com/callback", "--json"),
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert time.monotonic() - started < 20  # Python and Django start-up included
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["client_secret"]
    assert Application.objects.filter(name="Made while Redis is down").exists()
    assert "Traceback" not in result.stderr
    # One line for each thing other servers keep and were not told of.
    cors_line, memo_line = result.stderr.splitlines()
    assert " WARNING config.cache " in cors_line and " WARNING config.cache " in memo_line
    error = "ConnectionError" if cache_down == "refused" else "TimeoutError"
    assert cors_line.endswith(
        f"cache unreachable ({error}): the CORS origin set was not refreshed; every server sees the change within 60 s"
    )
    assert memo_line.endswith(
        f"cache unreachable ({error}): other processes keep the scopes they read before this change for up to 60 s"
    )


def test_device_flow_with_the_cache_down_issues_tokens_without_auth_time(server, browser, user, cache_down, caplog):
    application = native_app()
    started = timed(lambda: start(server, application)).json()

    with caplog.at_level(logging.WARNING, logger="config.cache"):
        done = timed(lambda: approve(browser, user, started["user_code"]))
    assert done.status_code == 200 and "Device connected" in done.text
    assert "its ID token carries no auth_time" in caplog.text

    rewind_last_poll(started["device_code"], 5)
    tokens = timed(lambda: poll(server, application.client_id, started["device_code"]))
    assert tokens.status_code == 200, tokens.text
    claims = server.decode_id_token(tokens.json()["id_token"], client_id=application.client_id)
    assert "auth_time" not in claims  # best effort: the sign-in time was only ever kept in the cache
