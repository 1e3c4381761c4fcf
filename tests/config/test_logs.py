"""Logs: a request id on every line, one JSON line per request, and never a secret, token or password."""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import logging
import logging.config
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone
from oauth2_provider.models import get_grant_model, get_refresh_token_model

from applications import policies
from applications.models import Scope
from config.logs import REDACTED, redact
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory

Grant = get_grant_model()
RefreshToken = get_refresh_token_model()

CALLBACK = "https://rp.example.com/callback"
PASSWORD = "Correct-Horse-Battery-Staple-42"


@pytest.fixture
def capture_logs():
    """capture_logs(fmt) -> StringIO receiving everything Latchkey's LOGGING writes, every logger at DEBUG.

    The shipped LOGGING dict is applied with its handler pointed at a buffer, so the filters and
    formatters under test are the production ones.
    """
    levels = {}

    def start(fmt: str = "json") -> io.StringIO:
        buffer = io.StringIO()
        config = copy.deepcopy(django_settings.LOGGING)
        config["handlers"]["console"]["stream"] = buffer
        config["handlers"]["console"]["formatter"] = fmt
        config["root"]["level"] = "DEBUG"
        for logger in config["loggers"].values():
            logger["level"] = "DEBUG"
        logging.config.dictConfig(config)
        for name, logger in logging.root.manager.loggerDict.items():
            if isinstance(logger, logging.Logger):
                levels[name] = logger.level
                logger.setLevel(logging.DEBUG)
        return buffer

    yield start
    logging.config.dictConfig(django_settings.LOGGING)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def json_lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


# --- request id and the request line -----------------------------------------------------------------


@pytest.mark.django_db
def test_request_without_id_gets_a_generated_one_on_the_response_and_the_log_line(client, capture_logs):
    buffer = capture_logs("json")

    response = client.get("/healthz?secret=1")

    request_id = response["X-Request-ID"]
    assert len(request_id) == 32 and int(request_id, 16) >= 0
    [line] = [entry for entry in json_lines(buffer) if entry["logger"] == "latchkey.request"]
    assert line["request_id"] == request_id
    assert line["method"] == "GET"
    assert line["path"] == "/healthz"  # never the query string
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["level"] == "INFO"
    assert line["message"].startswith("GET /healthz 200 ")
    assert {"time", "level", "logger", "message", "request_id"} <= set(line)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/organizations/invitations/{key}",
        "/account/confirm-email/{key}/",
        "/account/password/reset/key/1-{key}/",
    ],
)
def test_request_line_never_shows_an_emailed_links_key(client, capture_logs, path):
    buffer = capture_logs("json")
    key = "Zq8sW3kS0mEmailedLinkKey1234567890abcdef"

    client.get(path.format(key=key))

    [line] = [entry for entry in json_lines(buffer) if entry["logger"] == "latchkey.request"]
    assert key not in json.dumps(line)
    assert line["path"].startswith(path.partition("{key}")[0].rstrip("1-")) and "[REDACTED]" in line["path"]


@pytest.mark.django_db
def test_sane_incoming_request_id_is_kept_and_stamped_on_every_record_of_the_request(client, capture_logs):
    buffer = capture_logs("json")

    response = client.get("/oauth/authorize?client_id=nope", HTTP_X_REQUEST_ID="lb-4b1c2e.77:01")

    assert response["X-Request-ID"] == "lb-4b1c2e.77:01"
    lines = json_lines(buffer)
    assert len(lines) > 1  # the request line and what the views and libraries logged on the way
    assert {line["request_id"] for line in lines} == {"lb-4b1c2e.77:01"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "incoming",
    ["", "has space", "x" * 129, "<script>", "-starts-with-dash", "new\nline", "ünïcode"],
)
def test_insane_incoming_request_id_is_replaced(client, incoming):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=incoming)

    assert response["X-Request-ID"] != incoming
    assert len(response["X-Request-ID"]) == 32


