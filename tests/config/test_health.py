"""/healthz and /readyz: what a load balancer or orchestrator sees, and what each costs."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from applications.models import SigningKey
from applications.oauth import keys


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


def test_readyz_without_an_active_signing_key_is_503(client, signing_key):
    SigningKey.objects.update(retired_at=timezone.now(), published_until=timezone.now())

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["signing_key"]["status"] == "fail"
    assert "manage.py keys rotate" in body["checks"]["signing_key"]["reason"]


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


def test_readyz_with_the_cache_down_is_503(client, signing_key):
    with mock.patch("config.health.cache.set", side_effect=ConnectionError("redis down")):
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == {"status": "fail", "reason": "cache error (ConnectionError)"}
    assert response.json()["checks"]["database"] == {"status": "ok"}


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_endpoints_refuse_writes(client, db, path):
    assert client.post(path).status_code == 405


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_are_not_redirected_to_https(client, db, settings, path):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get(path).status_code != 301
    assert client.get("/oauth/authorize").status_code == 301
