"""The admin console for users, their roles and the roles catalogue, driven through real admin URLs."""

from __future__ import annotations

import json

import pytest
from django import forms
from django.urls import reverse

from applications.models import Scope
from identity.models import Role, RoleAssignment, User
from tests.applications.factories import ScopeFactory, not_before_entries
from tests.identity.factories import RoleFactory, UserFactory

pytestmark = pytest.mark.django_db

USER_CHANGELIST_URL = reverse("admin:identity_user_changelist")
USER_ADD_URL = reverse("admin:identity_user_add")
ROLE_CHANGELIST_URL = reverse("admin:identity_role_changelist")
ROLE_ADD_URL = reverse("admin:identity_role_add")
PASSWORD = "a long and unusual passphrase 42"


def user_change_url(user: User) -> str:
    return reverse("admin:identity_user_change", args=[user.pk])


def _form_values(form: forms.BaseForm, html: str) -> dict:
    """What a browser would submit for `form` unchanged: its rendered, enabled inputs as they are."""
    data: dict = {}
    for bound in form:
        if bound.field.disabled or f'name="{bound.html_name}"' not in html:
            continue
        value = bound.value()
        if isinstance(bound.field, forms.BooleanField):
            if value:
                data[bound.html_name] = "on"
            continue
        if value is None:
            value = ""
        data[bound.html_name] = [str(v) for v in value] if isinstance(value, list | tuple) else str(value)
    return data


def page_form_data(response) -> dict:
    """POST data that re-submits a rendered admin form, inlines included, unchanged."""
    html = response.content.decode()
    data = _form_values(response.context["adminform"].form, html)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(_form_values(formset.management_form, html))
        for form in formset.forms:
            data.update(_form_values(form, html))
    return data


def field_errors(response, field: str) -> list[str]:
    return list(response.context["adminform"].form.errors.get(field, []))


def add_user_data(admin_client, **overrides) -> dict:
    data = page_form_data(admin_client.get(USER_ADD_URL))
    data.update({"email": "new.person@example.com", "usable_password": "true", "password1": PASSWORD})
    data["password2"] = PASSWORD
    data.update(overrides)
    return data


# -- users: changelist --


def test_user_changelist_lists_users_with_email_and_name(admin_client, admin_user):
    alice = UserFactory(email="alice@example.com", name="Alice Liddell")

    response = admin_client.get(USER_CHANGELIST_URL)

    assert response.status_code == 200
    assert set(response.context["cl"].result_list) == {admin_user, alice}
    html = response.content.decode()
    assert "alice@example.com" in html
    assert "Alice Liddell" in html


def test_user_changelist_search_by_email_finds_only_match(admin_client):
    alice = UserFactory(email="alice@example.com")
    UserFactory(email="bob@example.com")

    response = admin_client.get(USER_CHANGELIST_URL + "?q=alice@")

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [alice]


def test_user_changelist_search_by_email_other_case_finds_match(admin_client):
    alice = UserFactory(email="alice@example.com")

    response = admin_client.get(USER_CHANGELIST_URL + "?q=ALICE@Example.com")

    assert list(response.context["cl"].result_list) == [alice]


def test_user_changelist_search_by_public_id_finds_match(admin_client):
    alice = UserFactory(email="alice@example.com")
    UserFactory(email="bob@example.com")

    response = admin_client.get(USER_CHANGELIST_URL + f"?q={alice.public_id}")

    assert list(response.context["cl"].result_list) == [alice]


def test_user_changelist_role_filter_lists_only_holders(admin_client):
    role = RoleFactory(name="streaming:subscriber")
    alice = UserFactory(email="alice@example.com")
    UserFactory(email="bob@example.com")
    RoleAssignment.objects.create(user=alice, role=role)

    response = admin_client.get(USER_CHANGELIST_URL + f"?roles__id__exact={role.pk}")

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [alice]


# -- users: add --


def test_user_add_page_asks_for_email_and_passwords(admin_client):
    response = admin_client.get(USER_ADD_URL)

    assert response.status_code == 200
    assert list(response.context["adminform"].form.fields) == ["email", "usable_password", "password1", "password2"]


def test_user_add_mixed_case_email_creates_lowercased_user(admin_client):
    data = add_user_data(admin_client, email="New.Person@Example.COM")

    response = admin_client.post(USER_ADD_URL, data)

    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    assert response["Location"] == user_change_url(user)
    assert user.check_password(PASSWORD)
    assert not user.is_staff
    assert not user.is_superuser
    assert not User.objects.filter(email="New.Person@Example.COM").exists()


def test_user_add_without_usable_password_creates_passwordless_user(admin_client):
    data = add_user_data(admin_client, usable_password="false", password1="", password2="")

    response = admin_client.post(USER_ADD_URL, data)

    assert response.status_code == 302
    assert not User.objects.get(email="new.person@example.com").has_usable_password()


def test_user_add_email_taken_in_other_case_shows_error_creates_nothing(admin_client):
    UserFactory(email="alice@example.com")

    response = admin_client.post(USER_ADD_URL, add_user_data(admin_client, email="ALICE@example.com"))

    assert response.status_code == 200
    assert field_errors(response, "email") == ["A user with this email already exists."]
    assert User.objects.filter(email__iexact="alice@example.com").count() == 1


