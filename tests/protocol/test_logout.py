"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) at /oauth/logout, against a running server."""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import timedelta

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from django.utils import timezone
from jwcrypto import jwk, jwt

from applications.models import Scope, SigningKey
from applications.oauth import keys
from applications.oauth.revocations import token_revoked
from tests.applications.factories import make_application, not_before_entries
from tests.protocol.conftest import query_of

pytestmark = pytest.mark.django_db(transaction=True)

CALLBACK = "https://rp.example.com/callback"
SIGNED_OUT = "https://rp.example.com/signed-out"


def web_app(**fields):
    allowed = list(Scope.objects.filter(name__in=["openid", "profile", "offline_access"]))
    values = {
        "redirect_uris": CALLBACK,
        "post_logout_redirect_uris": f"{SIGNED_OUT}\nhttps://rp.example.com/bye?from=idp",
        "allowed_scopes": allowed,
        "trusted": True,
        **fields,
    }
    return make_application(type="web", **values)


def sign_in_to(server, browser, user, application, secret, redirect_uri: str = CALLBACK) -> dict:
    """The real code flow: the browser signs in (once), Authlib exchanges the code."""
    client = OAuth2Session(
        application.client_id, secret, scope="openid profile offline_access", redirect_uri=redirect_uri
    )
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    if not browser.session.cookies.get("sessionid"):
        browser.sign_in(user.email)
    response = browser.authorize(url)
    assert response.headers["Location"].startswith(f"{redirect_uri}?code="), response.headers.get("Location")
    return client.fetch_token(server.url("/oauth/token"), authorization_response=response.headers["Location"])


def authorize_location(server, browser, application) -> str:
    response = browser.get(
        server.url("/oauth/authorize"),
        params={
            "response_type": "code",
            "client_id": application.client_id,
            "redirect_uri": CALLBACK,
            "scope": "openid",
        },
    )
    assert response.status_code == 302
    return response.headers["Location"]


def refresh_error(server, application, secret, refresh_token: str) -> str | None:
    response = requests.post(
        server.url("/oauth/token"),
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(application.client_id, secret),
        timeout=10,
    )
    return response.json().get("error")


def sign(claims: dict, key: jwk.JWK, kid: str, alg: str = "RS256") -> str:
    token = jwt.JWT(header=json.dumps({"typ": "JWT", "alg": alg, "kid": kid}), claims=json.dumps(claims))
    token.make_signed_token(key)
    return token.serialize()


def id_token_claims(real_id_token: str, application, user, **overrides) -> dict:
    """Claims like this server's, with its issuer copied from an ID token it really issued."""
    now = int(time.time())
    return {
        "iss": _decoded(real_id_token, 1)["iss"],
        "aud": application.client_id,
        "sub": str(user.public_id),
        "iat": now,
        "exp": now + 300,
        "jti": "00000000-0000-4000-8000-000000000000",
        **overrides,
    }


def assert_hinted_logout_signs_out(server, browser, tokens: dict, state: str) -> None:
    """Logout with the sign-in's ID token as hint: back to the registered URI with the state, and
    the access token no longer works."""
    response = browser.get(
        server.url("/oauth/logout"),
        params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": SIGNED_OUT, "state": state},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"{SIGNED_OUT}?state={state}"
    assert server.userinfo_status(tokens["access_token"]) == 401


def assert_error_page(response: requests.Response, status: int = 400) -> None:
    assert response.status_code == status, response.text
    assert "Location" not in response.headers
    assert 'data-testid="oauth-error"' in response.text


# --- the happy path --------------------------------------------------------------------------


def test_logout_with_id_token_hint_redirects_with_state_and_ends_session(server, browser, user):
    application, secret = web_app()
    tokens = sign_in_to(server, browser, user, application, secret)
    assert server.discovery()["end_session_endpoint"] == server.url("/oauth/logout")

    response = browser.get(
        server.url("/oauth/logout"),
        params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": SIGNED_OUT, "state": "st 1&x"},
    )

    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"{SIGNED_OUT}?")
    assert query_of(response) == {"state": "st 1&x"}
    assert "/login?next=" in authorize_location(server, browser, application)