def test_records_outside_a_request_carry_a_dash_as_request_id(capture_logs):
    buffer = capture_logs("json")

    logging.getLogger("latchkey.test").info("starting")

    assert json_lines(buffer)[-1]["request_id"] == "-"


@pytest.mark.django_db
def test_plain_format_shows_the_request_id(client, capture_logs):
    buffer = capture_logs("plain")

    response = client.get("/healthz")

    assert f"latchkey.request [{response['X-Request-ID']}] GET /healthz 200 " in buffer.getvalue()


@pytest.mark.django_db
def test_token_request_line_names_the_client_but_not_its_secret(client, capture_logs):
    application, secret = make_application(type="m2m")
    buffer = capture_logs("json")

    client.post(
        "/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(application.client_id, secret)
    )

    [line] = [entry for entry in json_lines(buffer) if entry["logger"] == "latchkey.request"]
    assert line["client_id"] == application.client_id
    assert line["path"] == "/oauth/token"
    assert secret not in buffer.getvalue()


def test_log_format_must_be_json_or_plain():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import config.settings.base"],
        cwd=django_settings.BASE_DIR,
        env={"DJANGO_DEBUG": "true", "LOG_FORMAT": "xml", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "LOG_FORMAT='xml': use json or plain." in result.stderr


# --- redaction by shape ------------------------------------------------------------------------------

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("POST /oauth/token?client_secret=s3cr3t-value&x=1", "s3cr3t-value"),
        ("grant_type=authorization_code&code=abcDEF123&redirect_uri=x", "abcDEF123"),
        ("{'refresh_token': 'rt-9f8e7d', 'expires_in': 3600}", "rt-9f8e7d"),
        ('{"access_token": "at-123456", "token_type": "Bearer"}', "at-123456"),
        ("password=hunter2hunter2", "hunter2hunter2"),
        ("{'password': b'hunter2hunter2'}", "hunter2hunter2"),
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
        ("HTTP_AUTHORIZATION': 'Basic Y2xpZW50OnNlY3JldA=='", "Y2xpZW50OnNlY3JldA=="),
        (f"id_token_hint {JWT} received", JWT),
        ("csrfmiddlewaretoken=K8s7d6f5g4h3", "K8s7d6f5g4h3"),
        ("device_code=dc-7a6b5c4d", "dc-7a6b5c4d"),
    ],
)
def test_redact_scrubs_secrets_by_shape(text, secret):
    scrubbed = redact(text)

    assert secret not in scrubbed
    assert REDACTED in scrubbed


@pytest.mark.parametrize(
    "text",
    [
        "GET /oauth/authorize 200 3.1ms",
        "status_code=200 response_type=code grant_type=authorization_code",
        "{'token_type': 'Bearer', 'expires_in': 3600}",
        '{"token_type": "Bearer", "scope": "openid"}',
        "client_id=abcDEF123",
    ],
)
def test_redact_leaves_ordinary_text_alone(text):
    assert redact(text) == text


# --- the proof: real flows, every logger at DEBUG, nothing secret in the output ----------------------------


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def _code_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["code"][0]


