"""GET/POST /oauth/userinfo: never cached, and the access token only where RFC 9700 allows it."""

from __future__ import annotations

import pytest

from tests.applications.factories import AccessTokenFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def token():
    AccessTokenFactory(raw="userinfo-token", scope="openid email")
    return "userinfo-token"


@pytest.mark.parametrize("method", ["get", "post"])
def test_userinfo_answer_is_never_cached(client, token, method):
    # OIDC Core §5.3.2 returns personal data: no cache may keep it.
    response = getattr(client, method)("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token"])
def test_userinfo_refusal_is_never_cached(client, db, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = client.get("/oauth/userinfo", **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("also_in_header", [False, True])
def test_userinfo_with_the_access_token_in_the_query_is_invalid_request(client, token, also_in_header):
    # RFC 9700 §2.5 and RFC 6750 §2.3: no access token in a URI, where logs and Referer keep it.
    # A malformed request, so 400 invalid_request with the Bearer challenge (RFC 6750 §3.1);
    # with a header token as well it is two methods at once, the same answer.
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if also_in_header else {}

    response = client.get(f"/oauth/userinfo?access_token={token}", **headers)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response["WWW-Authenticate"].startswith('Bearer error="invalid_request"')
    assert response["Cache-Control"] == "no-store"
