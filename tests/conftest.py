from __future__ import annotations

import base64

import pytest
from rest_framework.test import APIClient

from applications.models import Scope
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory


@pytest.fixture
def admin_user(db):
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def management_api(db):
    """management_api("management:read", ...) -> an APIClient carrying a real client-credentials token.

    The token comes from /oauth/token for a new m2m app allowed exactly `scopes`; `client.token` holds it.
    """

    def make(*scopes: str) -> APIClient:
        application, secret = make_application(type="m2m", allowed_scopes=Scope.objects.filter(name__in=scopes))
        api = APIClient()
        basic = base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()
        response = api.post(
            "/oauth/token",
            f"grant_type=client_credentials&scope={'+'.join(scopes)}",
            content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=f"Basic {basic}",
        )
        assert response.status_code == 200, response.content
        api.token = response.json()["access_token"]
        api.application = application
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {api.token}")
        api.default_format = "json"
        return api

    return make


@pytest.fixture
def writer(management_api):
    """A management API client whose token may read and write."""
    return management_api("management:read", "management:write")


@pytest.fixture
def reader(management_api):
    """A management API client whose token may only read."""
    return management_api("management:read")
