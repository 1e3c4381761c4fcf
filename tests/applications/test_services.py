from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

from applications import services
from applications.models import Application, Scope
from tests.applications.factories import m2m_default_scope, make_application
from tests.identity.factories import RoleFactory, UserFactory

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
Grant = get_grant_model()


@pytest.mark.django_db
def test_create_sets_owner_to_acting_user_and_dot_fields_from_type():
    admin = UserFactory()
    application = Application(name="Portal", type="web", redirect_uris="https://portal.example.com/cb")
    services.application_create(actor=admin, application=application)
    application.refresh_from_db()
    assert application.owner == admin
    assert (application.client_type, application.authorization_grant_type) == ("confidential", "authorization-code")
    assert len(application.client_id) >= 32


@pytest.mark.django_db
@pytest.mark.parametrize("client_id", ["has space", "tab\there", "ümlaut-client"])
def test_create_refuses_a_given_client_id_outside_visible_ascii(client_id):
    application = Application(name="Imported", type="m2m", client_id=client_id)
    with pytest.raises(ValidationError) as exc_info:
        services.application_create(actor=None, application=application)
    assert "client_id" in exc_info.value.message_dict
    assert not Application.objects.filter(name="Imported").exists()


@pytest.mark.django_db
def test_create_keeps_a_given_visible_ascii_client_id():
    application = Application(name="Imported", type="m2m", client_id="legacy-client.v1~prod")
    services.application_create(actor=None, application=application, allowed_scopes=[m2m_default_scope()])
    assert Application.objects.get(name="Imported").client_id == "legacy-client.v1~prod"


@pytest.mark.django_db
def test_create_stores_uri_lists_one_per_line_as_given():
    application, _ = make_application(
        type="web", redirect_uris=["https://a.example.com/cb?x=1", "http://localhost:3000/cb"]
    )
    application.refresh_from_db()
    assert application.redirect_uri_list == ["https://a.example.com/cb?x=1", "http://localhost:3000/cb"]
    assert application.redirect_uri_allowed("https://a.example.com/cb?x=1")
    assert not application.redirect_uri_allowed("https://a.example.com/cb")


@pytest.mark.django_db
def test_update_cannot_change_type():
    application, _ = make_application(type="spa")
    application.type = "web"
    with pytest.raises(ValidationError) as caught:
        services.application_update(actor=None, application=application)
    assert "type" in caught.value.message_dict
    assert Application.objects.get(pk=application.pk).type == "spa"


@pytest.mark.django_db
def test_update_validates_with_the_same_rules():
    application, _ = make_application(type="web")
    application.redirect_uris = "http://not-loopback.example.com/cb"
    with pytest.raises(ValidationError) as caught:
        services.application_update(actor=None, application=application)
    assert "redirect_uris" in caught.value.message_dict
    assert Application.objects.get(pk=application.pk).redirect_uris == "https://web.example.com/callback"


@pytest.mark.django_db
def test_update_relations_checked_against_type():
    application, _ = make_application(type="web")
    with pytest.raises(ValidationError) as caught:
        services.application_update(actor=None, application=application, m2m_roles=[RoleFactory()])
    assert "m2m_roles" in caught.value.message_dict
    services.application_update(actor=None, application=application, allowed_scopes=Scope.objects.filter(name="openid"))
    assert [s.name for s in application.allowed_scopes.all()] == ["openid"]


@pytest.mark.django_db
def test_update_keeps_own_name_and_rejects_another_apps_name():
    first, _ = make_application(type="web", name="First")
    second, _ = make_application(type="web", name="Second")
    first.description = "still First"
    services.application_update(actor=None, application=first)
    second.name = "FIRST"
    with pytest.raises(ValidationError) as caught:
        services.application_update(actor=None, application=second)
    assert caught.value.message_dict["name"] == ["An application with this name already exists."]


@pytest.mark.django_db
def test_database_constraint_backs_case_insensitive_name():
    make_application(type="web", name="Race")
    with pytest.raises(IntegrityError):
        Application.objects.create(name="RACE", type="m2m")


@pytest.mark.django_db
def test_deactivate_makes_application_unusable():
    application, _ = make_application(type="web")
    services.application_deactivate(actor=None, application=application)
    application.refresh_from_db()
    assert application.is_active is False
    assert application.is_usable(None) is False


@pytest.mark.django_db
def test_delete_removes_tokens_and_grants_at_once():
    user = UserFactory()
    application, _ = make_application(type="web")
    later = timezone.now() + timedelta(hours=1)
    access = AccessToken.objects.create(user=user, application=application, token="at-1", expires=later, scope="openid")
    RefreshToken.objects.create(user=user, application=application, token="rt-1", access_token=access)
    Grant.objects.create(
        user=user,
        application=application,
        code="code-1",
        expires=later,
        redirect_uri="https://web.example.com/callback",
    )
    services.application_delete(actor=None, application=application)
    assert not AccessToken.objects.exists()
    assert not RefreshToken.objects.exists()
    assert not Grant.objects.exists()


@pytest.mark.django_db
def test_update_removing_an_m2m_apps_last_scope_is_refused_on_allowed_scopes():
    application, _ = make_application(type="m2m", name="Sync")
    with pytest.raises(ValidationError) as exc_info:
        services.application_update(actor=None, application=application, allowed_scopes=[])
    assert "needs at least one scope" in exc_info.value.message_dict["allowed_scopes"][0]
    assert list(application.allowed_scopes.values_list("name", flat=True)) == ["default:call"]


@pytest.mark.django_db
def test_update_requiring_a_new_role_revokes_tokens_of_users_without_it():
    from identity import services as identity_services
    from tests.applications.factories import RefreshTokenFactory

    member, staff = RoleFactory(), RoleFactory()
    keeps, loses = UserFactory(), UserFactory()
    application, _ = make_application(type="web", required_roles=[member])
    other, _ = make_application(type="web", required_roles=[member])
    for user in (keeps, loses):
        identity_services.role_assign(actor=None, user=user, role=member)
        RefreshTokenFactory(user=user, application=application)
        RefreshTokenFactory(user=user, application=other)
    identity_services.role_assign(actor=None, user=keeps, role=staff)

    services.application_update(actor=None, application=application, required_roles=[member, staff])

    assert AccessToken.objects.filter(application=application, user=keeps).count() == 1
    assert RefreshToken.objects.filter(application=application, user=keeps, revoked__isnull=True).count() == 1
    assert not AccessToken.objects.filter(application=application, user=loses).exists()
    assert not RefreshToken.objects.filter(application=application, user=loses, revoked__isnull=True).exists()
    # Another application's rule did not change: its tokens stay.
    assert RefreshToken.objects.filter(application=other, revoked__isnull=True).count() == 2


@pytest.mark.django_db
def test_update_without_a_rule_change_revokes_nothing():
    from tests.applications.factories import RefreshTokenFactory

    member = RoleFactory()
    user = UserFactory()  # holds no role: tokens issued before the rule existed are left to issuance checks
    application, _ = make_application(type="web", required_roles=[member])
    RefreshTokenFactory(user=user, application=application)
    application.name = "Renamed"

    services.application_update(actor=None, application=application)
    services.application_update(actor=None, application=application, required_roles=[member])

    assert RefreshToken.objects.filter(application=application, revoked__isnull=True).count() == 1
