"""/metrics: protected by a bearer token, bounded labels, and token issuance by grant and client."""

from __future__ import annotations

import base64

import pytest
from prometheus_client import REGISTRY

from applications.models import Scope
from tests.applications.factories import make_application

METRICS_TOKEN = "metrics-token-for-tests-0123456789"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def client_credentials(client, application, secret, **extra):
    basic = base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()
    return client.post(
        "/oauth/token", {"grant_type": "client_credentials", **extra}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )


def test_metrics_without_a_configured_token_is_404(client, settings):
    settings.LATCHKEY_METRICS_TOKEN = ""

    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {METRICS_TOKEN}", f"Bearer {METRICS_TOKEN}x", f"Bearer {METRICS_TOKEN[:-1]}"],
)
def test_metrics_with_a_missing_or_wrong_token_is_401(client, settings, authorization):
    settings.LATCHKEY_METRICS_TOKEN = METRICS_TOKEN
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = client.get("/metrics", **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"latchkey" not in response.content


@pytest.mark.django_db
def test_metrics_with_the_token_lists_requests_by_route_never_by_raw_path(client, settings):
    settings.LATCHKEY_METRICS_TOKEN = METRICS_TOKEN
    client.get("/healthz?x=1")
    client.get("/no/such/page/raw-path-segment")

    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert 'latchkey_http_requests_total{method="GET",route="healthz",status="2xx"}' in text
    assert 'latchkey_http_requests_total{method="GET",route="unmatched",status="4xx"}' in text
    assert 'latchkey_http_request_duration_seconds_bucket{le="0.005",method="GET",route="healthz"}' in text
    assert "raw-path-segment" not in text  # not digits: a timestamp may contain those


@pytest.mark.django_db
def test_request_counter_and_latency_count_each_request_once(client):
    before = sample("latchkey_http_requests_total", route="healthz", method="GET", status="2xx")
    observed = sample("latchkey_http_request_duration_seconds_count", route="healthz", method="GET")

    client.get("/healthz")
    client.get("/healthz")

    assert sample("latchkey_http_requests_total", route="healthz", method="GET", status="2xx") == before + 2
    assert sample("latchkey_http_request_duration_seconds_count", route="healthz", method="GET") == observed + 2


@pytest.mark.django_db
def test_unknown_methods_count_as_other(client):
    before = sample("latchkey_http_requests_total", route="healthz", method="other", status="4xx")

    client.generic("BREW", "/healthz")

    assert sample("latchkey_http_requests_total", route="healthz", method="other", status="4xx") == before + 1


@pytest.mark.django_db
def test_successful_token_request_counts_one_issuance_by_grant_and_client(client):
    scopes = Scope.objects.filter(name__in=["management:read"])
    application, secret = make_application(type="m2m", allowed_scopes=scopes)
    labels = {"grant_type": "client_credentials", "client_id": application.client_id}

    assert client_credentials(client, application, secret).status_code == 200
    assert sample("latchkey_tokens_issued_total", **labels) == 1
    assert client_credentials(client, application, secret).status_code == 200
    assert sample("latchkey_tokens_issued_total", **labels) == 2


@pytest.mark.django_db
def test_failed_token_requests_count_no_issuance(client):
    application, secret = make_application(type="m2m")
    labels = {"grant_type": "client_credentials", "client_id": application.client_id}

    assert client_credentials(client, application, "wrong-secret").status_code == 401
    assert client_credentials(client, application, secret, scope="no:such:scope").status_code == 400
    assert sample("latchkey_tokens_issued_total", **labels) == 0
    assert sample("latchkey_http_requests_total", route="oauth:token", method="POST", status="4xx") >= 2


@pytest.mark.django_db
def test_code_exchange_with_client_secret_post_counts_under_its_grant(client, settings):
    from tests.identity.factories import UserFactory

    callback = "https://rp.example.com/callback"
    scopes = list(Scope.objects.filter(name__in=["openid"]))
    application, secret = make_application(type="web", redirect_uris=callback, allowed_scopes=scopes, trusted=True)
    client.force_login(UserFactory())
    location = client.get(
        "/oauth/authorize",
        {"response_type": "code", "client_id": application.client_id, "redirect_uri": callback, "scope": "openid"},
    )["Location"]
    code = location.split("code=")[1].split("&")[0]

    response = client.post(
        "/oauth/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": callback,
            "client_id": application.client_id,
            "client_secret": secret,
        },
    )

    assert response.status_code == 200, response.content
    assert sample("latchkey_tokens_issued_total", grant_type="authorization_code", client_id=application.client_id) == 1
