"""The password sign-in lockout holds across two app servers sharing Redis (issue 20): the failures counted by
one server lock the account for that address on the other, with 429 and Retry-After, and the right password
waits too."""

from __future__ import annotations

import re
import uuid
from contextlib import ExitStack

import pytest
import requests

from tests.applications.oauth.test_memo_processes import manage, redis_reachable, start_two_servers

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a long and unusual passphrase 42"


def sign_in(base_url: str, email: str, password: str) -> requests.Response:
    browser = requests.Session()
    page = browser.get(f"{base_url}/login", timeout=10)
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert found, (page.status_code, page.text[:500])
    csrf = found.group(1)
    return browser.post(
        f"{base_url}/login",
        data={"username": email, "password": password, "csrfmiddlewaretoken": csrf},
        headers={"Referer": f"{base_url}/login"},
        allow_redirects=False,
        timeout=10,
    )


def test_lockout_holds_across_two_servers_sharing_redis(tmp_path):
    if not redis_reachable():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    limits = {
        "CACHE_URL": "redis://127.0.0.1:6379/13",
        "LATCHKEY_SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP": "3",
        "LATCHKEY_SIGN_IN_FAILURES_PER_IP": "100000",  # other runs' failures from 127.0.0.1 share the window
        # Plain http on loopback: the CSRF and session cookies must come back without TLS.
        "DJANGO_CSRF_COOKIE_SECURE": "false",
        "DJANGO_SESSION_COOKIE_SECURE": "false",
    }
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"  # counters of earlier runs stay in Redis for the window
    with ExitStack() as stack:
        env, servers = start_two_servers(stack, tmp_path, **limits)
        manage(env, "user", "create", "--email", email, "--password", PASSWORD)

        answers = [sign_in(url, email, "wrong") for url in (*servers, *servers)]

        assert [a.status_code for a in answers] == [200, 200, 200, 429]  # the fourth failure, wherever it lands
        assert int(answers[-1].headers["Retry-After"]) > 0
        assert 'data-testid="login-throttled"' in answers[-1].text
        assert all(sign_in(url, email, PASSWORD).status_code == 429 for url in servers)
