"""Authorization code flow, driven by Authlib's OAuth2Session against a running server."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from django.utils import timezone
from oauth2_provider.models import get_grant_model

from applications import policies
from applications.models import Scope
from tests.applications.factories import ApiResourceFactory, ScopeFactory, make_application, not_before_entries
from tests.protocol.conftest import query_of

pytestmark = pytest.mark.django_db(transaction=True)

OIDC = ["openid", "profile", "email", "offline_access"]


def scopes(*names):
    return list(Scope.objects.filter(name__in=names))


def web_app(**fields):
    return make_application(
        type="web",
        redirect_uris="https://rp.example.com/callback",
        allowed_scopes=scopes(*OIDC, "phone", "roles"),
        **fields,
    )


def spa_app(**fields):
    return make_application(
        type="spa",
        redirect_uris="http://localhost:5173/callback",
        allowed_origins="http://localhost:5173",
        allowed_scopes=scopes(*OIDC),
        **fields,
    )


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_web_app_code_flow_issues_tokens_and_verifiable_id_token(server, browser, user, auth_method):
    application, secret = web_app(access_token_ttl=900, id_token_ttl=300)
    meta = server.discovery()
    client = OAuth2Session(
        application.client_id,
        secret,
        scope="openid profile email offline_access",
        redirect_uri="https://rp.example.com/callback",
        token_endpoint_auth_method=auth_method,
    )
    nonce = generate_token(16)
    url, state = client.create_authorization_url(meta["authorization_endpoint"], nonce=nonce)
    browser.sign_in(user.email)
    before = int(time.time())

    response = browser.authorize(url)

    assert response.status_code == 302
    params = query_of(response)
    assert response.headers["Location"].startswith("https://rp.example.com/callback?")
    assert params["state"] == state
    assert params["iss"] == server.base
    token = client.fetch_token(meta["token_endpoint"], authorization_response=response.headers["Location"])
    assert token["expires_in"] == 900
    assert "refresh_token" in token
    claims = server.decode_id_token(token["id_token"], client_id=application.client_id, nonce=nonce)
    assert claims["sub"] == str(user.public_id)
    assert claims["email"] == "ada@example.com"
    assert claims["name"] == "Ada Lovelace"
    assert claims["exp"] - claims["iat"] == 300
    assert before - 5 <= claims["auth_time"] <= int(time.time())
    assert "at_hash" in claims

    userinfo = client.get(meta["userinfo_endpoint"]).json()
    assert userinfo["sub"] == str(user.public_id)
    assert userinfo["email_verified"] is True
    assert "phone_number" not in userinfo


def test_web_app_without_offline_access_gets_no_refresh_token(server, browser, user):
    application, secret = web_app()
    client = OAuth2Session(
        application.client_id, secret, scope="openid email", redirect_uri="https://rp.example.com/callback"
    )
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    browser.sign_in(user.email)
    response = browser.authorize(url)
    token = client.fetch_token(server.url("/oauth/token"), authorization_response=response.headers["Location"])
    assert "refresh_token" not in token


def test_spa_code_flow_with_pkce_s256(server, browser, user):
    application, _ = spa_app()
    client = OAuth2Session(
        application.client_id,
        scope="openid profile",
        redirect_uri="http://localhost:5173/callback",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = generate_token(48)
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"), code_verifier=verifier)
    browser.sign_in(user.email)
    response = browser.authorize(url)
    token = client.fetch_token(
        server.url("/oauth/token"), authorization_response=response.headers["Location"], code_verifier=verifier
    )
    claims = server.decode_id_token(token["id_token"], client_id=application.client_id)
    assert claims["sub"] == str(user.public_id)


def test_spa_without_pkce_gets_invalid_request_at_redirect_uri(server, browser, user):
    application, _ = spa_app()
    browser.sign_in(user.email)
    response = browser.get(
        server.url("/oauth/authorize"),
        params={
            "response_type": "code",
            "client_id": application.client_id,
            "redirect_uri": "http://localhost:5173/callback",
            "scope": "openid",
            "state": "s1",
        },
    )
    assert response.status_code == 302
    params = query_of(response)
    assert params["error"] == "invalid_request"
    assert params["state"] == "s1"
    assert params["iss"] == server.base


@pytest.mark.parametrize("method", [None, "plain"])
def test_spa_plain_or_missing_challenge_method_rejected(server, browser, user, method):
    application, _ = spa_app()
    browser.sign_in(user.email)
    params = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": "http://localhost:5173/callback",
        "scope": "openid",
        "state": "s2",
        "code_challenge": "x" * 43,
    }
    if method:
        params["code_challenge_method"] = method
    response = browser.get(server.url("/oauth/authorize"), params=params)
    assert response.status_code == 302
    assert query_of(response)["error"] == "invalid_request"


def test_pkce_downgrade_verifier_for_code_without_challenge_is_invalid_grant(server, browser, user):
    application, secret = web_app()
    client = OAuth2Session(
        application.client_id, secret, scope="openid", redirect_uri="https://rp.example.com/callback"
    )
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    browser.sign_in(user.email)
    code = query_of(browser.authorize(url))["code"]
    response = requests.post(
        server.url("/oauth/token"),
        auth=(application.client_id, secret),
        timeout=10,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "https://rp.example.com/callback",
            "code_verifier": generate_token(48),
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def redeem_twice(server, browser, user, *, scope: str):
    """A code redeemed, then presented again after the lost-race window (a replay): (app, secret, first, second)."""
    application, secret = web_app()
    client = OAuth2Session(application.client_id, secret, scope=scope, redirect_uri="https://rp.example.com/callback")
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    browser.sign_in(user.email)
    code = query_of(browser.authorize(url))["code"]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": "https://rp.example.com/callback"}
    first = requests.post(server.url("/oauth/token"), auth=(application.client_id, secret), data=data, timeout=10)
    assert first.status_code == 200
    # Redeemed before the lost-race window: the second redemption is a replay (policies.lost_race).
    redeemed_long_ago = timezone.now() - timedelta(seconds=policies.LOST_RACE_SECONDS + 1)
    get_grant_model().objects.filter(code=code).update(redeemed_at=redeemed_long_ago)
    second = requests.post(server.url("/oauth/token"), auth=(application.client_id, secret), data=data, timeout=10)
    return application, secret, first, second


def test_code_second_redemption_is_invalid_grant_and_revokes_first_tokens(server, browser, user):
    application, secret, first, second = redeem_twice(server, browser, user, scope="openid offline_access")

    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    userinfo = requests.get(
        server.url("/oauth/userinfo"), timeout=10, headers={"Authorization": f"Bearer {first.json()['access_token']}"}
    )
    assert userinfo.status_code == 401
    refresh = requests.post(
        server.url("/oauth/token"),
        auth=(application.client_id, secret),
        timeout=10,
        data={"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]},
    )
    assert refresh.json()["error"] == "invalid_grant"


def test_code_second_redemption_ends_the_users_jwt_access_tokens_at_that_application(server, browser, user):
    application, _, _, second = redeem_twice(server, browser, user, scope="openid")

    assert second.json()["error"] == "invalid_grant"
    assert not_before_entries() == {(str(user.public_id), application.client_id, "code_replayed")}


def test_code_bound_to_redirect_uri_and_client(server, browser, user):
    application, secret = web_app()
    other, other_secret = make_application(type="web", redirect_uris="https://rp.example.com/callback")
    client = OAuth2Session(
        application.client_id, secret, scope="openid", redirect_uri="https://rp.example.com/callback"
    )
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    browser.sign_in(user.email)
    code = query_of(browser.authorize(url))["code"]
    stolen = requests.post(
        server.url("/oauth/token"),
        auth=(other.client_id, other_secret),
        timeout=10,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": "https://rp.example.com/callback"},
    )
    assert stolen.json()["error"] == "invalid_grant"
    wrong_uri = requests.post(
        server.url("/oauth/token"),
        auth=(application.client_id, secret),
        timeout=10,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": "https://rp.example.com/other"},
    )
    assert wrong_uri.json()["error"] in ("invalid_grant", "invalid_request")


def test_unknown_client_or_mismatched_redirect_uri_shows_error_page_and_never_redirects(server, browser, user):
    application, _ = web_app()
    browser.sign_in(user.email)
    for params in (
        {"client_id": "nope", "redirect_uri": "https://rp.example.com/callback"},
        {"client_id": application.client_id, "redirect_uri": "https://evil.example.com/callback"},
        {"client_id": application.client_id, "redirect_uri": "https://rp.example.com/callback/"},
    ):
        response = browser.get(
            server.url("/oauth/authorize"), params={"response_type": "code", "scope": "openid", **params}
        )
        assert response.status_code in (400, 401)
        assert "Location" not in response.headers
        assert 'data-testid="oauth-error"' in response.text


def test_unauthenticated_user_is_sent_to_sign_in_then_back(server, browser, user):
    application, secret = web_app(trusted=True)
    client = OAuth2Session(
        application.client_id, secret, scope="openid", redirect_uri="https://rp.example.com/callback"
    )
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    response = browser.get(url)
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]
    next_url = query_of(response)["next"]
    assert next_url.startswith("/oauth/authorize?")
    signed_in = browser.sign_in(user.email, next_url=next_url)
    assert signed_in.status_code == 302
    assert signed_in.headers["Location"] == next_url
    back = browser.get(server.url(signed_in.headers["Location"]))
    assert back.headers["Location"].startswith("https://rp.example.com/callback?code=")


def test_prompt_none_without_session_is_login_required(server, browser, user):
    application, secret = web_app(trusted=True)
    client = OAuth2Session(
        application.client_id, secret, scope="openid", redirect_uri="https://rp.example.com/callback"
    )
    url, state = client.create_authorization_url(server.url("/oauth/authorize"), prompt="none")
    params = query_of(browser.get(url))
    assert params["error"] == "login_required"
    assert params["state"] == state


def test_prompt_none_trusted_app_with_session_returns_code_silently(server, browser, user):
    application, secret = web_app(trusted=True)
    client = OAuth2Session(
        application.client_id, secret, scope="openid", redirect_uri="https://rp.example.com/callback"
    )
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"), prompt="none")
    browser.sign_in(user.email)
    assert "code" in query_of(browser.get(url))


def test_prompt_none_untrusted_app_without_consent_is_consent_required(server, browser, user):
    application, secret = web_app()
    client = OAuth2Session(
        application.client_id, secret, scope="openid", redirect_uri="https://rp.example.com/callback"
    )
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"), prompt="none")
    browser.sign_in(user.email)
    assert query_of(browser.get(url))["error"] == "consent_required"


def test_deny_returns_access_denied_with_state_and_iss(server, browser, user):
    application, secret = web_app()
    client = OAuth2Session(
        application.client_id, secret, scope="openid", redirect_uri="https://rp.example.com/callback"
    )
    url, state = client.create_authorization_url(server.url("/oauth/authorize"))
    browser.sign_in(user.email)
    params = query_of(browser.authorize(url, approve=False))
    assert params["error"] == "access_denied"
    assert params["state"] == state


def test_scope_not_allowed_is_invalid_scope_at_redirect_uri(server, browser, user):
    application, secret = make_application(
        type="web", redirect_uris="https://rp.example.com/callback", allowed_scopes=scopes("openid")
    )
    client = OAuth2Session(
        application.client_id, secret, scope="openid email", redirect_uri="https://rp.example.com/callback"
    )
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    browser.sign_in(user.email)
    assert query_of(browser.get(url))["error"] == "invalid_scope"


def test_user_without_required_role_gets_no_access_page_and_no_code(server, browser, user):
    from tests.identity.factories import RoleFactory

    role = RoleFactory(name="streaming:subscriber")
    application, secret = web_app(trusted=True, required_roles=[role])
    client = OAuth2Session(
        application.client_id, secret, scope="openid", redirect_uri="https://rp.example.com/callback"
    )
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    browser.sign_in(user.email)
    response = browser.get(url)
    assert response.status_code == 403
    assert 'data-testid="access-denied"' in response.text
    silent, _ = client.create_authorization_url(server.url("/oauth/authorize"), prompt="none")
    assert query_of(browser.get(silent))["error"] == "access_denied"


def test_inactive_application_shows_error_page(server, browser, user):
    application, secret = web_app()
    application.is_active = False
    application.save()
    client = OAuth2Session(
        application.client_id, secret, scope="openid", redirect_uri="https://rp.example.com/callback"
    )
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    browser.sign_in(user.email)
    response = browser.get(url)
    assert "Location" not in response.headers
    assert 'data-testid="oauth-error"' in response.text


def test_parallel_redemptions_of_one_code_leave_one_set_of_valid_tokens(server, browser, user):
    """Ten at once, on either database: one 200, nine invalid_grant, and the winner's tokens stay valid."""
    from concurrent.futures import ThreadPoolExecutor

    from oauth2_provider.models import get_access_token_model, get_refresh_token_model

    application, secret = web_app(trusted=True)
    client = OAuth2Session(
        application.client_id, secret, scope="openid offline_access", redirect_uri="https://rp.example.com/callback"
    )
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    browser.sign_in(user.email)
    code = query_of(browser.authorize(url))["code"]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": "https://rp.example.com/callback"}
    start = threading.Barrier(10)

    def redeem(_):
        start.wait()
        return requests.post(server.url("/oauth/token"), auth=(application.client_id, secret), data=data, timeout=30)

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(redeem, range(10)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * 9, [r.text for r in responses if r.status_code != 400]
    assert {r.json()["error"] for r in responses if r.status_code == 400} == {"invalid_grant"}
    assert get_access_token_model().objects.count() == 1
    assert get_refresh_token_model().objects.count() == 1
    winner = next(r.json() for r in responses if r.status_code == 200)
    introspected = requests.post(
        server.url("/oauth/introspect"),
        data={"token": winner["access_token"]},
        auth=(application.client_id, secret),
        timeout=10,
    )
    assert introspected.json()["active"] is True
    refreshed = requests.post(
        server.url("/oauth/token"),
        auth=(application.client_id, secret),
        data={"grant_type": "refresh_token", "refresh_token": winner["refresh_token"]},
        timeout=10,
    )
    assert refreshed.status_code == 200, refreshed.text


def test_code_presented_again_within_the_race_window_revokes_nothing(server, browser, user):
    # What a loser of a race sees once the winner has committed: the code was just redeemed.
    application, secret = web_app(trusted=True)
    client = OAuth2Session(
        application.client_id, secret, scope="openid offline_access", redirect_uri="https://rp.example.com/callback"
    )
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    browser.sign_in(user.email)
    code = query_of(browser.authorize(url))["code"]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": "https://rp.example.com/callback"}
    first = requests.post(server.url("/oauth/token"), auth=(application.client_id, secret), data=data, timeout=10)

    late = requests.post(server.url("/oauth/token"), auth=(application.client_id, secret), data=data, timeout=10)

    assert late.status_code == 400
    assert late.json()["error"] == "invalid_grant"
    userinfo = requests.get(
        server.url("/oauth/userinfo"), timeout=10, headers={"Authorization": f"Bearer {first.json()['access_token']}"}
    )
    assert userinfo.status_code == 200


def test_id_token_is_not_a_bearer_credential_at_userinfo(server, browser, user):
    application, secret = web_app(trusted=True)
    client = OAuth2Session(
        application.client_id, secret, scope="openid email", redirect_uri="https://rp.example.com/callback"
    )
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    browser.sign_in(user.email)
    token = client.fetch_token(
        server.url("/oauth/token"), authorization_response=browser.authorize(url).headers["Location"]
    )

    response = requests.get(
        server.url("/oauth/userinfo"), headers={"Authorization": f"Bearer {token['id_token']}"}, timeout=10
    )

    assert response.status_code == 401


REGISTERED_APIS = ("https://api.example.com", "https://b.example.com")


def web_app_with_apis(**fields):
    """A web app that may use the two REGISTERED_APIS (one scope of each among its allowed scopes)."""
    api_scopes = [
        ScopeFactory(name=f"api{n}:read", resource=ApiResourceFactory(identifier=identifier))
        for n, identifier in enumerate(REGISTERED_APIS)
    ]
    return make_application(
        type="web",
        redirect_uris="https://rp.example.com/callback",
        allowed_scopes=scopes(*OIDC) + api_scopes,
        **fields,
    )


def _openid_authorization_url(server, application, secret, *resources: str) -> tuple[str, str]:
    """An `openid` authorization request (and its state), each of `resources` a `resource` parameter."""
    client = OAuth2Session(
        application.client_id, secret, scope="openid", redirect_uri="https://rp.example.com/callback"
    )
    url, state = client.create_authorization_url(server.url("/oauth/authorize"))
    return url + "".join(f"&resource={requests.utils.quote(r, safe='')}" for r in resources), state


def _code_with_resources(server, browser, user, application, secret, *resources: str) -> str:
    url, _ = _openid_authorization_url(server, application, secret, *resources)
    browser.sign_in(user.email)
    return query_of(browser.authorize(url))["code"]


def _exchange(server, application, secret, code: str, *resources: str) -> requests.Response:
    """The code exchange with each of `resources` as a repeated `resource` parameter (RFC 8707)."""
    return requests.post(
        server.url("/oauth/token"),
        auth=(application.client_id, secret),
        data=[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", "https://rp.example.com/callback"),
            *(("resource", r) for r in resources),
        ],
        timeout=10,
    )


def _audience(server, application, secret, access_token: str):
    response = requests.post(
        server.url("/oauth/introspect"), auth=(application.client_id, secret), data={"token": access_token}, timeout=10
    )
    return response.json().get("aud")


@pytest.mark.parametrize(
    ("authorized", "requested", "audience"),
    [
        ((), (), None),
        (("https://api.example.com",), (), ["https://api.example.com"]),
        (("https://api.example.com", "https://b.example.com"), ("https://b.example.com",), ["https://b.example.com"]),
        ((), ("https://api.example.com",), ["https://api.example.com"]),
    ],
)
@pytest.mark.parametrize("trusted", [True, False], ids=["no-consent-page", "through-the-consent-form"])
def test_code_exchange_resources_are_inherited_or_narrowed(
    server, browser, user, authorized, requested, audience, trusted
):
    # RFC 8707: the token carries the resources authorized with the code, or the subset the token request names.
    application, secret = web_app_with_apis(trusted=trusted)
    code = _code_with_resources(server, browser, user, application, secret, *authorized)

    response = _exchange(server, application, secret, code, *requested)

    assert response.status_code == 200, response.text
    assert _audience(server, application, secret, response.json()["access_token"]) == audience


@pytest.mark.parametrize(
    ("authorized", "requested"),
    [
        (("https://api.example.com",), ("https://other.example.com",)),
        (("https://api.example.com",), ("https://api.example.com", "https://other.example.com")),
        ((), ("not a uri",)),
        ((), ("https://api.example.com/#fragment",)),
        ((), ("https://other.example.com",)),  # not a registered API resource
        ((), ("https://api.example.com", "https://other.example.com")),
    ],
)
def test_code_exchange_refuses_resources_beyond_the_grant_or_malformed(server, browser, user, authorized, requested):
    application, secret = web_app_with_apis(trusted=True)
    code = _code_with_resources(server, browser, user, application, secret, *authorized)

    response = _exchange(server, application, secret, code, *requested)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"


def test_a_malformed_resource_at_authorize_is_invalid_target_at_the_redirect_uri(server, browser, user):
    application, secret = web_app_with_apis(trusted=True)
    url, state = _openid_authorization_url(server, application, secret, "https://api.example.com", "not-a-uri")
    browser.sign_in(user.email)

    response = browser.get(url)

    assert response.status_code == 302
    params = query_of(response)
    assert (params["error"], params["state"]) == ("invalid_target", state)
    assert "not-a-uri" in params["error_description"]


@pytest.mark.parametrize("trusted", [True, False], ids=["no-consent-page", "consent-page"])
@pytest.mark.parametrize(
    "resource",
    ["https://attacker.example.com", "https://billing.example.com"],
    ids=["unregistered", "registered-not-the-clients"],
)
def test_a_resource_the_client_may_not_use_at_authorize_is_invalid_target_at_the_redirect_uri(
    server, browser, user, resource, trusted
):
    # RFC 8707 §2: refused before any code or consent page, like a malformed one.
    application, secret = web_app_with_apis(trusted=trusted)
    ScopeFactory(name="billing:read", resource=ApiResourceFactory(identifier="https://billing.example.com"))
    url, state = _openid_authorization_url(server, application, secret, "https://api.example.com", resource)
    browser.sign_in(user.email)

    response = browser.get(url)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("https://rp.example.com/callback?")
    params = query_of(response)
    assert (params["error"], params["state"]) == ("invalid_target", state)
    assert resource in params["error_description"]
