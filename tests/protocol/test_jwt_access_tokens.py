"""Tokens for APIs: RFC 8707 resources (and `audience`) as the token's aud, RFC 9068 JWT access tokens.

Optare's M2M example: getM2MToken({clientId, clientSecret, audience: "https://api.myapp.com"}) returns a
token for that one API, which the API verifies with our JWKS alone.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from unittest import mock

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from joserfc import jwt
from joserfc.jwk import KeySet

from applications.models import ApiResource, Scope
from tests.applications.factories import ApiResourceFactory, ScopeFactory, make_application
from tests.protocol.test_refresh import CALLBACK

pytestmark = pytest.mark.django_db(transaction=True)
API = "https://api.myapp.com"


def jwt_api(identifier: str = API, **fields) -> tuple[ApiResource, Scope]:
    resource = ApiResourceFactory(identifier=identifier, **{"access_token_format": "jwt", **fields})
    return resource, ScopeFactory(name=f"{resource.name.split()[-1]}:read", resource=resource)


def m2m_client(*scopes: Scope):
    return make_application(type="m2m", allowed_scopes=list(scopes))


def get_m2m_token(server, client_id: str, secret: str, **params) -> requests.Response:
    """What Optare's getM2MToken sends: client credentials with HTTP Basic and an `audience`."""
    data = {"grant_type": "client_credentials", **params}
    return requests.post(server.url("/oauth/token"), data=data, auth=(client_id, secret), timeout=10)


def verify_locally(server, token: str) -> tuple[dict, dict]:
    """A resource server's check: our JWKS, RFC 9068's typ, our issuer, its own audience, expiry."""
    keyset = KeySet.import_key_set(requests.get(server.url("/.well-known/jwks.json"), timeout=10).json())
    decoded = jwt.decode(token, keyset, algorithms=["ES256", "RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": server.base},
        aud={"essential": True, "value": API},
        exp={"essential": True},
        iat={"essential": True},
        sub={"essential": True},
        jti={"essential": True},
        client_id={"essential": True},
    ).validate(decoded.claims)
    return decoded.header, decoded.claims