def test_logout_with_an_es256_id_token_hint_ends_the_session(server, browser, user):
    application, secret = web_app(algorithm="ES256")
    tokens = sign_in_to(server, browser, user, application, secret)
    assert _decoded(tokens["id_token"], 0)["alg"] == "ES256"

    assert_hinted_logout_signs_out(server, browser, tokens, state="e1")
    assert "/login?next=" in authorize_location(server, browser, application)


def test_logout_registered_uri_with_query_keeps_it_and_adds_state(server, browser, user):
    application, secret = web_app()
    tokens = sign_in_to(server, browser, user, application, secret)
    response = browser.get(
        server.url("/oauth/logout"),
        params={
            "id_token_hint": tokens["id_token"],
            "client_id": application.client_id,
            "post_logout_redirect_uri": "https://rp.example.com/bye?from=idp",
            "state": "s2",
        },
    )
    assert response.status_code == 302
    assert query_of(response) == {"from": "idp", "state": "s2"}


def test_logout_by_rp_form_post_with_hint_redirects(server, browser, user):
    """§2: the OP MUST support POST; an RP's cross-site form post carries no CSRF token."""
    application, secret = web_app()
    tokens = sign_in_to(server, browser, user, application, secret)
    response = browser.session.post(
        server.url("/oauth/logout"),
        data={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": SIGNED_OUT, "state": "p1"},
        headers={"Origin": "https://rp.example.com"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"{SIGNED_OUT}?state=p1"
    assert "/login?next=" in authorize_location(server, browser, application)


def test_logout_without_uri_shows_signed_out_page(server, browser, user):
    application, secret = web_app()
    tokens = sign_in_to(server, browser, user, application, secret)
    response = browser.get(server.url("/oauth/logout"), params={"id_token_hint": tokens["id_token"]})
    assert response.status_code == 200
    assert "You are signed out" in response.text
    assert "/login?next=" in authorize_location(server, browser, application)


def test_logout_without_session_still_redirects_to_registered_uri(server, browser, user):
    application, _ = web_app()
    response = browser.get(
        server.url("/oauth/logout"),
        params={"client_id": application.client_id, "post_logout_redirect_uri": SIGNED_OUT, "state": "s3"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"{SIGNED_OUT}?state=s3"


# --- which tokens die ------------------------------------------------------------------------


def test_logout_revokes_only_that_applications_tokens(server, browser, user):
    first, first_secret = web_app()
    second, second_secret = web_app()
    first_tokens = sign_in_to(server, browser, user, first, first_secret)
    second_tokens = sign_in_to(server, browser, user, second, second_secret)
    assert server.userinfo_status(first_tokens["access_token"]) == 200

    response = browser.get(
        server.url("/oauth/logout"),
        params={"id_token_hint": first_tokens["id_token"], "post_logout_redirect_uri": SIGNED_OUT},
    )

    assert response.status_code == 302
    assert server.userinfo_status(first_tokens["access_token"]) == 401
    assert refresh_error(server, first, first_secret, first_tokens["refresh_token"]) == "invalid_grant"
    assert server.userinfo_status(second_tokens["access_token"]) == 200
    assert refresh_error(server, second, second_secret, second_tokens["refresh_token"]) is None


def test_logout_ends_the_users_jwt_access_tokens_at_that_application_only(server, browser, user):
    application, secret = web_app()
    tokens = sign_in_to(server, browser, user, application, secret)

    browser.get(server.url("/oauth/logout"), params={"id_token_hint": tokens["id_token"]})

    assert not_before_entries() == {(str(user.public_id), application.client_id, "signed_out")}
    issued = timezone.now() - timedelta(seconds=1)
    assert token_revoked(subject=str(user.public_id), client_id=application.client_id, issued_at=issued)
    assert not token_revoked(subject=str(user.public_id), client_id="another-app", issued_at=issued)


def test_logout_leaves_other_users_tokens_of_same_application(server, browser, user):
    from tests.identity.factories import UserFactory
    from tests.protocol.conftest import Browser

    application, secret = web_app()
    other_user = UserFactory(email="grace@example.com")
    other_tokens = sign_in_to(server, Browser(server), other_user, application, secret)
    tokens = sign_in_to(server, browser, user, application, secret)

    browser.get(server.url("/oauth/logout"), params={"id_token_hint": tokens["id_token"]})

    assert server.userinfo_status(tokens["access_token"]) == 401
    assert server.userinfo_status(other_tokens["access_token"]) == 200


# --- the redirect URI ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "https://evil.example.com/signed-out",
        f"{SIGNED_OUT}/",
        f"{SIGNED_OUT}?x=1",
        "https://RP.example.com/signed-out",
        "https://rp.example.com/bye",
        CALLBACK,
        "http://[::1",
        "javascript:alert(1)",
    ],
)
def test_logout_unregistered_uri_shows_error_page_without_redirect_or_logout(server, browser, user, uri):
    application, secret = web_app()
    tokens = sign_in_to(server, browser, user, application, secret)

    response = browser.get(
        server.url("/oauth/logout"),
        params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": uri, "state": "s"},
    )

    assert_error_page(response)
    assert "invalid_request" in response.text
    assert authorize_location(server, browser, application).startswith(f"{CALLBACK}?code=")
    assert server.userinfo_status(tokens["access_token"]) == 200


def test_logout_uri_registered_for_another_application_is_refused(server, browser, user):
    application, secret = web_app()
    make_application(type="web", redirect_uris=CALLBACK, post_logout_redirect_uris="https://other.example.com/out")
    tokens = sign_in_to(server, browser, user, application, secret)
    response = browser.get(
        server.url("/oauth/logout"),
        params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "https://other.example.com/out"},
    )
    assert_error_page(response)


def test_logout_uri_without_client_id_or_hint_is_error_page(server, browser, user):
    web_app()
    response = browser.get(server.url("/oauth/logout"), params={"post_logout_redirect_uri": SIGNED_OUT})
    assert_error_page(response)


@pytest.mark.parametrize("client_id", ["nope", "x" * 5000, "a\x00b"])
def test_logout_unknown_client_id_is_error_page(server, browser, client_id):
    response = browser.get(
        server.url("/oauth/logout"), params={"client_id": client_id, "post_logout_redirect_uri": SIGNED_OUT}
    )
    assert_error_page(response)


def test_logout_inactive_application_is_error_page(server, browser, user):
    application, secret = web_app()
    tokens = sign_in_to(server, browser, user, application, secret)
    application.is_active = False
    application.save()
    response = browser.get(
        server.url("/oauth/logout"),
        params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": SIGNED_OUT},
    )
    assert_error_page(response)


# --- the id_token_hint -----------------------------------------------------------------------


def test_logout_client_id_disagreeing_with_hint_is_error_page(server, browser, user):
    application, secret = web_app()
    other, _ = web_app()
    tokens = sign_in_to(server, browser, user, application, secret)

    response = browser.get(
        server.url("/oauth/logout"),
        params={
            "id_token_hint": tokens["id_token"],
            "client_id": other.client_id,
            "post_logout_redirect_uri": SIGNED_OUT,
        },
    )

    assert_error_page(response)
    assert server.userinfo_status(tokens["access_token"]) == 200


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    return f"{header}.{payload}.{signature[:-4]}{'AAAA' if not signature.endswith('AAAA') else 'BBBB'}"


@pytest.mark.parametrize(
    "make_hint",
    [
        pytest.param(lambda server, app, user, real: "garbage", id="garbage"),
        pytest.param(lambda server, app, user, real: "a.b.c", id="three-junk-segments"),
        pytest.param(lambda server, app, user, real: "a.b.c.d.e", id="jwe-shaped"),
        pytest.param(lambda server, app, user, real: "e30.e30.", id="empty-json"),
        pytest.param(lambda server, app, user, real: "x" * 20000, id="huge"),
        pytest.param(lambda server, app, user, real: _tampered(real), id="tampered-signature"),
        pytest.param(
            lambda server, app, user, real: sign(
                id_token_claims(real, app, user),
                jwk.JWK.generate(kty="RSA", size=2048),
                keys.current().signer("RS256").key.kid,
            ),
            id="our-kid-foreign-key",
        ),
        pytest.param(
            lambda server, app, user, real: sign(
                id_token_claims(real, app, user),
                jwk.JWK.generate(kty="EC", crv="P-256"),
                keys.current().signer("ES256").key.kid,
                alg="ES256",
            ),
            id="our-es256-kid-foreign-key",
        ),
        pytest.param(
            lambda server, app, user, real: sign(
                id_token_claims(real, app, user),
                keys.current().signer("RS256").jwk,
                keys.current().signer("ES256").key.kid,
            ),
            id="rs256-signature-under-our-es256-kid",
        ),
        pytest.param(
            lambda server, app, user, real: sign(
                id_token_claims(real, app, user, iss="https://other-idp.example.com"),
                jwk.JWK.generate(kty="RSA", size=2048),
                "foreign",
            ),
            id="other-issuer-and-key",
        ),
        pytest.param(
            lambda server, app, user, real: sign(
                id_token_claims(real, app, user, iss="https://other-idp.example.com"),
                keys.current().signer("RS256").jwk,
                keys.current().signer("RS256").key.kid,
            ),
            id="our-key-other-issuer",
        ),
        pytest.param(
            lambda server, app, user, real: sign(
                id_token_claims(real, app, user, aud="unknown-client"),
                keys.current().signer("RS256").jwk,
                keys.current().signer("RS256").key.kid,
            ),
            id="unknown-audience",
        ),
        pytest.param(
            lambda server, app, user, real: sign(
                id_token_claims(real, app, user, aud=["a", "b"]),
                keys.current().signer("RS256").jwk,
                keys.current().signer("RS256").key.kid,
            ),
            id="ambiguous-audience",
        ),
        pytest.param(
            lambda server, app, user, real: sign(
                id_token_claims(real, app, user), jwk.JWK.generate(kty="oct", size=256), "hmac", alg="HS256"
            ),
            id="hs256",
        ),
    ],
)
def test_logout_malformed_id_token_hint_is_error_page_not_500(server, browser, user, make_hint):
    application, secret = web_app()
    tokens = sign_in_to(server, browser, user, application, secret)
    hint = make_hint(server, application, user, tokens["id_token"])

    response = browser.get(
        server.url("/oauth/logout"),
        params={"id_token_hint": hint, "post_logout_redirect_uri": SIGNED_OUT, "state": "s"},
    )

    assert_error_page(response)
    assert authorize_location(server, browser, application).startswith(f"{CALLBACK}?code=")


def test_logout_hint_signed_by_key_retired_by_rotation_still_works(server, browser, user):
    application, secret = web_app()
    tokens = sign_in_to(server, browser, user, application, secret)
    old_kid = _kid(tokens["id_token"])

    keys.signing_key_rotate()

    new_kid = SigningKey.objects.get(algorithm="RS256", retired_at__isnull=True).kid
    assert SigningKey.objects.get(kid=old_kid).retired_at is not None
    published = {key["kid"] for key in requests.get(server.url("/.well-known/jwks.json"), timeout=10).json()["keys"]}
    assert {old_kid, new_kid} <= published
    second, second_secret = web_app()
    assert _kid(sign_in_to(server, browser, user, second, second_secret)["id_token"]) == new_kid
    assert_hinted_logout_signs_out(server, browser, tokens, state="r")


def _kid(token: str) -> str:
    return _decoded(token, 0)["kid"]


def _decoded(token: str, part: int) -> dict:
    """The JOSE header (0) or the payload (1) of a compact JWS, unverified."""
    segment = token.split(".")[part]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def test_logout_expired_hint_whose_row_is_gone_is_accepted(server, browser, user):
    """§2: expired ID tokens are valid hints; cleartokens may already have deleted their rows."""
    application, secret = web_app()
    tokens = sign_in_to(server, browser, user, application, secret)
    long_ago = int(time.time()) - 7200
    hint = sign(
        id_token_claims(tokens["id_token"], application, user, iat=long_ago, exp=long_ago + 60),
        keys.current().signer("RS256").jwk,
        keys.current().signer("RS256").key.kid,
    )

    response = browser.get(
        server.url("/oauth/logout"), params={"id_token_hint": hint, "post_logout_redirect_uri": SIGNED_OUT}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == SIGNED_OUT
    assert server.userinfo_status(tokens["access_token"]) == 401


# --- the confirmation page -------------------------------------------------------------------


def _form_fields(page: requests.Response) -> dict[str, str]:
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    return {k: v.replace("&amp;", "&").replace("&quot;", '"').replace("&#x27;", "'") for k, v in fields.items()}


def _submit(server, browser, page: requests.Response, **extra) -> requests.Response:
    return browser.session.post(
        server.url("/oauth/logout"),
        data={**_form_fields(page), **extra},
        headers={"Referer": page.url},
        allow_redirects=False,
        timeout=10,
    )


def test_logout_without_hint_asks_for_confirmation_then_logs_out(server, browser, user):
    application, secret = web_app()
    tokens = sign_in_to(server, browser, user, application, secret)
    params = {"client_id": application.client_id, "post_logout_redirect_uri": SIGNED_OUT, "state": "c1"}

    page = browser.get(server.url("/oauth/logout"), params=params)

    assert page.status_code == 200
    assert 'data-testid="logout-confirm"' in page.text
    assert application.name in page.text
    assert "csrfmiddlewaretoken" in _form_fields(page)
    assert server.userinfo_status(tokens["access_token"]) == 200
    response = _submit(server, browser, page, allow="1")
    assert response.status_code == 302
    assert response.headers["Location"] == f"{SIGNED_OUT}?state=c1"
    assert "/login?next=" in authorize_location(server, browser, application)
    assert server.userinfo_status(tokens["access_token"]) == 401


def test_logout_confirmation_cancel_keeps_session_and_tokens(server, browser, user):
    application, secret = web_app()
    tokens = sign_in_to(server, browser, user, application, secret)
    page = browser.get(
        server.url("/oauth/logout"),
        params={"client_id": application.client_id, "post_logout_redirect_uri": SIGNED_OUT},
    )

    response = _submit(server, browser, page)

    assert response.status_code == 200
    assert "Location" not in response.headers
    assert 'data-testid="logout-denied"' in response.text
    assert authorize_location(server, browser, application).startswith(f"{CALLBACK}?code=")
    assert server.userinfo_status(tokens["access_token"]) == 200


def test_logout_confirmation_without_csrf_token_is_forbidden(server, browser, user):
    application, secret = web_app()
    sign_in_to(server, browser, user, application, secret)
    page = browser.get(
        server.url("/oauth/logout"),
        params={"client_id": application.client_id, "post_logout_redirect_uri": SIGNED_OUT},
    )
    fields = _form_fields(page)
    fields.pop("csrfmiddlewaretoken")

    forged = browser.session.post(
        server.url("/oauth/logout"), data={**fields, "allow": "1"}, allow_redirects=False, timeout=10
    )

    assert forged.status_code == 403
    assert authorize_location(server, browser, application).startswith(f"{CALLBACK}?code=")


def test_logout_rp_post_without_hint_asks_for_confirmation(server, browser, user):
    application, secret = web_app()
    sign_in_to(server, browser, user, application, secret)
    response = browser.session.post(
        server.url("/oauth/logout"),
        data={"client_id": application.client_id, "post_logout_redirect_uri": SIGNED_OUT},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 200
    assert 'data-testid="logout-confirm"' in response.text
    assert authorize_location(server, browser, application).startswith(f"{CALLBACK}?code=")


def test_logout_hint_of_another_user_asks_for_confirmation(server, browser, user):
    from tests.identity.factories import UserFactory
    from tests.protocol.conftest import Browser

    application, secret = web_app()
    other_user = UserFactory(email="grace@example.com")
    other_tokens = sign_in_to(server, Browser(server), other_user, application, secret)
    sign_in_to(server, browser, user, application, secret)

    page = browser.get(
        server.url("/oauth/logout"),
        params={"id_token_hint": other_tokens["id_token"], "post_logout_redirect_uri": SIGNED_OUT},
    )

    assert page.status_code == 200
    assert 'data-testid="logout-confirm"' in page.text
    assert server.userinfo_status(other_tokens["access_token"]) == 200


def test_logout_confirmation_with_tampered_fields_is_error_page(server, browser, user):
    application, secret = web_app()
    sign_in_to(server, browser, user, application, secret)
    page = browser.get(server.url("/oauth/logout"), params={"client_id": application.client_id})

    response = _submit(server, browser, page, allow="1", post_logout_redirect_uri="https://evil.example.com/")

    assert_error_page(response)
    assert authorize_location(server, browser, application).startswith(f"{CALLBACK}?code=")


# --- budget ----------------------------------------------------------------------------------


def test_logout_query_budget(client, django_assert_max_num_queries, warm_keys):
    from tests.identity.factories import UserFactory

    user = UserFactory()
    application, secret = web_app()
    client.force_login(user)
    response = client.get(
        "/oauth/authorize",
        {"response_type": "code", "client_id": application.client_id, "redirect_uri": CALLBACK, "scope": "openid"},
    )
    code = query_of_location(response["Location"])["code"]
    tokens = client.post(
        "/oauth/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": application.client_id,
            "client_secret": secret,
        },
    ).json()

    # +2: which (user, app) pairs held tokens, and tokens.revoked; +1: the not-before entry (JWTs have no row).
    with django_assert_max_num_queries(17):
        response = client.get(
            "/oauth/logout",
            {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": SIGNED_OUT, "state": "q"},
        )

    assert response.status_code == 302, response.content
    assert response["Location"] == f"{SIGNED_OUT}?state=q"


def query_of_location(location: str) -> dict:
    from urllib.parse import parse_qs, urlsplit

    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


# --- post-logout URIs follow the redirect-URI rule (policies.redirect_uri_matches) -------------


def native_app(post_logout_uri: str):
    return make_application(
        type="native",
        redirect_uris="http://127.0.0.1/callback",
        post_logout_redirect_uris=post_logout_uri,
        allowed_scopes=list(Scope.objects.filter(name__in=["openid"])),
    )[0]


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]"])
def test_logout_native_loopback_uri_may_arrive_with_any_port(server, browser, user, host):
    application = native_app(f"http://{host}/signed-out")
    browser.sign_in(user.email)
    uri = f"http://{host}:53682/signed-out"

    page = browser.get(
        server.url("/oauth/logout"),
        params={"client_id": application.client_id, "post_logout_redirect_uri": uri, "state": "p1"},
    )
    assert page.status_code == 200
    assert 'data-testid="logout-confirm"' in page.text
    response = _submit(server, browser, page, allow="1")

    assert response.status_code == 302
    assert response.headers["Location"] == f"{uri}?state=p1"


@pytest.mark.parametrize(
    "uri",
    ["http://127.0.0.1:53682/elsewhere", "http://localhost:53682/signed-out", "http://127.0.0.1:53682/signed-out?x=1"],
)
def test_logout_native_loopback_uri_differing_in_more_than_the_port_is_refused(server, browser, uri):
    application = native_app("http://127.0.0.1/signed-out")
    response = browser.get(
        server.url("/oauth/logout"), params={"client_id": application.client_id, "post_logout_redirect_uri": uri}
    )
    assert_error_page(response)


def test_logout_web_app_loopback_uri_must_match_its_port_exactly(server, browser):
    application, _ = web_app(post_logout_redirect_uris="http://127.0.0.1:8080/signed-out")
    response = browser.get(
        server.url("/oauth/logout"),
        params={"client_id": application.client_id, "post_logout_redirect_uri": "http://127.0.0.1:9090/signed-out"},
    )
    assert_error_page(response)


def test_logout_without_hint_but_with_client_id_and_registered_uri_asks_the_user(server, browser, user):
    """RP-Initiated Logout §2: no id_token_hint, so the user decides (a confirmation page, never a 400)."""
    application, secret = web_app()
    sign_in_to(server, browser, user, application, secret)

    for send in (browser.get, lambda url, params: browser.session.post(url, data=params, allow_redirects=False)):
        page = send(
            server.url("/oauth/logout"),
            params={"client_id": application.client_id, "post_logout_redirect_uri": SIGNED_OUT, "state": "n1"},
        )
        assert page.status_code == 200
        assert 'data-testid="logout-confirm"' in page.text

    response = _submit(server, browser, page, allow="1")
    assert response.headers["Location"] == f"{SIGNED_OUT}?state=n1"
