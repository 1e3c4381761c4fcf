"""Changes across processes: two production servers sharing Redis and one database, with every
change made by a third process (`manage.py`), as an operator makes it.

Each change is tried on both servers right after the command returns: a rotated secret and a
deactivated application stop working on every server at once (the README's "the old secret stops
working at once"; clients are read on every request), and a scope taken from an application is
refused within memo.CHECK_SECONDS (each process keeps scopes and asks Redis for their generation once
a second). Without a shared cache ("auto" with LocMemCache) nothing is kept, and the scope is refused
at once.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from applications.oauth import memo
from tests.config.test_serve import ROOT, free_port, running_server, server_env

REDIS_URL = "redis://127.0.0.1:6379/0"

SETUP = """
import json
from applications import services
from applications.models import Application, Scope
services.api_resource_create(actor=None, identifier="https://api.example.com", name="API",
                             scopes={"api:read": "Read", "api:write": "Write"})
app = Application(type="m2m", name="Robot")
secret = services.application_create(actor=None, application=app,
                                     allowed_scopes=list(Scope.objects.filter(name__startswith="api:")))
print(json.dumps({"client_id": app.client_id, "client_secret": secret}))
"""
NARROW = """
from applications import services
from applications.models import Application, Scope
app = Application.objects.get(name="Robot")
services.application_update(actor=None, application=app, allowed_scopes=[Scope.objects.get(name="api:read")])
"""
DEACTIVATE = """
from applications import services
from applications.models import Application
services.application_deactivate(actor=None, application=Application.objects.get(name="Robot"))
"""


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def discovery_scopes(base_url: str) -> list[str]:
    response = requests.get(f"{base_url}/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 200
    return response.json()["scopes_supported"]


def token(base_url: str, client_id: str, secret: str, scope: str = "api:read") -> requests.Response:
    return requests.post(
        f"{base_url}/oauth/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(client_id, secret),
        timeout=10,
    )


def wait_for(condition, seconds: float = memo.CHECK_SECONDS + 1) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def start_two_servers(stack: ExitStack, tmp_path: Path, **extra: str) -> tuple[dict[str, str], list[str]]:
    env = server_env(tmp_path, 0, **extra)
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    urls = []
    for index in range(2):
        port = free_port()
        server_env_ = {**env, "LATCHKEY_BIND": f"127.0.0.1:{port}", "LATCHKEY_ISSUER": f"http://127.0.0.1:{port}"}
        _, url = stack.enter_context(running_server(server_env_, tmp_path / f"server-{index}.log"))
        urls.append(url)
    return env, urls


@pytest.mark.parametrize(
    "cache",
    [
        pytest.param({"CACHE_URL": REDIS_URL}, id="shared-cache-memo-on"),
        pytest.param({}, id="local-cache-memo-off"),
    ],
)
def test_changes_by_another_process_take_effect_on_every_server_at_once(tmp_path, cache):
    if cache and not redis_reachable():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    with ExitStack() as stack:
        env, servers = start_two_servers(stack, tmp_path, **cache)
        for url in servers:  # both servers build their discovery document before the new scopes exist
            assert "api:read" not in discovery_scopes(url)
        app = json.loads(manage(env, "shell", "--no-imports", "-c", SETUP))
        created_at = time.monotonic()
        if cache:  # discovery lists the new scopes within memo.CHECK_SECONDS (by age without the memo)
            for url in servers:
                assert wait_for(lambda: "api:write" in discovery_scopes(url)), url
                assert time.monotonic() - created_at < memo.CHECK_SECONDS + 1, url
        client_id, old_secret = app["client_id"], app["client_secret"]
        for url in servers:  # both servers now keep the client and its scopes
            assert token(url, client_id, old_secret, "api:read api:write").status_code == 200

        rotated = json.loads(manage(env, "app", "rotate-secret", client_id, "--json"))

        for url in servers:
            refused = token(url, client_id, old_secret)
            assert refused.status_code == 401 and refused.json()["error"] == "invalid_client", url
            assert token(url, client_id, rotated["client_secret"]).status_code == 200, url

        manage(env, "shell", "--no-imports", "-c", NARROW)
        narrowed_at = time.monotonic()

        for url in servers:  # within memo.CHECK_SECONDS of the commit: each server asks Redis once a second
            narrowed = wait_for(lambda: token(url, client_id, rotated["client_secret"], "api:write").status_code == 400)
            assert narrowed and time.monotonic() - narrowed_at < memo.CHECK_SECONDS + 1, url
            refused = token(url, client_id, rotated["client_secret"], "api:write")
            assert refused.json()["error"] == "invalid_scope", url
            assert token(url, client_id, rotated["client_secret"], "api:read").status_code == 200, url

        manage(env, "shell", "--no-imports", "-c", DEACTIVATE)

        for url in servers:
            inactive = token(url, client_id, rotated["client_secret"])
            assert inactive.status_code == 401 and inactive.json()["error"] == "invalid_client", url
