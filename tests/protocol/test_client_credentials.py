from __future__ import annotations

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from oauth2_provider.models import get_access_token_model

from applications.models import Scope
from tests.applications.factories import ApiResourceFactory, ScopeFactory, make_application
from tests.identity.factories import RoleFactory

pytestmark = pytest.mark.django_db(transaction=True)


def m2m_app(**fields):
    read = ScopeFactory(name="events:read")
    write = ScopeFactory(name="events:write", resource=read.resource)
    role = RoleFactory(name="events:writer")
    role.scopes.set([write])
    return make_application(type="m2m", allowed_scopes=[read], m2m_roles=[role], **fields) + (read, write)


def test_client_credentials_with_basic_auth_returns_token_limited_to_allowed_and_role_scopes(server):
    application, secret, _, _ = m2m_app(access_token_ttl=600)
    token_endpoint = server.discovery()["token_endpoint"]
    client = OAuth2Session(application.client_id, secret, token_endpoint_auth_method="client_secret_basic")
    token = client.fetch_token(token_endpoint, grant_type="client_credentials", scope="events:read events:write")
    assert token["token_type"].lower() == "bearer"
    assert token["expires_in"] == 600
    assert set(token["scope"].split()) == {"events:read", "events:write"}
    assert "refresh_token" not in token


def test_client_credentials_with_post_auth_and_no_scope_gets_everything_allowed(server):
    application, secret, _, _ = m2m_app()
    client = OAuth2Session(application.client_id, secret, token_endpoint_auth_method="client_secret_post")
    token = client.fetch_token(server.url("/oauth/token"), grant_type="client_credentials")
    assert set(token["scope"].split()) == {"events:read", "events:write"}


@pytest.mark.parametrize("scope", ["openid", "events:admin", "stream:live"])
def test_client_credentials_scope_not_allowed_is_invalid_scope(server, scope):
    application, secret, _, _ = m2m_app()
    ScopeFactory(name="stream:live")
    response = requests.post(
        server.url("/oauth/token"),
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(application.client_id, secret),
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_client_credentials_wrong_secret_is_401_invalid_client_with_www_authenticate(server):
    application, _, _, _ = m2m_app()
    response = requests.post(
        server.url("/oauth/token"),
        data={"grant_type": "client_credentials"},
        auth=(application.client_id, "not-the-secret"),
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic realm=")  # the scheme the client used
    assert response.headers["Cache-Control"] == "no-store"


def test_client_credentials_not_allowed_for_user_facing_types(server):
    application, secret = make_application(type="web")
    response = requests.post(
        server.url("/oauth/token"),
        data={"grant_type": "client_credentials"},
        auth=(application.client_id, secret),
        timeout=10,
    )
    assert response.json()["error"] == "unauthorized_client"


def test_client_credentials_inactive_app_is_invalid_client(server):
    application, secret, _, _ = m2m_app()
    application.is_active = False
    application.save()
    response = requests.post(
        server.url("/oauth/token"),
        data={"grant_type": "client_credentials"},
        auth=(application.client_id, secret),
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_client_credentials_grace_period_secret_still_works(server):
    from applications import services

    application, old = m2m_app()[:2]
    new = services.application_rotate_secret(actor=None, application=application, grace_period_seconds=300)
    for secret in (old, new):
        response = requests.post(
            server.url("/oauth/token"),
            data={"grant_type": "client_credentials"},
            auth=(application.client_id, secret),
            timeout=10,
        )
        assert response.status_code == 200, response.text


def _client_credentials(server, application, secret: str, **data) -> requests.Response:
    return requests.post(
        server.url("/oauth/token"),
        data={"grant_type": "client_credentials", **data},
        auth=(application.client_id, secret),
        timeout=10,
    )


def _audience(server, application, secret: str, access_token: str):
    response = requests.post(
        server.url("/oauth/introspect"), auth=(application.client_id, secret), data={"token": access_token}, timeout=10
    )
    return response.json().get("aud")


@pytest.mark.parametrize("resource", ["https://attacker.example.com", "https://api.example.com/"])
def test_client_credentials_with_an_unregistered_resource_is_invalid_target(server, resource):
    # RFC 8707 §2: the toolkit copied any `resource` into the token, so introspection said aud=<anything>.
    application, secret, read, _ = m2m_app()
    read.resource.identifier = "https://api.example.com"
    read.resource.save()

    response = _client_credentials(server, application, secret, resource=resource)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"
    assert not get_access_token_model().objects.exists()


@pytest.mark.parametrize("through", ["allowed_scopes", "m2m_roles"])
def test_client_credentials_with_a_resource_whose_scopes_the_client_may_use_is_its_audience(server, through):
    application, secret, read, write = m2m_app()
    if through == "m2m_roles":  # events:write reaches the client only through its role
        api = ApiResourceFactory(identifier="https://writes.example.com")
        write.resource = api
        write.save()
    resource = read.resource.identifier if through == "allowed_scopes" else "https://writes.example.com"

    response = _client_credentials(server, application, secret, resource=resource)

    assert response.status_code == 200, response.text
    assert _audience(server, application, secret, response.json()["access_token"]) == [resource]


def test_client_credentials_with_a_registered_resource_the_client_may_not_use_is_invalid_target(server):
    application, secret, _, _ = m2m_app()
    other = ScopeFactory(name="billing:read")  # its own API resource, not among the client's scopes

    response = _client_credentials(server, application, secret, resource=other.resource.identifier)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"


def test_client_credentials_with_one_resource_not_given_among_several_is_invalid_target(server):
    application, secret, read, _ = m2m_app()
    response = requests.post(
        server.url("/oauth/token"),
        data=[
            ("grant_type", "client_credentials"),
            ("resource", read.resource.identifier),
            ("resource", "https://attacker.example.com"),
        ],
        auth=(application.client_id, secret),
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"


def test_client_credentials_query_budget(client, django_assert_max_num_queries):
    application, secret, _, _ = m2m_app()
    import base64

    auth = "Basic " + base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()
    client.post("/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth)  # stamps last-used
    with django_assert_max_num_queries(3):  # the client, its scopes, the token (no transaction for one INSERT)
        response = client.post("/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200
    assert Scope.objects.exists()
