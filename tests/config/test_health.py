"""/healthz and /readyz: what a load balancer or orchestrator sees, and what each costs."""

from __future__ import annotations

import time
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from applications.models import SigningKey
from applications.oauth import keys
from tests.conftest import CLOSED_PORT_CACHE_URL


@pytest.fixture
def signing_key(db):
    return keys.generate_key("ES256")


def test_healthz_answers_ok_without_touching_the_database(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


def test_healthz_answers_even_when_the_database_is_down(client):
    with mock.patch.object(connection, "cursor", side_effect=OperationalError("connection refused")):
        response = client.get("/healthz")

    assert response.status_code == 200


def test_readyz_with_database_key_and_cache_is_ok_in_one_query(client, signing_key, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": {"status": "ok"}, "signing_key": {"status": "ok"}, "cache": {"status": "ok"}},
    }
    assert "no-store" in response["Cache-Control"]


def test_readyz_on_a_fresh_database_is_ok_and_the_first_jwks_request_makes_the_keys(client, db):
    assert not SigningKey.objects.exists()

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"]["signing_key"] == {"status": "ok"}
    assert not SigningKey.objects.exists()  # a probe writes nothing

    jwks = client.get("/.well-known/jwks.json")

    assert jwks.status_code == 200
    assert sorted(key["alg"] for key in jwks.json()["keys"]) == ["ES256", "RS256"]
    assert set(SigningKey.objects.values_list("algorithm", flat=True)) == {"ES256", "RS256"}
    assert client.get("/readyz").status_code == 200


def test_readyz_with_only_retired_keys_is_ok_the_next_request_makes_new_ones(client, signing_key):
    SigningKey.objects.update(retired_at=timezone.now(), published_until=timezone.now())

    assert client.get("/readyz").status_code == 200


def test_readyz_with_keys_this_servers_secret_cannot_decrypt_is_503(client, signing_key, settings):
    settings.SECRET_KEY = "another-secret-key-than-the-one-that-encrypted-the-signing-key"
    settings.SECRET_KEY_FALLBACKS = []

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["signing_key"]["status"] == "fail"
    assert "ES256" in body["checks"]["signing_key"]["reason"]
    assert "cannot be decrypted" in body["checks"]["signing_key"]["reason"]


def test_readyz_with_the_database_down_is_503_and_names_no_connection_details(client, signing_key):
    refused = OperationalError('connection to server at "db.internal" (10.0.0.5), port 5432 failed: password')
    with mock.patch.object(connection, "cursor", side_effect=refused):
        response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"] == {"status": "fail", "reason": "database error (OperationalError)"}
    assert body["checks"]["signing_key"]["status"] == "fail"
    assert "db.internal" not in response.content.decode()


def test_readyz_with_the_cache_down_is_ready_and_reports_the_cache_degraded(client, signing_key, cache_down):
    started = time.monotonic()
    response = client.get("/readyz")

    assert time.monotonic() - started < 2  # one cache timeout at most
    assert response.status_code == 200  # the cache is an optimisation: a load balancer keeps this server
    expected = "cache error (ConnectionError)" if cache_down == "refused" else "cache error (TimeoutError)"
    assert response.json() == {
        "status": "ok",
        "checks": {
            "database": {"status": "ok"},
            "signing_key": {"status": "ok"},
            "cache": {"status": "degraded", "reason": expected},
        },
    }
    assert "127.0.0.1" not in response.content.decode()


def test_readyz_with_the_database_and_the_cache_down_fails_for_the_database(client, signing_key, use_cache):
    use_cache(CLOSED_PORT_CACHE_URL)
    with mock.patch.object(connection, "cursor", side_effect=OperationalError("connection refused")):
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["status"] == "fail"
    assert response.json()["checks"]["cache"]["status"] == "degraded"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_endpoints_refuse_writes(client, db, path):
    assert client.post(path).status_code == 405


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_are_not_redirected_to_https(client, db, settings, path):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get(path).status_code != 301
    assert client.get("/oauth/authorize").status_code == 301
