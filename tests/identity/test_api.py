"""/api/users and /api/roles, and the management API's authentication as an integrator meets it."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from rest_framework.test import APIClient

from applications.models import Scope
from applications.oauth.revocations import token_revoked
from identity.models import Role, RoleAssignment, User
from tests.applications.factories import ScopeFactory, make_application, not_before_entries
from tests.conftest import staff_sign_in
from tests.identity.factories import RoleFactory, UserFactory

pytestmark = pytest.mark.django_db
AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
STRONG = "a long and unusual passphrase 9"


def checksum(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()  # django-oauth-toolkit stores only this digest


# -- authentication and scopes --


def test_no_token_is_401_with_www_authenticate():
    response = APIClient().get("/api/users")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"] == "not_authenticated"


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer ", "Basic Zm9vOmJhcg==", "Bearer \x00"])
def test_bad_token_is_401_with_www_authenticate(header):
    response = APIClient().get("/api/users", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert "WWW-Authenticate" in response


def test_revoked_token_is_401(reader):
    AccessToken.objects.get(token_checksum=checksum(reader.token)).revoke()
    response = reader.get("/api/users")
    assert response.status_code == 401
    assert "WWW-Authenticate" in response


def test_expired_token_is_401(reader):
    AccessToken.objects.filter(token_checksum=checksum(reader.token)).update(
        expires=timezone.now() - timedelta(seconds=1)
    )
    assert reader.get("/api/users").status_code == 401


def test_token_without_management_scope_is_403(management_api):
    ScopeFactory(name="events:read")
    api = management_api("events:read")
    response = api.get("/api/users")
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"


def test_read_token_on_write_is_403(reader):
    response = reader.post("/api/roles", {"name": "team:x"})
    assert response.status_code == 403
    assert not Role.objects.filter(name="team:x").exists()


def test_non_m2m_app_token_with_management_scope_is_403():
    application, _ = make_application(type="web")
    token = AccessToken.objects.create(
        user=UserFactory(),
        application=application,
        token="web-token-1234567890",
        scope="management:read management:write",
        expires=timezone.now() + timedelta(hours=1),
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")
    assert api.get("/api/users").status_code == 403


def test_staff_session_reads_and_writes_with_csrf(admin_user):
    api = APIClient(enforce_csrf_checks=True)
    staff_sign_in(api, admin_user)
    assert api.get("/api/users").status_code == 200
    response = api.post("/api/roles", {"name": "team:x"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    csrf = "k" * 32  # what a browser holds in its csrftoken cookie and echoes in X-CSRFToken
    api.cookies["csrftoken"] = csrf
    response = api.post("/api/roles", {"name": "team:x"}, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 201


def test_non_staff_session_is_403():
    api = APIClient()
    api.force_login(UserFactory())
    assert api.get("/api/users").status_code == 403


# -- roles --


def test_role_create_with_scopes_and_read_back(writer):
    ScopeFactory(name="events:write")
    response = writer.post("/api/roles", {"name": "events:writer", "description": "Writes", "scopes": ["events:write"]})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["scopes"] == ["events:write"]
    assert writer.get(f"/api/roles/{body['id']}").json()["name"] == "events:writer"


def test_role_create_unknown_scope_and_bad_name_is_400(writer):
    response = writer.post("/api/roles", {"name": "Bad Name", "scopes": ["nope:scope"]})
    assert response.status_code == 400
    assert "scopes" in response.json()["fields"]
    response = writer.post("/api/roles", {"name": "Bad Name"})
    assert response.status_code == 400
    assert "name" in response.json()["fields"]


def test_role_create_duplicate_name_is_409(writer):
    RoleFactory(name="team:admin")
    response = writer.post("/api/roles", {"name": "team:admin"})
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert response.json()["fields"] == {"name": ["Role with this Name already exists."]}


def test_role_patch_changes_description_and_replaces_scopes(writer):
    role = RoleFactory(name="team:ops")
    role.scopes.set([ScopeFactory(name="a:read")])
    ScopeFactory(name="b:read")
    response = writer.patch(f"/api/roles/{role.pk}", {"description": "Ops", "scopes": ["b:read"]})
    assert response.status_code == 200
    assert response.json()["description"] == "Ops"
    assert response.json()["scopes"] == ["b:read"]
    assert writer.patch(f"/api/roles/{role.pk}", {"description": "Only"}).json()["scopes"] == ["b:read"]


def test_role_patch_to_taken_name_is_409(writer):
    RoleFactory(name="team:a")
    role = RoleFactory(name="team:b")
    assert writer.patch(f"/api/roles/{role.pk}", {"name": "team:a"}).status_code == 409


def test_role_delete_unused_is_204_and_removes_assignments(writer):
    role = RoleFactory()
    user = UserFactory()
    RoleAssignment.objects.create(user=user, role=role)
    assert writer.delete(f"/api/roles/{role.pk}").status_code == 204
    assert not Role.objects.filter(pk=role.pk).exists()
    assert writer.delete(f"/api/roles/{role.pk}").status_code == 404


def test_role_delete_gating_an_application_is_409(writer):
    role = RoleFactory(name="staff")
    make_application(type="web", name="Back office", required_roles=[role])
    response = writer.delete(f"/api/roles/{role.pk}")
    assert response.status_code == 409
    assert "Back office" in response.json()["detail"]
    assert Role.objects.filter(pk=role.pk).exists()


def test_roles_list_constant_queries(reader, django_assert_num_queries):
    for n in range(4):
        RoleFactory().scopes.set([ScopeFactory()])
    reader.get("/api/roles")  # the process now keeps the scope catalogue (applications.oauth.memo)
    for page_size in (1, 20):
        with django_assert_num_queries(4):
            response = reader.get(f"/api/roles?page_size={page_size}")
        assert response.json()["count"] == 4


# -- users --


def test_user_create_returns_sub_and_never_the_password(writer):
    RoleFactory(name="team:member")
    response = writer.post(
        "/api/users",
        {"email": "Ada@Example.com", "password": STRONG, "name": "Ada", "given_name": "Ada", "roles": ["team:member"]},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["email"] == "ada@example.com"
    assert body["roles"] == ["team:member"]
    assert "password" not in body
    user = User.objects.get(pk=body["id"])
    assert body["sub"] == str(user.public_id)
    assert user.check_password(STRONG)


def test_user_create_without_password_has_unusable_password(writer):
    response = writer.post("/api/users", {"email": "nopass@example.com"})
    assert response.status_code == 201
    assert not User.objects.get(email="nopass@example.com").has_usable_password()


def test_user_create_invalid_fields_is_400(writer):
    response = writer.post(
        "/api/users",
        {"email": "not-an-email", "password": "123", "phone_number": "12", "picture": "nope", "roles": ["no:role"]},
    )
    assert response.status_code == 400
    assert "roles" in response.json()["fields"]
    response = writer.post("/api/users", {"email": "not-an-email", "password": "123", "phone_number": "12"})
    assert response.status_code == 400
    assert {"email", "password", "phone_number"} <= set(response.json()["fields"])
    assert not User.objects.filter(email="not-an-email").exists()


def test_user_create_duplicate_email_any_case_is_409(writer):
    UserFactory(email="taken@example.com")
    response = writer.post("/api/users", {"email": "TAKEN@example.com"})
    assert response.status_code == 409
    assert list(response.json()["fields"]) == ["email"]


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {"email": 5},
        {"email": "x@example.com", "roles": "admin"},
        {"email": "x@example.com", "password": 3},
        {"email": "a" * 100_000 + "@example.com"},
        {"email": "x@example.com", "name": "n" * 100_000},
    ],
)
def test_user_create_malformed_is_400_never_500(writer, payload):
    response = writer.post("/api/users", payload)
    assert response.status_code == 400


def test_user_list_searches_email_paginates_in_constant_queries(reader, django_assert_num_queries):
    for n in range(3):
        user = UserFactory(email=f"member{n}@corp.example")
        RoleAssignment.objects.create(user=user, role=RoleFactory())
    UserFactory(email="other@elsewhere.example")
    reader.get("/api/users")  # the process now keeps the scope catalogue (applications.oauth.memo)
    for page_size in (1, 20):
        with django_assert_num_queries(4):
            response = reader.get(f"/api/users?search=CORP.example&page_size={page_size}")
        assert response.json()["count"] == 3
    assert reader.get("/api/users?search=nobody").json()["count"] == 0


def test_user_patch_profile_password_and_email_change_unverifies(writer):
    user = UserFactory(email="old@example.com", email_verified=True)
    response = writer.patch(f"/api/users/{user.pk}", {"email": "New@Example.com", "password": STRONG, "name": "N"})
    assert response.status_code == 200
    body = response.json()
    assert (body["email"], body["email_verified"], body["name"]) == ("new@example.com", False, "N")
    assert "password" not in body
    user.refresh_from_db()
    assert user.check_password(STRONG)


def test_user_patch_invalid_email_or_weak_password_is_400_and_nothing_saved(writer):
    user = UserFactory(email="keep@example.com")
    response = writer.patch(f"/api/users/{user.pk}", {"email": "nope", "password": "1"})
    assert response.status_code == 400
    assert {"email", "password"} <= set(response.json()["fields"])
    user.refresh_from_db()
    assert user.email == "keep@example.com"


def test_user_patch_to_taken_email_is_409(writer):
    UserFactory(email="taken@example.com")
    user = UserFactory()
    assert writer.patch(f"/api/users/{user.pk}", {"email": "taken@example.com"}).status_code == 409


def test_user_delete_and_put_are_405(writer):
    user = UserFactory()
    assert writer.delete(f"/api/users/{user.pk}").status_code == 405
    assert writer.put(f"/api/users/{user.pk}", {"email": "x@example.com"}).status_code == 405


def test_user_deactivate_revokes_tokens_of_every_app(writer):
    user = UserFactory()
    other = UserFactory()
    apps = [make_application(type="web")[0] for _ in range(2)]
    for n, application in enumerate(apps):
        for owner in (user, other):
            access = AccessToken.objects.create(
                user=owner,
                application=application,
                token=f"at-{n}-{owner.pk}",
                scope="openid",
                expires=timezone.now() + timedelta(hours=1),
            )
            RefreshToken.objects.create(
                user=owner, application=application, token=f"rt-{n}-{owner.pk}", access_token=access
            )
    response = writer.post(f"/api/users/{user.pk}/deactivate")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert not AccessToken.objects.filter(user=user).exists()
    assert not RefreshToken.objects.filter(user=user, revoked__isnull=True).exists()
    assert AccessToken.objects.filter(user=other).count() == 2
    assert RefreshToken.objects.filter(user=other, revoked__isnull=True).count() == 2


def test_user_assign_and_remove_role(writer):
    user = UserFactory()
    RoleFactory(name="team:lead")
    response = writer.post(f"/api/users/{user.pk}/roles", {"role": "team:lead"})
    assert response.status_code == 200
    assert response.json()["roles"] == ["team:lead"]
    assert writer.post(f"/api/users/{user.pk}/roles", {"role": "team:lead"}).json()["roles"] == ["team:lead"]
    assert writer.delete(f"/api/users/{user.pk}/roles/team:lead").status_code == 204
    assert list(user.roles.all()) == []
    assert writer.delete(f"/api/users/{user.pk}/roles/team:lead").status_code == 404


def test_user_deactivate_ends_their_jwt_access_tokens_at_every_app(writer):
    user = UserFactory()

    assert writer.post(f"/api/users/{user.pk}/deactivate").status_code == 200

    assert not_before_entries() == {(str(user.public_id), "", "user_deactivated")}
    issued = timezone.now() - timedelta(seconds=1)
    assert token_revoked(subject=str(user.public_id), client_id="any-app", issued_at=issued)


def test_user_role_removed_ends_their_jwt_access_tokens_at_apps_requiring_it(writer):
    user = UserFactory()
    role = RoleFactory(name="team:lead")
    RoleAssignment.objects.create(user=user, role=role)
    gated, _ = make_application(type="web", required_roles=[role])
    make_application(type="web")

    assert writer.delete(f"/api/users/{user.pk}/roles/team:lead").status_code == 204

    assert not_before_entries() == {(str(user.public_id), gated.client_id, "access_removed")}


def test_user_role_removed_that_no_app_requires_writes_no_not_before_entry(writer):
    user = UserFactory()
    role = RoleFactory(name="team:lead")
    RoleAssignment.objects.create(user=user, role=role)
    make_application(type="web")

    assert writer.delete(f"/api/users/{user.pk}/roles/team:lead").status_code == 204

    assert not_before_entries() == set()


def test_user_assign_unknown_or_blank_role_is_400_and_unknown_user_404(writer):
    user = UserFactory()
    assert "role" in writer.post(f"/api/users/{user.pk}/roles", {"role": "no:such"}).json()["fields"]
    assert writer.post(f"/api/users/{user.pk}/roles", {"role": "  "}).status_code == 400
    assert writer.post(f"/api/users/{user.pk}/roles", {}).status_code == 400
    assert writer.post("/api/users/999999/roles", {"role": "x"}).status_code == 404
    assert writer.get("/api/users/" + "9" * 30).status_code == 404


def test_reads_see_scope_rows_from_migration():
    assert Scope.objects.filter(name__in=["management:read", "management:write"]).count() == 2


def test_unknown_fields_are_400_naming_them(writer):
    user = UserFactory()
    response = writer.patch(f"/api/users/{user.pk}", {"is_staff": True, "roles": ["x"]})
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"is_staff", "roles"}
    user.refresh_from_db()
    assert user.is_staff is False


def test_nul_bytes_in_search_and_role_name_are_harmless(writer):
    user = UserFactory()
    assert writer.get("/api/users?search=%00").json()["count"] == 0
    assert writer.delete(f"/api/users/{user.pk}/roles/a%00b").status_code == 404
