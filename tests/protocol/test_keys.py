"""Signing keys seen by a relying party: ID tokens verified against /.well-known/jwks.json (joserfc),
each application's signing algorithm (its own, or LATCHKEY_SIGNING_ALGORITHM), and rotation with
`manage.py keys rotate` against a running server."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from io import StringIO

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from django.core.management import call_command
from django.utils import timezone
from joserfc.errors import JoseError

from applications.models import Scope, SigningKey
from applications.oauth import keys
from tests.applications.factories import make_application

pytestmark = pytest.mark.django_db(transaction=True)

CALLBACK = "https://rp.example.com/callback"
SIGNED_OUT = "https://rp.example.com/signed-out"


@pytest.fixture(autouse=True)
def cold_memo():
    keys.clear_cache()
    yield
    keys.clear_cache()


def web_app(**fields):
    return make_application(
        type="web",
        redirect_uris=CALLBACK,
        post_logout_redirect_uris=SIGNED_OUT,
        allowed_scopes=list(Scope.objects.filter(name__in=["openid", "profile", "email", "offline_access"])),
        **fields,
    )


def tokens_for(server, browser, user, application, secret, scope: str = "openid email") -> tuple[dict, str]:
    """A full code flow; returns (the token response, nonce)."""
    client = OAuth2Session(application.client_id, secret, scope=scope, redirect_uri=CALLBACK)
    nonce = generate_token(16)
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"), nonce=nonce)
    if not browser.session.cookies.get("sessionid"):
        browser.sign_in(user.email)
    response = browser.authorize(url)
    token = client.fetch_token(server.url("/oauth/token"), authorization_response=response.headers["Location"])
    return token, nonce


def id_token_for(server, browser, user, application, secret) -> tuple[str, str]:
    """A full code flow; returns (id_token, nonce)."""
    token, nonce = tokens_for(server, browser, user, application, secret)
    return token["id_token"], nonce


def header_of(token: str) -> dict:
    segment = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def jwks(server) -> list[dict]:
    return requests.get(server.url("/.well-known/jwks.json"), timeout=10).json()["keys"]


def rotate(*args: str) -> dict:
    out = StringIO()
    call_command("keys", "rotate", "--json", *args, stdout=out, stderr=StringIO())
    return json.loads(out.getvalue())


def verified(server, id_token: str, application, *, alg: str, nonce: str | None = None) -> dict:
    """The claims, after checking the header names `alg` and a JWKS key of that algorithm, and the signature."""
    header = header_of(id_token)
    assert header["alg"] == alg
    (published,) = [k for k in jwks(server) if k["kid"] == header["kid"]]
    assert published["alg"] == alg
    assert (published["kty"], published.get("crv")) == (("EC", "P-256") if alg == "ES256" else ("RSA", None))
    return server.decode_id_token(id_token, client_id=application.client_id, nonce=nonce)


def test_app_choosing_es256_gets_es256_id_tokens_while_others_keep_the_default(server, browser, user, settings):
    settings.LATCHKEY_SIGNING_ALGORITHM = "RS256"
    es256_app, es256_secret = web_app(algorithm="ES256")
    default_app, default_secret = web_app()

    id_token, nonce = id_token_for(server, browser, user, es256_app, es256_secret)
    other, other_nonce = id_token_for(server, browser, user, default_app, default_secret)

    claims = verified(server, id_token, es256_app, alg="ES256", nonce=nonce)
    assert claims["sub"] == str(user.public_id)
    assert "at_hash" in claims
    assert verified(server, other, default_app, alg="RS256", nonce=other_nonce)["sub"] == str(user.public_id)


@pytest.mark.parametrize("setting", ["RS256", "ES256"])
def test_app_left_blank_follows_the_deployment_algorithm(server, browser, user, settings, setting):
    settings.LATCHKEY_SIGNING_ALGORITHM = setting
    application, secret = web_app()

    id_token, nonce = id_token_for(server, browser, user, application, secret)

    assert verified(server, id_token, application, alg=setting, nonce=nonce)["sub"] == str(user.public_id)


def test_app_choosing_rs256_keeps_it_when_the_deployment_default_is_es256(server, browser, user, settings):
    settings.LATCHKEY_SIGNING_ALGORITHM = "ES256"
    application, secret = web_app(algorithm="RS256")

    id_token, nonce = id_token_for(server, browser, user, application, secret)

    verified(server, id_token, application, alg="RS256", nonce=nonce)


def test_refresh_of_an_es256_app_returns_an_es256_id_token(server, browser, user):
    application, secret = web_app(algorithm="ES256")
    tokens, _ = tokens_for(server, browser, user, application, secret, scope="openid email offline_access")

    response = server.refresh(application, secret, tokens["refresh_token"])

    assert response.status_code == 200, response.text
    refreshed = verified(server, response.json()["id_token"], application, alg="ES256")
    assert refreshed["sub"] == str(user.public_id)


def test_rotation_new_tokens_carry_new_kid_and_old_tokens_verify_until_key_unpublished(server, browser, user):
    application, secret = web_app()
    old_token, _ = id_token_for(server, browser, user, application, secret)
    old_kid = header_of(old_token)["kid"]

    es256_kid = SigningKey.objects.get(algorithm="ES256", retired_at__isnull=True).kid

    rotated = rotate("--algorithm", "RS256")

    assert [r["kid"] for r in rotated["retired"]] == [old_kid]
    (new_kid,) = [n["kid"] for n in rotated["new"]]
    new_token, nonce = id_token_for(server, browser, user, application, secret)
    assert header_of(new_token) | {"typ": "JWT"} == {"typ": "JWT", "alg": "RS256", "kid": new_kid}
    assert {k["kid"] for k in jwks(server)} == {old_kid, new_kid, es256_kid}
    server.decode_id_token(new_token, client_id=application.client_id, nonce=nonce)
    server.decode_id_token(old_token, client_id=application.client_id)

    # A day later: every token the old key signed has expired, and it leaves the JWKS.
    SigningKey.objects.filter(kid=old_kid).update(published_until=timezone.now() - timedelta(seconds=1))
    keys.clear_cache()
    assert {k["kid"] for k in jwks(server)} == {new_kid, es256_kid}
    with pytest.raises((JoseError, ValueError)):
        server.decode_id_token(old_token, client_id=application.client_id)


def test_logout_id_token_hint_signed_by_unpublished_retired_key_still_signs_out(server, browser, user):
    application, secret = web_app()
    old_token, _ = id_token_for(server, browser, user, application, secret)
    old_kid = header_of(old_token)["kid"]
    rotate()
    SigningKey.objects.filter(kid=old_kid).update(published_until=timezone.now() - timedelta(seconds=1))
    keys.clear_cache()
    assert old_kid not in {k["kid"] for k in jwks(server)}

    response = browser.get(
        server.url("/oauth/logout"),
        params={"id_token_hint": old_token, "post_logout_redirect_uri": SIGNED_OUT, "state": "s9"},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"{SIGNED_OUT}?state=s9"


def test_jwks_and_discovery_are_public_and_cacheable(server, settings):
    settings.LATCHKEY_KEY_CACHE_SECONDS = 120
    for path in ("/.well-known/jwks.json", "/.well-known/openid-configuration"):
        response = requests.get(server.url(path), headers={"Origin": "https://anywhere.example"}, timeout=10)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=120"
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "ES256" in server.discovery()["id_token_signing_alg_values_supported"]
