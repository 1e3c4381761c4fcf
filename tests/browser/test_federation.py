"""Real federation, end to end: a second Latchkey is the upstream OpenID Provider of the first.

No mock anywhere in the path. The upstream is another Latchkey process (`manage.py runserver` on its
own port, its own SQLite file, migrated and seeded with a person and a web client whose redirect URI
is the first server's allauth callback), reached as `localhost` while the first server (live_server)
is `127.0.0.1`, so the two keep separate cookies. The first server's client app has the upstream as a
generic `oidc` provider; LATCHKEY_OUTBOUND_ALLOW_PRIVATE lets the outbound guard call loopback.

The journey: the client's authorization request → the first server's sign-in page → "Continue with
Upstream SSO" → the upstream's sign-in page and consent → back on the first server, which creates
the person from the upstream identity → its consent → the client's redirect URI gets a code whose
ID token's `sub` is that new user of the first server.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from applications.models import Scope
from identity.federation.adapter import allauth_provider_id
from identity.federation.models import Provider
from identity.models import User
from tests.applications.factories import make_application
from tests.identity.federation.factories import make_provider

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
CALLBACK_PATH = "/spa/callback"
UPSTREAM_EMAIL = "federated.person@upstream.example"
UPSTREAM_PASSWORD = "upstream-Passw0rd-long"

SEED = """
from applications import services
from applications.models import Application, Scope
from identity import services as identity_services
import sys
redirect_uri = sys.argv[1]
identity_services.user_create(actor=None, email="{email}", password="{password}", name="Fed Person")
app = Application(type="web", name="Downstream Latchkey", redirect_uris=redirect_uri)
secret = services.application_create(actor=None, application=app,
    allowed_scopes=list(Scope.objects.filter(name__in=["openid", "profile", "email"])))
print(app.client_id, secret)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def upstream(tmp_path, server, settings):
    """A second Latchkey at http://localhost:<port>, its own process; yields (issuer, client_id, client_secret)."""
    port = free_port()
    issuer = f"http://localhost:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LATCHKEY_", "DATABASE_"))},
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DJANGO_DEBUG": "true",
        "DJANGO_SECRET_KEY": "upstream-test-secret-key-not-for-production-0123456789",
        "DJANGO_ALLOWED_HOSTS": "localhost",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'upstream.sqlite3'}",
        "LATCHKEY_ISSUER": issuer,
        "LOG_FORMAT": "plain",
        "LATCHKEY_LOG_LEVEL": "WARNING",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True, timeout=300)
    # The callback path is known before the provider exists: it is derived from the issuer.
    probe = Provider(type=Provider.Type.OIDC, issuer=issuer)
    callback = server.url(f"/account/oidc/{allauth_provider_id(probe)}/login/callback/")
    seed = SEED.format(email=UPSTREAM_EMAIL, password=UPSTREAM_PASSWORD)
    seeded = subprocess.run(
        [*manage, "shell", "-c", f"import sys; sys.argv = ['', {callback!r}]\n{seed}"],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    client_id, client_secret = seeded.stdout.strip().splitlines()[-1].split()
    process = subprocess.Popen(
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload", "--nothreading"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "the upstream Latchkey did not start"
            time.sleep(0.3)
        settings.LATCHKEY_OUTBOUND_ALLOW_PRIVATE = True
        settings.LATCHKEY_REGISTRATION = "open"
        yield issuer, client_id, client_secret
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_sign_in_through_an_upstream_latchkey_gives_the_client_a_code_for_the_new_local_user(
    server, upstream, page, screenshot
):
    issuer, upstream_client_id, upstream_client_secret = upstream
    allowed = list(Scope.objects.filter(name__in=["openid", "profile", "email"]))
    client_app, _ = make_application(
        type="spa",
        name="Federated SPA",
        redirect_uris=server.url(CALLBACK_PATH),
        allowed_origins=server.base,
        allowed_scopes=allowed,
    )
    make_provider(
        client_app,
        type="oidc",
        issuer=issuer,
        display_name="Upstream SSO",
        client_id=upstream_client_id,
        client_secret=upstream_client_secret,
    )
    oauth = OAuth2Session(
        client_app.client_id,
        scope="openid profile email",
        redirect_uri=server.url(CALLBACK_PATH),
        code_challenge_method="S256",
    )
    verifier = "v" * 64
    url, _ = oauth.create_authorization_url(server.url("/oauth/authorize"), code_verifier=verifier)

    page.goto(url)
    screenshot("federation-sign-in")
    page.get_by_role("button", name="Continue with Upstream SSO").click()

    # The upstream Latchkey's own sign-in page and consent.
    page.wait_for_url(f"{issuer}/login?**")
    page.get_by_test_id("login-form").get_by_label("Email").fill(UPSTREAM_EMAIL)
    page.get_by_test_id("login-form").get_by_label("Password").fill(UPSTREAM_PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(f"{issuer}/oauth/authorize?**")
    screenshot("federation-upstream-consent")
    page.get_by_test_id("consent-approve").click()

    # Back on the first server: its consent for the client app, then the client's callback.
    page.wait_for_url(f"{server.base}/oauth/authorize?**")
    page.get_by_test_id("consent-approve").click()
    page.wait_for_url(f"**{CALLBACK_PATH}?**")
    params = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}

    token = requests.post(
        server.url("/oauth/token"),
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": server.url(CALLBACK_PATH),
            "client_id": client_app.client_id,
            "code_verifier": verifier,
        },
        timeout=20,
    ).json()
    claims = server.decode_id_token(token["id_token"], client_id=client_app.client_id)

    local = User.objects.get(email=UPSTREAM_EMAIL)
    assert claims["sub"] == str(local.public_id)
    assert local.name == "Fed Person" and not local.has_usable_password()
    assert local.socialaccount_set.get().provider == allauth_provider_id(client_app.providers.get())