def introspect(server, client, secret: str, token: str) -> dict:
    response = requests.post(
        server.url("/oauth/introspect"), data={"token": token}, auth=(client.client_id, secret), timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_client_credentials_with_audience_for_jwt_resource_returns_jwt_the_api_verifies_with_jwks(server):
    _, read = jwt_api()
    application, secret = m2m_client(read)

    response = get_m2m_token(server, application.client_id, secret, audience=API)

    assert response.status_code == 200, response.text
    body = response.json()
    header, claims = verify_locally(server, body["access_token"])
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "ES256"
    assert claims["aud"] == API
    assert claims["sub"] == application.client_id == claims["client_id"]
    assert claims["scope"] == read.name == body["scope"]
    assert claims["exp"] - claims["iat"] == body["expires_in"]


def test_client_credentials_jwt_resource_with_rs256_is_signed_rs256(server):
    _, read = jwt_api(signing_alg="RS256")
    application, secret = m2m_client(read)

    response = get_m2m_token(server, application.client_id, secret, resource=API)

    header, _ = verify_locally(server, response.json()["access_token"])
    assert header["alg"] == "RS256"


def test_client_credentials_jwt_token_request_writes_nothing(client, settings, warm_keys):
    settings.LATCHKEY_ISSUER = "http://testserver"
    _, read = jwt_api()
    application, secret = m2m_client(read)
    auth = "Basic " + base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()
    data = {"grant_type": "client_credentials", "audience": API}
    client.post("/oauth/token", data, HTTP_AUTHORIZATION=auth)  # stamps last-used, fills the key memo

    with CaptureQueriesContext(connection) as queries:
        response = client.post("/oauth/token", data, HTTP_AUTHORIZATION=auth)

    assert response.status_code == 200
    assert response.json()["access_token"].count(".") == 2
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == []


def test_client_credentials_query_budget_for_jwt_resource(client, settings, warm_keys, django_assert_max_num_queries):
    settings.LATCHKEY_ISSUER = "http://testserver"
    _, read = jwt_api()
    application, secret = m2m_client(read)
    auth = "Basic " + base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()
    data = {"grant_type": "client_credentials", "audience": API}
    client.post("/oauth/token", data, HTTP_AUTHORIZATION=auth)

    with django_assert_max_num_queries(3):  # the client, its scope names, those scopes' resources
        response = client.post("/oauth/token", data, HTTP_AUTHORIZATION=auth)

    assert response.status_code == 200


def test_client_credentials_audience_of_a_resource_the_client_may_not_use_is_invalid_target(server):
    _, read = jwt_api()
    jwt_api("https://billing.myapp.com")
    application, secret = m2m_client(read)

    response = get_m2m_token(server, application.client_id, secret, audience="https://billing.myapp.com")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"


def test_client_credentials_audience_and_a_different_resource_is_invalid_target(server):
    _, read = jwt_api()
    _, other = jwt_api("https://billing.myapp.com")
    application, secret = m2m_client(read, other)

    response = get_m2m_token(server, application.client_id, secret, audience=API, resource="https://billing.myapp.com")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"


@pytest.mark.parametrize(
    ("billing", "says"),
    [({"access_token_format": "opaque"}, "different formats"), ({"signing_alg": "RS256"}, "different algorithms")],
)
def test_client_credentials_resources_that_cannot_share_a_token_is_invalid_target(server, billing, says):
    _, read = jwt_api()
    _, other = jwt_api("https://billing.myapp.com", **billing)
    application, secret = m2m_client(read, other)

    response = requests.post(
        server.url("/oauth/token"),
        data=[("grant_type", "client_credentials"), ("resource", API), ("resource", "https://billing.myapp.com")],
        auth=(application.client_id, secret),
        timeout=10,
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"
    assert says in response.json()["error_description"]


def test_client_credentials_two_jwt_resources_give_one_token_for_both(server):
    _, read = jwt_api()
    _, other = jwt_api("https://billing.myapp.com")
    application, secret = m2m_client(read, other)

    response = requests.post(
        server.url("/oauth/token"),
        data=[("grant_type", "client_credentials"), ("resource", API), ("resource", "https://billing.myapp.com")],
        auth=(application.client_id, secret),
        timeout=10,
    )

    assert response.status_code == 200, response.text
    claims = jwt.decode(
        response.json()["access_token"],
        KeySet.import_key_set(requests.get(server.url("/.well-known/jwks.json"), timeout=10).json()),
    ).claims
    assert claims["aud"] == [API, "https://billing.myapp.com"]
    assert set(claims["scope"].split()) == {read.name, other.name}


def test_client_credentials_repeated_audience_is_invalid_request(server):
    # `audience` names one API (as at Auth0); several go in repeated `resource` parameters.
    _, read = jwt_api()
    application, secret = m2m_client(read)

    response = requests.post(
        server.url("/oauth/token"),
        data=[("grant_type", "client_credentials"), ("audience", API), ("audience", API)],
        auth=(application.client_id, secret),
        timeout=10,
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_client_credentials_with_resource_carries_only_that_resources_scopes(server):
    _, read = jwt_api()
    unrelated = ScopeFactory(name="billing:read")
    application, secret = m2m_client(read, unrelated)

    response = get_m2m_token(server, application.client_id, secret, audience=API)

    assert response.json()["scope"] == read.name
    asked = get_m2m_token(server, application.client_id, secret, audience=API, scope=unrelated.name)
    assert asked.json()["error"] == "invalid_scope"


@pytest.mark.parametrize(("resource_ttl", "expected"), [(120, 120), (7200, 600), (None, 600)])
def test_client_credentials_resource_ttl_caps_the_lifetime(server, resource_ttl, expected):
    _, read = jwt_api(access_token_ttl=resource_ttl)
    application, secret = make_application(type="m2m", allowed_scopes=[read], access_token_ttl=600)

    body = get_m2m_token(server, application.client_id, secret, audience=API).json()

    assert body["expires_in"] == expected
    _, claims = verify_locally(server, body["access_token"])
    assert claims["exp"] - claims["iat"] == expected


def test_client_credentials_opaque_resource_ttl_caps_the_lifetime_too(server):
    read = ScopeFactory(name="billing:read", resource=ApiResourceFactory(access_token_ttl=90))
    application, secret = make_application(type="m2m", allowed_scopes=[read], access_token_ttl=600)

    body = get_m2m_token(server, application.client_id, secret, resource=read.resource.identifier).json()

    assert body["expires_in"] == 90
    assert "." not in body["access_token"]


def test_client_credentials_without_resource_stays_opaque(server):
    jwt_api()
    read = ScopeFactory(name="billing:read")
    application, secret = m2m_client(read)

    body = get_m2m_token(server, application.client_id, secret).json()

    assert "." not in body["access_token"]


def test_introspection_of_client_credentials_jwt_by_its_client_is_active(server):
    _, read = jwt_api()
    application, secret = m2m_client(read)
    token = get_m2m_token(server, application.client_id, secret, audience=API).json()["access_token"]

    answer = introspect(server, application, secret, token)

    assert answer["active"] is True
    assert answer["aud"] == [API]
    assert answer["client_id"] == application.client_id == answer["sub"]
    assert answer["scope"] == read.name


def test_introspection_of_client_credentials_jwt_after_app_deactivated_is_inactive(server):
    _, read = jwt_api()
    application, secret = m2m_client(read)
    token = get_m2m_token(server, application.client_id, secret, audience=API).json()["access_token"]
    application.is_active = False
    application.save()
    api_client, api_secret = make_application(type="m2m", allowed_scopes=[read])
    ApiResource.objects.filter(identifier=API).update(introspecting_client=api_client)

    assert introspect(server, api_client, api_secret, token) == {"active": False}


def test_introspection_of_client_credentials_jwt_after_a_not_before_entry_for_its_client_is_inactive(server):
    from applications.oauth.revocations import not_before_record

    _, read = jwt_api()
    application, secret = m2m_client(read)
    token = get_m2m_token(server, application.client_id, secret, audience=API).json()["access_token"]
    assert introspect(server, application, secret, token)["active"] is True

    not_before_record(client_id=application.client_id, reason="test")

    assert introspect(server, application, secret, token) == {"active": False}


def test_introspection_of_a_jwt_is_active_until_the_second_it_expires(server):
    """No clock leeway: the tokens checked are ours, against the clock that set their `exp`."""
    _, read = jwt_api()
    application, secret = m2m_client(read)
    token = get_m2m_token(server, application.client_id, secret, audience=API).json()["access_token"]
    _, claims = verify_locally(server, token)

    def at(timestamp: int):
        return mock.patch("django.utils.timezone.now", return_value=datetime.fromtimestamp(timestamp, UTC))

    with at(claims["exp"] - 1):
        assert introspect(server, application, secret, token)["active"] is True
    with at(claims["exp"]):
        assert introspect(server, application, secret, token) == {"active": False}


def test_introspection_of_a_tampered_jwt_is_inactive(server):
    _, read = jwt_api()
    application, secret = m2m_client(read)
    token = get_m2m_token(server, application.client_id, secret, audience=API).json()["access_token"]
    header, payload, signature = token.split(".")
    forged = base64.urlsafe_b64encode(b'{"sub":"x"}').decode().rstrip("=")

    assert introspect(server, application, secret, f"{header}.{forged}.{signature}") == {"active": False}


# --- user tokens ---------------------------------------------------------------------------------


def web_app_for(resource_scope: Scope):
    allowed = [*Scope.objects.filter(name__in=["openid", "profile", "offline_access"]), resource_scope]
    return make_application(type="web", redirect_uris=CALLBACK, allowed_scopes=allowed, trusted=True)


def user_tokens(server, browser, user, application, secret, scope: str) -> dict:
    client = OAuth2Session(application.client_id, secret, scope=f"openid offline_access {scope}", redirect_uri=CALLBACK)
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"), resource=API)
    browser.sign_in(user.email)
    response = browser.authorize(url)
    return client.fetch_token(server.url("/oauth/token"), authorization_response=response.headers["Location"])


def test_authorization_code_for_jwt_resource_returns_jwt_with_user_sub_and_refresh_keeps_aud(server, browser, user):
    _, read = jwt_api(access_token_ttl=300)
    application, secret = web_app_for(read)

    tokens = user_tokens(server, browser, user, application, secret, read.name)

    header, claims = verify_locally(server, tokens["access_token"])
    assert header["typ"] == "at+jwt"
    assert claims["sub"] == str(user.public_id)
    assert claims["client_id"] == application.client_id
    assert "auth_time" in claims
    assert tokens["expires_in"] == 300
    assert introspect(server, application, secret, tokens["access_token"])["active"] is True

    refreshed = server.refresh(application, secret, tokens["refresh_token"])

    assert refreshed.status_code == 200, refreshed.text
    _, new_claims = verify_locally(server, refreshed.json()["access_token"])
    assert new_claims["aud"] == API
    assert new_claims["sub"] == str(user.public_id)
    assert refreshed.json()["expires_in"] == 300
    # Rotated out: its row is gone, so introspection says so although its signature still verifies.
    assert introspect(server, application, secret, tokens["access_token"]) == {"active": False}


def test_userinfo_refuses_a_token_bound_to_an_api(server, browser, user):
    # RFC 8707: the token's audience is the API, not userinfo (django-oauth-toolkit's audience check).
    _, read = jwt_api()
    application, secret = web_app_for(read)
    tokens = user_tokens(server, browser, user, application, secret, read.name)

    assert server.userinfo_status(tokens["access_token"]) == 401


def test_introspection_by_the_resources_own_client_sees_a_users_token(server, browser, user):
    _, read = jwt_api()
    application, secret = web_app_for(read)
    api_client, api_secret = make_application(type="m2m", allowed_scopes=[read])
    ApiResource.objects.filter(identifier=API).update(introspecting_client=api_client)
    tokens = user_tokens(server, browser, user, application, secret, read.name)

    answer = introspect(server, api_client, api_secret, tokens["access_token"])

    assert answer["active"] is True
    assert answer["sub"] == str(user.public_id)
    assert answer["client_id"] == application.client_id
    assert answer["aud"] == [API]


def test_introspection_by_another_resources_client_is_inactive(server, browser, user):
    _, read = jwt_api()
    _, billing = jwt_api("https://billing.myapp.com")
    application, secret = web_app_for(read)
    billing_client, billing_secret = make_application(type="m2m", allowed_scopes=[billing])
    ApiResource.objects.filter(identifier="https://billing.myapp.com").update(introspecting_client=billing_client)
    tokens = user_tokens(server, browser, user, application, secret, read.name)

    assert introspect(server, billing_client, billing_secret, tokens["access_token"]) == {"active": False}


def test_introspection_by_the_resources_own_client_sees_an_opaque_user_token(server, browser, user):
    read = ScopeFactory(name="billing:read", resource=ApiResourceFactory(identifier=API))
    application, secret = web_app_for(read)
    api_client, api_secret = make_application(type="m2m", allowed_scopes=[read])
    other_client, other_secret = make_application(type="m2m", allowed_scopes=[read])
    ApiResource.objects.filter(identifier=API).update(introspecting_client=api_client)
    tokens = user_tokens(server, browser, user, application, secret, read.name)

    assert "." not in tokens["access_token"]
    assert introspect(server, api_client, api_secret, tokens["access_token"])["active"] is True
    assert introspect(server, other_client, other_secret, tokens["access_token"]) == {"active": False}
