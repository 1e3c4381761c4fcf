from __future__ import annotations

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from applications.models import Scope
from tests.applications.factories import ScopeFactory, make_application
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
    assert "WWW-Authenticate" in response.headers
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


def test_client_credentials_query_budget(client, django_assert_max_num_queries):
    application, secret, _, _ = m2m_app()
    import base64

    auth = "Basic " + base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()
    client.post("/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth)  # stamps last-used
    with django_assert_max_num_queries(3):  # the client, its scopes, the token (no transaction for one INSERT)
        response = client.post("/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200
    assert Scope.objects.exists()