def test_user_add_mismatched_passwords_shows_error_creates_nothing(admin_client):
    response = admin_client.post(USER_ADD_URL, add_user_data(admin_client, password2=PASSWORD + "x"))

    assert response.status_code == 200
    assert field_errors(response, "password2")
    assert not User.objects.filter(email="new.person@example.com").exists()


def test_user_add_common_password_shows_error_creates_nothing(admin_client):
    response = admin_client.post(USER_ADD_URL, add_user_data(admin_client, password1="password", password2="password"))

    assert response.status_code == 200
    assert field_errors(response, "password2")
    assert not User.objects.filter(email="new.person@example.com").exists()


def test_user_add_with_role_inline_assigns_role(admin_client):
    role = RoleFactory(name="latchkey:admin")
    data = add_user_data(admin_client, **{"role_assignments-0-role": str(role.pk)})

    response = admin_client.post(USER_ADD_URL, data)

    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    assert list(user.roles.all()) == [role]


# -- users: change --


def test_user_change_page_shows_public_id_read_only(admin_client):
    alice = UserFactory(email="alice@example.com")

    response = admin_client.get(user_change_url(alice))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "public_id" not in form.fields
    html = response.content.decode()
    assert str(alice.public_id) in html
    assert 'name="public_id"' not in html
    assert 'name="password"' not in html  # only a summary and a link to change it


def test_user_change_posted_public_id_is_ignored(admin_client):
    alice = UserFactory(email="alice@example.com")
    original = alice.public_id
    data = page_form_data(admin_client.get(user_change_url(alice)))
    data["public_id"] = "00000000-0000-4000-8000-000000000000"
    data["name"] = "Alice L."

    response = admin_client.post(user_change_url(alice), data)

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.public_id == original
    assert alice.name == "Alice L."


def test_user_change_role_inline_adds_role(admin_client):
    alice = UserFactory(email="alice@example.com")
    role = RoleFactory(name="streaming:subscriber")
    page = admin_client.get(user_change_url(alice))
    (inline,) = page.context["inline_admin_formsets"]
    assert inline.formset.prefix == "role_assignments"
    data = page_form_data(page)
    data["role_assignments-0-role"] = str(role.pk)

    response = admin_client.post(user_change_url(alice), data)

    assert response.status_code == 302
    assignment = RoleAssignment.objects.get(user=alice)
    assert assignment.role == role
    assert assignment.assigned_at is not None


def test_user_change_role_inline_removes_role(admin_client):
    alice = UserFactory(email="alice@example.com")
    role = RoleFactory(name="streaming:subscriber")
    RoleAssignment.objects.create(user=alice, role=role)
    data = page_form_data(admin_client.get(user_change_url(alice)))
    data["role_assignments-0-DELETE"] = "on"

    response = admin_client.post(user_change_url(alice), data)

    assert response.status_code == 302
    assert not RoleAssignment.objects.filter(user=alice).exists()


def test_user_change_same_role_twice_shows_error_assigns_once(admin_client):
    alice = UserFactory(email="alice@example.com")
    role = RoleFactory(name="streaming:subscriber")
    RoleAssignment.objects.create(user=alice, role=role)
    data = page_form_data(admin_client.get(user_change_url(alice)))
    data["role_assignments-1-role"] = str(role.pk)

    response = admin_client.post(user_change_url(alice), data)

    assert response.status_code == 200
    (inline,) = response.context["inline_admin_formsets"]
    assert list(inline.formset.non_form_errors()) == ["Please correct the duplicate data for role."]
    assert RoleAssignment.objects.filter(user=alice).count() == 1


def test_user_change_email_in_mixed_case_saved_lowercased(admin_client):
    alice = UserFactory(email="alice@example.com")
    data = page_form_data(admin_client.get(user_change_url(alice)))
    data["email"] = "Alice.Liddell@Example.COM"

    response = admin_client.post(user_change_url(alice), data)

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.email == "alice.liddell@example.com"


def test_user_change_email_taken_in_other_case_shows_error(admin_client):
    UserFactory(email="bob@example.com")
    alice = UserFactory(email="alice@example.com")
    data = page_form_data(admin_client.get(user_change_url(alice)))
    data["email"] = "BOB@example.com"

    response = admin_client.post(user_change_url(alice), data)

    assert response.status_code == 200
    assert field_errors(response, "email") == ["A user with this email already exists."]
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"


def test_user_change_bad_phone_number_shows_error(admin_client):
    alice = UserFactory(email="alice@example.com")
    data = page_form_data(admin_client.get(user_change_url(alice)))
    data["phone_number"] = "07700 900123"

    response = admin_client.post(user_change_url(alice), data)

    assert response.status_code == 200
    assert field_errors(response, "phone_number") == ["Use E.164 format, e.g. +447700900123."]


