from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from identity import services
from identity.models import RoleAssignment, User
from tests.identity.factories import RoleFactory, UserFactory


@pytest.mark.django_db
def test_user_email_is_login_and_lowercased():
    user = User.objects.create_user("Alice@Example.COM", "a long passphrase")
    assert user.email == "alice@example.com"
    assert User.objects.get_by_natural_key("ALICE@example.com") == user
    assert user.check_password("a long passphrase")


@pytest.mark.django_db
def test_user_email_unique_regardless_of_case():
    User.objects.create_user("bob@example.com", "pw-one-long-enough")
    with pytest.raises(IntegrityError):
        User.objects.create_user("BOB@example.com", "pw-two-long-enough")


@pytest.mark.django_db
def test_user_public_id_is_stable_uuid_not_database_id():
    user = UserFactory()
    assert isinstance(user.public_id, uuid.UUID)
    before = user.public_id
    user.name = "Renamed"
    user.save()
    user.refresh_from_db()
    assert user.public_id == before
    assert str(user.pk) != str(user.public_id)


@pytest.mark.django_db
def test_user_profile_fields_exist_for_oidc_claims():
    user = UserFactory(
        given_name="Ada",
        family_name="Lovelace",
        picture="https://example.com/ada.png",
        phone_number="+447700900123",
        email_verified=True,
        phone_number_verified=True,
    )
    user.full_clean()
    assert user.get_full_name() == user.name


@pytest.mark.django_db
def test_user_phone_number_must_be_e164():
    user = UserFactory.build(phone_number="07700 900123")
    with pytest.raises(ValidationError) as caught:
        user.full_clean(exclude=["password"])
    assert "phone_number" in caught.value.message_dict


@pytest.mark.django_db
def test_role_assignment_unique_per_user_and_role():
    user, role = UserFactory(), RoleFactory(name="latchkey:admin")
    services.role_assign(actor=None, user=user, role=role)
    services.role_assign(actor=None, user=user, role=role)
    assert RoleAssignment.objects.filter(user=user, role=role).count() == 1
    assert list(user.roles.values_list("name", flat=True)) == ["latchkey:admin"]
    services.role_unassign(actor=None, user=user, role=role)
    assert not user.roles.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["Latchkey:Admin", "has space", ":leading", ""])
def test_role_name_rejected(name):
    with pytest.raises(ValidationError) as caught:
        services.role_create(actor=None, name=name)
    assert "name" in caught.value.message_dict


@pytest.mark.django_db
def test_user_create_service_validates_password_and_email():
    with pytest.raises(ValidationError) as caught:
        services.user_create(actor=None, email="not-an-email", password="123")
    assert {"email", "password"} <= set(caught.value.message_dict)
    assert not User.objects.exists()


@pytest.mark.django_db
def test_user_create_without_password_cannot_sign_in_with_one():
    user = services.user_create(actor=None, email="sso-only@example.com", password=None)
    assert not user.has_usable_password()
