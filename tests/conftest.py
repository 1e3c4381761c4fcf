from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from rest_framework.test import APIClient

from applications.models import Scope
from applications.oauth import memo
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory

# The real webhook receiver (`receiver` fixture) for the delivery tests and the end-to-end ones.
pytest_plugins = ["tests.webhook_receiver"]


@pytest.fixture(autouse=True)
def _fresh_process_memo():
    """Each process keeps clients and scopes (applications.oauth.memo); a test's rolled-back rows must not
    outlive it there, since the next test's rows reuse their ids."""
    memo.clear()
    yield
    memo.clear()


@pytest.fixture(autouse=True)
def _fresh_local_cache():
    """The per-process cache (LocMemCache) starts empty: rate-limit counters (config.ratelimit) of one test's
    failed requests, all from 127.0.0.1, must not refuse the next test's."""
    from django.core.cache import caches

    if caches["default"].__class__.__name__ == "LocMemCache":
        caches["default"].clear()


@pytest.fixture
def admin_user(db):
    return UserFactory(is_staff=True, is_superuser=True)


def staff_sign_in(client, user) -> None:
    """Sign `user` in as the admin console requires by default: password and a second factor in this session
    (identity.mfa). The journeys that show the factor are tested in tests/identity/mfa/."""
    from identity.auth_time import SIGN_IN_METHOD_SESSION_KEY

    client.force_login(user)
    session = client.session
    session[SIGN_IN_METHOD_SESSION_KEY] = {"method": "password", "provider_id": None, "factors": ["otp"]}
    session.save()


@pytest.fixture
def admin_client(client, admin_user):
    staff_sign_in(client, admin_user)
    return client


@pytest.fixture
def management_api(db):
    """management_api("management:read", ...) -> an APIClient carrying a real client-credentials token.

    The token comes from /oauth/token for a new m2m app allowed exactly `scopes`; `client.token` holds it.
    """

    def make(*scopes: str) -> APIClient:
        application, secret = make_application(type="m2m", allowed_scopes=Scope.objects.filter(name__in=scopes))
        api = APIClient()
        basic = base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()
        response = api.post(
            "/oauth/token",
            f"grant_type=client_credentials&scope={'+'.join(scopes)}",
            content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=f"Basic {basic}",
        )
        assert response.status_code == 200, response.content
        api.token = response.json()["access_token"]
        api.application = application
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {api.token}")
        api.default_format = "json"
        return api

    return make


@pytest.fixture
def writer(management_api):
    """A management API client whose token may read and write."""
    return management_api("management:read", "management:write")


@pytest.fixture
def reader(management_api):
    """A management API client whose token may only read."""
    return management_api("management:read")


# --- dependencies that fail the way an operator sees them ------------------------------------------

# Nothing listens on port 1 of the loopback: a connection is refused at once.
CLOSED_PORT_CACHE_URL = "redis://127.0.0.1:1/0"
# The shipped defaults of CACHE_CONNECT_TIMEOUT / CACHE_SOCKET_TIMEOUT (tests/config/test_timeouts.py).
REDIS_TIMEOUTS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}


@pytest.fixture
def silent_listener() -> Iterator[tuple[str, int]]:
    """A TCP server that accepts every connection and never answers: a hung Redis, as a client sees it."""
    server = socket.create_server(("127.0.0.1", 0), backlog=64)
    server.settimeout(0.1)  # the loop notices the end of the test
    held: list[socket.socket] = []
    stopping = threading.Event()

    def accept_and_hold() -> None:
        while not stopping.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(connection)

    thread = threading.Thread(target=accept_and_hold, daemon=True)
    thread.start()
    yield server.getsockname()
    stopping.set()
    thread.join(timeout=2)
    server.close()
    for connection in held:
        connection.close()


@pytest.fixture
def silent_cache_url(silent_listener) -> str:
    host, port = silent_listener
    return f"redis://{host}:{port}/0"


@pytest.fixture
def use_cache(settings) -> Callable[[str], None]:
    """use_cache(url): Django's cache becomes Redis at `url` with the shipped timeouts (a fresh backend)."""

    def switch(url: str) -> None:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "OPTIONS": REDIS_TIMEOUTS,
            }
        }

    return switch


@pytest.fixture(params=["refused", "silent"])
def cache_down(request, use_cache) -> str:
    """The shared cache unreachable: its port closed ("refused"), or accepting and never answering ("silent")."""
    url = CLOSED_PORT_CACHE_URL if request.param == "refused" else request.getfixturevalue("silent_cache_url")
    use_cache(url)
    return request.param


@pytest.fixture
def real_redis(settings):
    """The machine's Redis (a positive control), under a key prefix of this test's own; skipped without one."""
    import uuid

    import redis

    url = "redis://127.0.0.1:6379/15"
    client = redis.Redis.from_url(url, **REDIS_TIMEOUTS)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    prefix = f"latchkey-test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
            "OPTIONS": REDIS_TIMEOUTS,
        }
    }
    yield client
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