def _before_the_race_window():
    """A use long enough ago that presenting the grant again is a replay (policies.lost_race)."""
    return timezone.now() - timedelta(seconds=policies.LOST_RACE_SECONDS + 1)


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "plain"])
def test_no_log_line_ever_contains_a_secret_token_or_password(client, management_api, capture_logs, settings, fmt):
    """Every flow that handles a credential, with every logger at DEBUG and SQL logging on."""
    # Set up before capturing: the fixtures' own credentials are collected below.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    scopes = list(Scope.objects.filter(name__in=["openid", "profile", "offline_access"]))
    web, web_secret = make_application(type="web", redirect_uris=CALLBACK, allowed_scopes=scopes, trusted=True)
    m2m, m2m_secret = make_application(type="m2m")
    user = UserFactory(email="logs@example.com", password=PASSWORD)
    api = management_api("management:read", "management:write")
    wrong_secret = secrets.token_urlsafe(32)
    wrong_password = "Not-The-Password-" + secrets.token_hex(4)
    new_user_password = "A-Brand-New-Passphrase-" + secrets.token_hex(4)
    verifier, challenge = _pkce()
    leaks: list[str] = [web_secret, m2m_secret, api.token, wrong_secret, PASSWORD, wrong_password, new_user_password]

    buffer = capture_logs(fmt)
    connection.force_debug_cursor = True  # what DEBUG=True does: every SQL statement logged with its parameters
    try:
        # A user signs in with a password, once wrongly.
        assert client.post("/login", {"username": user.email, "password": wrong_password}).status_code == 200
        assert client.post("/login", {"username": user.email, "password": PASSWORD}).status_code == 302
        leaks.append(client.cookies["sessionid"].value)

        # Authorization code with PKCE, exchanged with client_secret_post.
        authorize = client.get(
            "/oauth/authorize",
            {
                "response_type": "code",
                "client_id": web.client_id,
                "redirect_uri": CALLBACK,
                "scope": "openid profile offline_access",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "state": "st-1",
                "nonce": "n-1",
            },
        )
        code = _code_of(authorize["Location"])
        exchange = client.post(
            "/oauth/token",
            {
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": verifier,
                "redirect_uri": CALLBACK,
                "client_id": web.client_id,
                "client_secret": web_secret,
            },
        )
        assert exchange.status_code == 200, exchange.content
        tokens = exchange.json()
        leaks += [code, verifier, tokens["access_token"], tokens["refresh_token"], tokens["id_token"]]
        # The code again, after the lost-race window: refused, and the tokens it produced are revoked.
        Grant.objects.filter(application=web).update(redeemed_at=_before_the_race_window())
        replay = client.post(
            "/oauth/token",
            {"grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": CALLBACK},
            HTTP_AUTHORIZATION=basic(web.client_id, web_secret),
        )
        assert replay.json()["error"] == "invalid_grant"

        # A fresh code, then refresh, userinfo, introspection, revocation.
        verifier2, challenge2 = _pkce()
        authorize = client.get(
            "/oauth/authorize",
            {
                "response_type": "code",
                "client_id": web.client_id,
                "redirect_uri": CALLBACK,
                "scope": "openid offline_access",
                "code_challenge": challenge2,
                "code_challenge_method": "S256",
            },
        )
        code2 = _code_of(authorize["Location"])
        tokens2 = client.post(
            "/oauth/token",
            {"grant_type": "authorization_code", "code": code2, "code_verifier": verifier2, "redirect_uri": CALLBACK},
            HTTP_AUTHORIZATION=basic(web.client_id, web_secret),
        ).json()
        leaks += [code2, verifier2, tokens2["access_token"], tokens2["refresh_token"], tokens2["id_token"]]
        refreshed = client.post(
            "/oauth/token",
            {"grant_type": "refresh_token", "refresh_token": tokens2["refresh_token"]},
            HTTP_AUTHORIZATION=basic(web.client_id, web_secret),
        )
        assert refreshed.status_code == 200, refreshed.content
        leaks += [refreshed.json()["access_token"], refreshed.json()["refresh_token"]]
        # The rotated-out refresh token again, after the lost-race window: replay, the family is revoked.
        RefreshToken.objects.filter(application=web, revoked__isnull=False).update(revoked=_before_the_race_window())
        client.post(
            "/oauth/token",
            {"grant_type": "refresh_token", "refresh_token": tokens2["refresh_token"]},
            HTTP_AUTHORIZATION=basic(web.client_id, web_secret),
        )
        assert client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {tokens2['access_token']}").status_code == 401
        introspected = client.post(
            "/oauth/introspect",
            {"token": refreshed.json()["access_token"]},
            HTTP_AUTHORIZATION=basic(web.client_id, web_secret),
        )
        assert introspected.status_code == 200
        revoked = client.post(
            "/oauth/revoke",
            {"token": refreshed.json()["refresh_token"], "client_id": web.client_id, "client_secret": web_secret},
        )
        assert revoked.status_code == 200
        # Sign-out with the ID token as hint.
        client.get("/oauth/logout", {"id_token_hint": tokens["id_token"], "client_id": web.client_id})

        # Client credentials: right secret (basic and post), wrong secret, unknown client, secret in the query.
        for headers, data in [
            ({"HTTP_AUTHORIZATION": basic(m2m.client_id, m2m_secret)}, {}),
            ({}, {"client_id": m2m.client_id, "client_secret": m2m_secret}),
        ]:
            response = client.post("/oauth/token", {"grant_type": "client_credentials", **data}, **headers)
            assert response.status_code == 200
            leaks.append(response.json()["access_token"])
        assert (
            client.post(
                "/oauth/token",
                {"grant_type": "client_credentials"},
                HTTP_AUTHORIZATION=basic(m2m.client_id, wrong_secret),
            ).status_code
            == 401
        )
        unknown = {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": wrong_secret}
        client.post("/oauth/token", unknown)
        client.get(f"/oauth/token?grant_type=client_credentials&client_secret={wrong_secret}")
        client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {wrong_secret}")

        # Management API: a new application (secret in the response), a new user with a password, a rotation.
        created = api.post(
            "/api/applications",
            {"name": "Logged App", "type": "m2m", "allowed_scopes": ["management:read"]},
            format="json",
        )
        assert created.status_code == 201, created.content
        leaks.append(created.json()["client_secret"])
        rotated = api.post(f"/api/applications/{created.json()['id']}/regenerate-secret", {}, format="json")
        assert rotated.status_code == 200, rotated.content
        leaks.append(rotated.json()["client_secret"])
        new_user = api.post("/api/users", {"email": "new@example.com", "password": new_user_password}, format="json")
        assert new_user.status_code == 201, new_user.content
        api.post("/api/users", {"email": "bad@example.com", "password": "short"}, format="json")
    finally:
        connection.force_debug_cursor = False

    output = buffer.getvalue()
    # The capture saw the flows: request lines, the libraries' DEBUG chatter and SQL.
    assert output.count("latchkey.request") >= 20
    assert "oauthlib" in output
    assert "django.db.backends" in output
    assert REDACTED in output
    leaked = {secret: line for line in output.splitlines() for secret in leaks if secret and secret in line}
    assert leaked == {}


@pytest.mark.django_db
def test_request_lines_follow_the_log_level_and_the_id_stays_on_the_response(client, capture_logs):
    buffer = capture_logs("json")
    logging.getLogger("latchkey.request").setLevel(logging.WARNING)

    response = client.get("/healthz")

    assert len(response["X-Request-ID"]) == 32
    assert "latchkey.request" not in buffer.getvalue()


# --- a request for a host we do not serve --------------------------------------------------------


def test_a_bad_host_is_one_warning_line_without_a_traceback(client, caplog):
    with caplog.at_level(logging.INFO):
        response = client.get("/healthz", HTTP_HOST="evil.example.com")

    assert response.status_code == 400
    records = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    assert [(r.levelname, r.exc_info, r.exc_text) for r in records] == [("WARNING", None, None)]
    assert "Invalid HTTP_HOST header: 'evil.example.com'" in records[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("fmt", ["json", "plain"])
def test_a_bad_host_writes_one_line_in_either_format(client, capture_logs, fmt):
    buffer = capture_logs(fmt)

    client.get("/healthz", HTTP_HOST="evil.example.com")

    lines = [line for line in buffer.getvalue().splitlines() if "DisallowedHost" in line]
    assert len(lines) == 1
    assert "WARNING" in lines[0]
    assert "Traceback" not in buffer.getvalue()
