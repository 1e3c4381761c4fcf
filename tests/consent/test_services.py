from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from consent import services
from consent.models import Consent
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return UserFactory()


@pytest.fixture
def app():
    return make_application(type="web")[0]


def test_consent_required_first_time_then_not_for_same_or_fewer_scopes(user, app):
    assert services.consent_required(user=user, application=app, scopes=["openid", "email"], prompt=set())
    services.consent_grant(user=user, application=app, scopes=["openid", "email"])
    assert not services.consent_required(user=user, application=app, scopes=["openid", "email"], prompt=set())
    assert not services.consent_required(user=user, application=app, scopes=["openid"], prompt=set())


def test_new_scope_requires_consent_and_is_the_only_one_marked_new(user, app):
    services.consent_grant(user=user, application=app, scopes=["openid"])
    assert services.consent_required(user=user, application=app, scopes=["openid", "email"], prompt=set())
    assert services.consent_new_scopes(user=user, application=app, scopes=["openid", "email"]) == ["email"]


def test_grant_records_the_union(user, app):
    services.consent_grant(user=user, application=app, scopes=["openid", "email"])
    services.consent_grant(user=user, application=app, scopes=["openid", "profile"])
    assert Consent.objects.get(user=user, application=app).scopes == ["email", "openid", "profile"]
    assert Consent.objects.count() == 1


def test_trusted_app_never_asks_unless_prompt_consent(user):
    trusted = make_application(type="web", trusted=True)[0]
    assert not services.consent_required(user=user, application=trusted, scopes=["openid"], prompt=set())
    assert services.consent_required(user=user, application=trusted, scopes=["openid"], prompt={"consent"})


def test_prompt_consent_always_asks_even_when_covered(user, app):
    services.consent_grant(user=user, application=app, scopes=["openid"])
    assert services.consent_required(user=user, application=app, scopes=["openid"], prompt={"consent"})


def test_consent_is_per_user_and_per_application(user, app):
    other_app = make_application(type="web")[0]
    services.consent_grant(user=user, application=app, scopes=["openid"])
    assert services.consent_required(user=user, application=other_app, scopes=["openid"], prompt=set())
    assert services.consent_required(user=UserFactory(), application=app, scopes=["openid"], prompt=set())


def test_revoke_deletes_consent_and_revokes_only_that_apps_tokens_for_that_user(user, app):
    other_app = make_application(type="web")[0]
    other_user = UserFactory()
    later = timezone.now() + timedelta(hours=1)
    AccessToken, RefreshToken = get_access_token_model(), get_refresh_token_model()
    mine = AccessToken.objects.create(user=user, application=app, token="a1", expires=later, scope="openid")
    RefreshToken.objects.create(user=user, application=app, token="r1", access_token=mine)
    AccessToken.objects.create(user=user, application=other_app, token="a2", expires=later, scope="openid")
    AccessToken.objects.create(user=other_user, application=app, token="a3", expires=later, scope="openid")
    services.consent_grant(user=user, application=app, scopes=["openid"])

    assert services.consent_revoke(actor=user, user=user, application=app) is True

    assert not Consent.objects.exists()
    assert not AccessToken.objects.filter(user=user, application=app).exists()
    assert RefreshToken.objects.get().revoked is not None
    assert AccessToken.objects.count() == 2
    assert services.consent_revoke(actor=user, user=user, application=app) is False
