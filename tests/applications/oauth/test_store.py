"""applications.oauth.store: every read gives the instances the ORM gives, field for field, on both databases."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from applications.models import Application, Grant
from applications.oauth import store
from applications.oauth.validator import token_checksum
from tests.applications.factories import AccessTokenFactory, GrantFactory, RefreshTokenFactory, make_application
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db
AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()


def fields_of(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def assert_same_row(loaded, model, pk):
    from_orm = model.objects.get(pk=pk)
    assert type(loaded) is model
    assert fields_of(loaded) == fields_of(from_orm)
    assert loaded._state.adding is False and loaded._state.db == "default"


def test_access_token_by_checksum_matches_the_orm_with_its_client_and_user():
    user = UserFactory(email_verified=True)
    token = AccessTokenFactory(user=user, raw="at-1", resource=["https://api.example.com"])

    loaded = store.access_token_by_checksum(token_checksum("at-1"))

    assert_same_row(loaded, AccessToken, token.pk)
    assert_same_row(loaded.application, Application, token.application_id)
    assert loaded.resource == ["https://api.example.com"]
    assert loaded.expires.tzinfo is not None
    assert_same_row(loaded.user, type(user), user.pk)
    assert loaded.user.is_active is True and isinstance(loaded.user.public_id, uuid.UUID)


def test_access_token_of_client_credentials_has_no_user():
    application, _ = make_application(type="m2m")
    AccessTokenFactory(user=None, application=application, raw="at-m2m")

    loaded = store.access_token_by_checksum(token_checksum("at-m2m"))

    assert loaded.user is None and loaded.user_id is None
    assert loaded.application_id == application.pk


@pytest.mark.parametrize("value", ["unknown", "with\x00nul"])
def test_reads_of_unknown_or_nul_values_find_nothing(value):
    assert store.access_token_by_checksum(value) is None
    assert store.application_by_client_id(value) is None
    assert store.refresh_tokens_by_checksum(value) == []
    assert store.grant_by_code(value) is None
    assert store.live_refresh_token_of_client(value, 1) is None


def test_application_by_client_id_matches_the_orm():
    application, _ = make_application(type="web", auth_methods=["password"])

    assert_same_row(store.application_by_client_id(application.client_id), Application, application.pk)
    assert store.application_by_client_id(application.client_id).auth_methods == ["password"]


def test_refresh_tokens_by_checksum_judge_the_live_one_first_with_the_family_sign_in():
    application, _ = make_application(type="web")
    user = UserFactory()
    family = uuid.uuid4()
    signed_in = timezone.now() - timedelta(minutes=5)
    organization_id = uuid.uuid4()
    GrantFactory(
        application=application,
        user=user,
        token_family=family,
        auth_time=signed_in,
        amr="pwd",
        organization_id=organization_id,
    )
    revoked = RefreshTokenFactory(application=application, user=user, raw="rt", token_family=family)
    RefreshToken.objects.filter(pk=revoked.pk).update(revoked=timezone.now())
    live = RefreshTokenFactory(application=application, user=user, raw="rt", token_family=family)

    first, second = store.refresh_tokens_by_checksum(token_checksum("rt"))

    assert first.pk == live.pk and second.pk == revoked.pk
    assert_same_row(first, RefreshToken, live.pk)
    assert_same_row(first.access_token, AccessToken, live.access_token_id)
    assert_same_row(first.user, type(user), user.pk)
    assert first.token_family == family
    assert first.family_auth_time == signed_in
    assert first.family_amr == "pwd"
    assert first.family_organization_id == organization_id


def test_refresh_token_without_its_access_token_or_family_grant():
    token = RefreshTokenFactory(raw="rt-orphan")
    AccessToken.objects.filter(pk=token.access_token_id).delete()

    (loaded,) = store.refresh_tokens_by_checksum(token_checksum("rt-orphan"))

    assert loaded.access_token is None and loaded.access_token_id is None
    assert loaded.family_auth_time is None and loaded.family_amr is None and loaded.family_organization_id is None


def test_live_refresh_token_of_client_only_the_clients_unrevoked_one():
    token = RefreshTokenFactory(raw="rt-live")
    other, _ = make_application(type="web")

    loaded = store.live_refresh_token_of_client(token_checksum("rt-live"), token.application_id)

    assert_same_row(loaded, RefreshToken, token.pk)
    assert loaded.access_token.pk == token.access_token_id and loaded.user.pk == token.user_id
    assert store.live_refresh_token_of_client(token_checksum("rt-live"), other.pk) is None
    RefreshToken.objects.filter(pk=token.pk).update(revoked=timezone.now())
    assert store.live_refresh_token_of_client(token_checksum("rt-live"), token.application_id) is None


def test_grant_by_code_matches_the_orm_with_its_user():
    grant = GrantFactory(code="code-1", resource=["https://api.example.com"], token_family=uuid.uuid4())

    loaded = store.grant_by_code("code-1")

    assert_same_row(loaded, Grant, grant.pk)
    assert_same_row(loaded.user, type(grant.user), grant.user_id)


@pytest.mark.django_db(transaction=True)
def test_locked_reads_lock_the_rows_inside_a_transaction(django_assert_num_queries):
    from django.db import transaction

    grant = GrantFactory(code="code-locked")
    RefreshTokenFactory(raw="rt-locked")

    with transaction.atomic(), django_assert_num_queries(2) as captured:
        assert store.grant_by_code("code-locked", lock=True).pk == grant.pk
        assert len(store.refresh_tokens_by_checksum(token_checksum("rt-locked"), lock=True)) == 1
    if connection.vendor == "postgresql":
        assert all(query["sql"].endswith("NOWAIT") for query in captured.captured_queries)


def test_a_field_type_the_store_cannot_convert_is_refused():
    from django.db import models

    field = models.DecimalField(max_digits=5, decimal_places=2)
    field.set_attributes_from_name("amount")
    field.model = Application

    with pytest.raises(TypeError, match="not supported"):
        store._converter(field, connection)
