"""`id_token_hint` at the authorization endpoint (OIDC Core §3.1.2.1), against a running server."""

from __future__ import annotations

import base64
import json
import time

import pytest
from authlib.integrations.requests_client import OAuth2Session
from jwcrypto import jwt

from applications.models import Scope
from applications.oauth import keys
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory
from tests.protocol.conftest import Browser, query_of

pytestmark = pytest.mark.django_db(transaction=True)

CALLBACK = "https://rp.example.com/callback"


def web_app(**fields):
    allowed = list(Scope.objects.filter(name__in=["openid", "profile"]))
    return make_application(type="web", redirect_uris=CALLBACK, allowed_scopes=allowed, trusted=True, **fields)


def oidc_client(application, secret) -> OAuth2Session:
    return OAuth2Session(application.client_id, secret, scope="openid", redirect_uri=CALLBACK)


def id_token_of(server, browser, user, application, secret) -> str:
    """A real ID token for `user`, through the code flow in `browser`."""
    client = oidc_client(application, secret)
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    browser.sign_in(user.email)
    location = browser.authorize(url).headers["Location"]
    return client.fetch_token(server.url("/oauth/token"), authorization_response=location)["id_token"]


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def unsigned(real_id_token: str, **overrides) -> str:
    """The same claims with `alg: none` and no signature (RFC 7519 §6), under one of our kids."""
    header = {"alg": "none", "typ": "JWT", "kid": keys.current().signer("RS256").key.kid}
    return f"{_b64(header)}.{_b64({**_claims_of(real_id_token), **overrides})}."


def signed(real_id_token: str, **overrides) -> str:
    """The claims re-signed by our current RS256 key, with `overrides`."""
    signer = keys.current().signer("RS256")
    token = jwt.JWT(
        header=json.dumps({"alg": "RS256", "typ": "JWT", "kid": signer.key.kid}),
        claims=json.dumps({**_claims_of(real_id_token), **overrides}),
    )
    token.make_signed_token(signer.jwk)
    return token.serialize()


@pytest.fixture
def grace(transactional_db):
    return UserFactory(email="grace@example.com")


@pytest.fixture
def hinted(server, browser, user, grace):
    """An app, its secret, the ID tokens of Ada (the browser's signed-in user) and of Grace (another browser)."""
    application, secret = web_app()
    grace_token = id_token_of(server, Browser(server), grace, application, secret)
    ada_token = id_token_of(server, browser, user, application, secret)
    return application, secret, ada_token, grace_token


def authorize(server, browser, application, secret, **extra):
    url, state = oidc_client(application, secret).create_authorization_url(server.url("/oauth/authorize"), **extra)
    return browser.get(url), state


def test_hint_of_another_user_with_prompt_none_is_login_required(server, browser, hinted):
    application, secret, _, grace_token = hinted

    response, state = authorize(server, browser, application, secret, prompt="none", id_token_hint=grace_token)

    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"{CALLBACK}?")
    params = query_of(response)
    assert (params["error"], params["state"], params["iss"]) == ("login_required", state, server.base)
    assert "code" not in params


def test_hint_of_another_user_sends_the_user_to_sign_in_again(server, browser, hinted, grace):
    application, secret, _, grace_token = hinted

    response, _ = authorize(server, browser, application, secret, id_token_hint=grace_token)

    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]
    next_url = query_of(response)["next"]
    assert next_url.startswith("/oauth/authorize?")
    signed_in = browser.sign_in(grace.email, next_url=next_url)
    assert browser.get(server.url(signed_in.headers["Location"])).headers["Location"].startswith(f"{CALLBACK}?code=")


def test_hint_of_the_signed_in_user_returns_a_code(server, browser, hinted):
    application, secret, ada_token, _ = hinted

    response, state = authorize(server, browser, application, secret, prompt="none", id_token_hint=ada_token)

    assert response.headers["Location"].startswith(f"{CALLBACK}?code=")
    assert query_of(response)["state"] == state


def test_expired_hint_of_the_signed_in_user_returns_a_code(server, browser, hinted):
    application, secret, ada_token, _ = hinted
    past = int(time.time()) - 3600
    expired = signed(ada_token, iat=past - 300, exp=past)

    response, _ = authorize(server, browser, application, secret, prompt="none", id_token_hint=expired)

    assert response.headers["Location"].startswith(f"{CALLBACK}?code=")


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda app, token: unsigned(token), id="alg-none"),
        pytest.param(lambda app, token: "garbage", id="garbage"),
        pytest.param(lambda app, token: "a.b.c", id="three-junk-segments"),
        pytest.param(lambda app, token: "x" * 20000, id="huge"),
        pytest.param(
            lambda app, token: token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB"), id="bad-signature"
        ),
        pytest.param(lambda app, token: signed(token, iss="https://other-idp.example.com"), id="other-issuer"),
        pytest.param(lambda app, token: signed(token, aud="another-client"), id="other-audience"),
        pytest.param(
            lambda app, token: signed(token, aud=[app.client_id, "another-client"], azp="another-client"),
            id="azp-another-client",
        ),
    ],
)
@pytest.mark.parametrize("prompt", [None, "none"])
def test_invalid_hint_is_invalid_request_at_the_redirect_uri(server, browser, hinted, forge, prompt):
    application, secret, ada_token, _ = hinted
    extra = {"prompt": prompt} if prompt else {}

    response, state = authorize(
        server, browser, application, secret, id_token_hint=forge(application, ada_token), **extra
    )

    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"{CALLBACK}?")
    params = query_of(response)
    assert (params["error"], params["state"]) == ("invalid_request", state)
    assert "id_token_hint" in params["error_description"]


def test_hint_with_several_audiences_and_azp_of_this_client_is_accepted(server, browser, hinted):
    application, secret, ada_token, _ = hinted
    hint = signed(ada_token, aud=[application.client_id, "another-client"], azp=application.client_id)

    response, _ = authorize(server, browser, application, secret, prompt="none", id_token_hint=hint)

    assert response.headers["Location"].startswith(f"{CALLBACK}?code=")
