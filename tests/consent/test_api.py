"""/api/consents: list who allowed which application what, and revoke it (tokens included)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from consent.models import Consent
from consent.services import consent_grant
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db
AccessToken = get_access_token_model()


@pytest.fixture
def consents():
    ada, bob = UserFactory(email="ada@example.com"), UserFactory(email="bob@example.com")
    web, _ = make_application(type="web", name="Web")
    tv, _ = make_application(type="native", name="TV")
    for user in (ada, bob):
        for application in (web, tv):
            consent_grant(user=user, application=application, scopes=["openid", "profile"])
    return ada, bob, web, tv


def test_list_consents_shows_user_application_and_scopes(reader, consents):
    ada, _, web, _ = consents
    response = reader.get(f"/api/consents?user={ada.pk}&application={web.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    consent = body["results"][0]
    assert consent["user"] == {"id": ada.pk, "sub": str(ada.public_id), "email": "ada@example.com"}
    assert consent["application"] == {"id": web.pk, "client_id": web.client_id, "name": "Web"}
    assert consent["scopes"] == ["openid", "profile"]


def test_list_consents_filters_by_email_and_client_id(reader, consents):
    _, bob, _, tv = consents
    assert reader.get("/api/consents?user=BOB@example.com").json()["count"] == 2
    assert reader.get(f"/api/consents?application={tv.client_id}").json()["count"] == 2
    assert reader.get(f"/api/consents?user={bob.email}&application={tv.client_id}").json()["count"] == 1
    assert reader.get("/api/consents").json()["count"] == 4


@pytest.mark.parametrize("query", ["user=nobody", "user=0", "user=" + "9" * 40, "application=%00", "user=%C2%B2"])
def test_list_consents_unmatched_filter_is_empty_not_an_error(reader, consents, query):
    response = reader.get(f"/api/consents?{query}")
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_list_consents_constant_queries(reader, consents, django_assert_num_queries):
    reader.get("/api/consents")  # the process now keeps the scope catalogue (applications.oauth.memo)
    for page_size in (1, 20):
        with django_assert_num_queries(3):
            response = reader.get(f"/api/consents?page_size={page_size}")
        assert response.json()["count"] == 4


def test_retrieve_consent_and_404(reader, consents):
    consent = Consent.objects.first()
    assert reader.get(f"/api/consents/{consent.pk}").json()["id"] == consent.pk
    assert reader.get("/api/consents/123456").status_code == 404


def test_revoke_consent_deletes_it_and_revokes_only_that_apps_tokens(writer, consents):
    ada, _, web, tv = consents
    for application in (web, tv):
        AccessToken.objects.create(
            user=ada,
            application=application,
            token=f"token-{application.pk}",
            scope="openid",
            expires=timezone.now() + timedelta(hours=1),
        )
    consent = Consent.objects.get(user=ada, application=web)
    assert writer.delete(f"/api/consents/{consent.pk}").status_code == 204
    assert not Consent.objects.filter(pk=consent.pk).exists()
    assert not AccessToken.objects.filter(user=ada, application=web).exists()
    assert AccessToken.objects.filter(user=ada, application=tv).exists()
    assert writer.delete(f"/api/consents/{consent.pk}").status_code == 404


def test_revoke_consent_needs_write_scope(reader, consents):
    consent = Consent.objects.first()
    assert reader.delete(f"/api/consents/{consent.pk}").status_code == 403
    assert Consent.objects.filter(pk=consent.pk).exists()


def test_consents_cannot_be_created_or_changed_through_the_api(writer, consents):
    consent = Consent.objects.first()
    assert writer.post("/api/consents", {}).status_code == 405
    assert writer.patch(f"/api/consents/{consent.pk}", {"scopes": []}).status_code == 405