def test_user_role_autocomplete_finds_roles_by_name(admin_client):
    RoleFactory(name="streaming:subscriber")
    RoleFactory(name="latchkey:admin")
    url = reverse("admin:autocomplete")

    response = admin_client.get(
        url, {"app_label": "identity", "model_name": "roleassignment", "field_name": "role", "term": "stream"}
    )

    assert response.status_code == 200
    assert [item["text"] for item in json.loads(response.content)["results"]] == ["streaming:subscriber"]


# -- roles --


def test_role_add_with_scopes_creates_role(admin_client):
    read = ScopeFactory(name="invoices:read")
    write = ScopeFactory(name="invoices:write")

    response = admin_client.post(
        ROLE_ADD_URL,
        {"name": "billing:service", "description": "Billing back office", "scopes": [str(read.pk), str(write.pk)]},
    )

    assert response.status_code == 302
    role = Role.objects.get(name="billing:service")
    assert role.description == "Billing back office"
    assert set(role.scopes.all()) == {read, write}


def test_role_add_page_lists_scopes_as_checkboxes(admin_client):
    response = admin_client.get(ROLE_ADD_URL)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert isinstance(form.fields["scopes"].widget.widget, forms.CheckboxSelectMultiple)
    assert set(form.fields["scopes"].queryset) == set(Scope.objects.all())
    assert 'type="checkbox" name="scopes"' in response.content.decode()


@pytest.mark.parametrize("name", ["Billing Admin", "BILLING:admin", "-leading", ""])
def test_role_add_bad_name_shows_error_creates_nothing(admin_client, name):
    response = admin_client.post(ROLE_ADD_URL, {"name": name, "description": ""})

    assert response.status_code == 200
    assert field_errors(response, "name")
    assert not Role.objects.exists()


def test_role_add_duplicate_name_shows_error(admin_client):
    RoleFactory(name="billing:service")

    response = admin_client.post(ROLE_ADD_URL, {"name": "billing:service", "description": ""})

    assert response.status_code == 200
    assert field_errors(response, "name")
    assert Role.objects.filter(name="billing:service").count() == 1


def test_role_changelist_search_by_name_finds_match(admin_client):
    billing = RoleFactory(name="billing:service")
    RoleFactory(name="streaming:subscriber")

    response = admin_client.get(ROLE_CHANGELIST_URL + "?q=billing")

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [billing]


# -- access --


def test_user_changelist_non_staff_user_redirected_to_login(client):
    client.force_login(UserFactory(is_staff=False))

    response = client.get(USER_CHANGELIST_URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_role_add_non_staff_user_redirected_creates_nothing(client):
    client.force_login(UserFactory(is_staff=False))

    response = client.post(ROLE_ADD_URL, {"name": "sneaky:role", "description": ""})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert not Role.objects.exists()


# -- users: what the change form takes away stops at once --


def _tokens_live(user, application) -> bool:
    from oauth2_provider.models import get_access_token_model, get_refresh_token_model

    return (
        get_access_token_model().objects.filter(user=user, application=application).exists()
        or get_refresh_token_model().objects.filter(user=user, application=application, revoked__isnull=True).exists()
    )


def test_user_change_removing_a_role_revokes_tokens_of_apps_requiring_it(admin_client):
    from tests.applications.factories import RefreshTokenFactory, make_application

    alice = UserFactory(email="alice@example.com")
    role = RoleFactory(name="streaming:subscriber")
    RoleAssignment.objects.create(user=alice, role=role)
    gated, _ = make_application(type="web", required_roles=[role])
    open_app, _ = make_application(type="web")
    RefreshTokenFactory(user=alice, application=gated)
    RefreshTokenFactory(user=alice, application=open_app)
    data = page_form_data(admin_client.get(user_change_url(alice)))
    data["role_assignments-0-DELETE"] = "on"

    response = admin_client.post(user_change_url(alice), data)

    assert response.status_code == 302
    assert not _tokens_live(alice, gated)
    assert _tokens_live(alice, open_app)


def test_user_change_deactivating_ends_their_jwt_access_tokens_at_every_app(admin_client):
    alice = UserFactory(email="alice@example.com")
    data = page_form_data(admin_client.get(user_change_url(alice)))
    data.pop("is_active")

    assert admin_client.post(user_change_url(alice), data).status_code == 302

    assert not_before_entries() == {(str(alice.public_id), "", "user_deactivated")}


def test_user_delete_ends_their_jwt_access_tokens(admin_client):
    alice = UserFactory(email="alice@example.com")

    response = admin_client.post(reverse("admin:identity_user_delete", args=[alice.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not User.objects.filter(pk=alice.pk).exists()
    assert not_before_entries() == {(str(alice.public_id), "", "user_deleted")}


def test_user_change_deactivating_revokes_tokens_of_every_app(admin_client):
    from tests.applications.factories import RefreshTokenFactory, make_application

    alice = UserFactory(email="alice@example.com")
    application, _ = make_application(type="web")
    RefreshTokenFactory(user=alice, application=application)
    data = page_form_data(admin_client.get(user_change_url(alice)))
    data.pop("is_active")

    response = admin_client.post(user_change_url(alice), data)

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.is_active is False
    assert not _tokens_live(alice, application)
