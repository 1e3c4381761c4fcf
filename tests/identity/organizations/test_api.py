"""/api/organizations (with members and invitations) and /api/organization-roles: CRUD, the
400/401/403/404/409 answers, query budgets, and invitation links shown once."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from applications.events.models import Event
from identity.models import AuditEvent
from identity.organizations import services
from identity.organizations.models import Invitation, Membership, Organization, OrganizationRole
from tests.identity.factories import UserFactory
from tests.identity.organizations.factories import (
    MembershipFactory,
    OrganizationFactory,
    OrganizationRoleFactory,
    admin_role,
    member_role,
    verified_user,
)

pytestmark = pytest.mark.django_db


def org_url(org=None) -> str:
    return "/api/organizations" if org is None else f"/api/organizations/{org.public_id}"


# organisations


def test_organization_create_returns_it_by_public_id(writer):
    member_role()
    response = writer.post(
        org_url(),
        {
            "name": "Acme",
            "slug": "acme",
            "primary_color": "#aabbcc",
            "jit_email_domains": ["Acme.com"],
            "jit_roles": ["member"],
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    org = Organization.objects.get()
    assert body["id"] == str(org.public_id) and response["Location"].endswith(org_url(org))
    assert body["primary_color"] == "#AABBCC" and body["jit_email_domains"] == ["acme.com"]
    assert body["jit_roles"] == ["member"] and response["ETag"]
    assert AuditEvent.objects.get(action="organization.created").actor_id == writer.application.client_id


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "Acme", "slug": "Not A Slug"}, "slug"),
        ({"name": "", "slug": "acme"}, "name"),
        ({"name": "Acme", "slug": "acme", "primary_color": "red"}, "primary_color"),
        ({"name": "Acme", "slug": "acme", "logo_url": "ftp://x"}, "logo_url"),
        ({"name": "Acme", "slug": "acme", "jit_email_domains": ["no domain"]}, "jit_email_domains"),
        ({"name": "Acme", "slug": "acme", "jit_roles": ["nobody"]}, "jit_roles"),
        ({"name": "Acme", "slug": "acme", "colour": "#000000"}, "colour"),
        ({"name": "Acme\x00", "slug": "acme"}, "name"),
        ({"slug": "acme"}, "name"),
    ],
)
def test_organization_create_bad_field_is_a_400_naming_it(writer, payload, field):
    response = writer.post(org_url(), payload)
    assert response.status_code == 400, response.json()
    assert response.json()["error"] == "invalid" and field in response.json()["fields"]
    assert not Organization.objects.exists()


@pytest.mark.parametrize("field", ["name", "slug"])
def test_organization_create_taken_name_or_slug_is_a_409(writer, field):
    OrganizationFactory(name="Acme", slug="acme")
    payload = {"name": "Other", "slug": "other", field: {"name": "Acme", "slug": "acme"}[field]}
    response = writer.post(org_url(), payload)
    assert response.status_code == 409
    assert response.json()["error"] == "conflict" and field in response.json()["fields"]


def test_organization_list_and_read_within_budget(reader, django_assert_max_num_queries):
    orgs = [OrganizationFactory() for _ in range(3)]
    orgs[0].jit_roles.set([member_role(), admin_role()])
    with django_assert_max_num_queries(6):
        listing = reader.get(org_url())
    assert listing.status_code == 200 and listing.json()["count"] == 3
    with django_assert_max_num_queries(6):
        one = reader.get(org_url(orgs[0]))
    assert one.json()["jit_roles"] == ["admin", "member"]


@pytest.mark.parametrize("lookup", ["not-a-uuid", str(uuid.uuid4()), "1"])
def test_organization_unknown_or_malformed_id_is_a_404(reader, lookup):
    OrganizationFactory()
    response = reader.get(f"/api/organizations/{lookup}")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_organization_patch_and_delete(writer, django_assert_max_num_queries):
    org = OrganizationFactory(slug="acme")
    with django_assert_max_num_queries(20):
        response = writer.patch(org_url(org), {"description": "Widgets", "jit_email_domains": ["acme.com"]})
    assert response.status_code == 200, response.json()
    assert response.json()["description"] == "Widgets"
    assert Event.objects.get(type="organization.updated").payload["fields"] == ["description", "jit_email_domains"]
    stale = writer.patch(org_url(org), {"description": "x"}, HTTP_IF_MATCH='"stale"')
    assert stale.status_code == 412
    OrganizationFactory(slug="taken")
    assert writer.patch(org_url(org), {"slug": "taken"}).status_code == 409
    with django_assert_max_num_queries(18):  # the cascade: memberships, their roles, invitations, JIT roles
        deleted = writer.delete(org_url(org))
    assert deleted.status_code == 204 and not Organization.objects.filter(pk=org.pk).exists()


def test_organization_api_needs_a_token_with_the_right_scope(reader):
    org = OrganizationFactory()
    assert APIClient().get(org_url()).status_code == 401
    assert reader.post(org_url(), {"name": "Acme", "slug": "acme"}).status_code == 403
    assert reader.delete(org_url(org)).status_code == 403
    assert reader.post(f"{org_url(org)}/members", {"user_id": 1}).status_code == 403


# organisation roles


def test_organization_role_crud(writer, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        created = writer.post(
            "/api/organization-roles", {"name": "admin", "scopes": ["organization:write", "organization:read"]}
        )
    assert created.status_code == 201, created.json()
    assert created.json()["scopes"] == ["organization:read", "organization:write"]
    role_url = f"/api/organization-roles/{created.json()['id']}"
    with django_assert_max_num_queries(5):
        assert writer.get("/api/organization-roles").json()["count"] == 1
    changed = writer.patch(role_url, {"scopes": ["organization:read"], "description": "Reads"})
    assert changed.status_code == 200 and changed.json()["scopes"] == ["organization:read"]
    assert writer.delete(role_url).status_code == 204
    assert not OrganizationRole.objects.exists()
    assert writer.get(role_url).status_code == 404


def test_organization_role_bad_scope_400_and_taken_name_409(writer):
    bad = writer.post("/api/organization-roles", {"name": "admin", "scopes": ["openid"]})
    assert bad.status_code == 400 and "scopes" in bad.json()["fields"]
    OrganizationRoleFactory(name="admin")
    taken = writer.post("/api/organization-roles", {"name": "admin"})
    assert taken.status_code == 409 and "name" in taken.json()["fields"]


# members


def members_url(org, user=None) -> str:
    base = f"{org_url(org)}/members"
    return base if user is None else f"{base}/{user if isinstance(user, (int, str)) else user.pk}"


def test_member_add_patch_roles_and_remove(writer, django_assert_max_num_queries):
    org, user = OrganizationFactory(), UserFactory(email="ada@example.com")
    member_role(), admin_role()
    with django_assert_max_num_queries(16):
        added = writer.post(members_url(org), {"user_id": user.pk, "roles": ["member"]})
    assert added.status_code == 201, added.json()
    assert added.json() == {
        "user_id": user.pk,
        "sub": str(user.public_id),
        "email": "ada@example.com",
        "roles": ["member"],
        "created_at": added.json()["created_at"],
    }
    assert added["Location"].endswith(members_url(org, user))
    with django_assert_max_num_queries(16):
        patched = writer.patch(members_url(org, user), {"roles": ["admin", "member"]})
    assert patched.status_code == 200 and patched.json()["roles"] == ["admin", "member"]
    with django_assert_max_num_queries(14):
        removed = writer.delete(members_url(org, user))
    assert removed.status_code == 204 and not Membership.objects.exists()
    assert [e.type for e in Event.objects.order_by("pk")] == [
        "organization.member_added",
        "organization.member_roles_changed",
        "organization.member_removed",
    ]


def test_member_list_within_budget(reader, django_assert_max_num_queries):
    org = OrganizationFactory()
    for _ in range(4):
        MembershipFactory(organization=org, roles=[member_role()])
    MembershipFactory()  # another organisation's
    with django_assert_max_num_queries(7):
        response = reader.get(members_url(org))
    assert response.status_code == 200 and response.json()["count"] == 4
    assert all(member["roles"] == ["member"] for member in response.json()["results"])


def test_member_add_errors(writer):
    org = OrganizationFactory()
    membership = MembershipFactory(organization=org)
    assert writer.post(members_url(org), {"user_id": membership.user.pk}).status_code == 409
    unknown_user = writer.post(members_url(org), {"user_id": 999999})
    assert unknown_user.status_code == 400 and "user_id" in unknown_user.json()["fields"]
    unknown_role = writer.post(members_url(org), {"user_id": UserFactory().pk, "roles": ["nobody"]})
    assert unknown_role.status_code == 400 and "roles" in unknown_role.json()["fields"]
    not_a_number = writer.post(members_url(org), {"user_id": "ada"})
    assert not_a_number.status_code == 400 and "user_id" in not_a_number.json()["fields"]
    assert writer.post(f"/api/organizations/{uuid.uuid4()}/members", {"user_id": 1}).status_code == 404


@pytest.mark.parametrize("member", ["abc", "999999"])
def test_member_unknown_is_a_404(writer, member):
    org = OrganizationFactory()
    assert writer.get(members_url(org, member)).status_code == 404
    assert writer.delete(members_url(org, member)).status_code == 404


def test_member_of_another_organisation_is_a_404(writer):
    membership = MembershipFactory()
    assert writer.delete(members_url(OrganizationFactory(), membership.user)).status_code == 404
    assert Membership.objects.exists()


# invitations


def invitations_url(org, invitation=None) -> str:
    base = f"{org_url(org)}/invitations"
    return (
        base if invitation is None else f"{base}/{invitation if isinstance(invitation, (int, str)) else invitation.pk}"
    )


def test_invitation_create_shows_the_link_once(
    writer, mailoutbox, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    org = OrganizationFactory(name="Acme")
    member_role()
    with django_assert_max_num_queries(16), django_capture_on_commit_callbacks(execute=True):
        response = writer.post(invitations_url(org), {"email": "Ada@Example.com", "roles": ["member"]})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["email"] == "ada@example.com" and body["roles"] == ["member"] and body["status"] == "pending"
    assert body["link"].startswith("http") and "/organizations/invitations/" in body["link"]
    assert response["Cache-Control"] == "no-store"
    (message,) = mailoutbox
    assert body["link"] in message.body
    token = body["link"].rsplit("/", 1)[1]
    listing = writer.get(invitations_url(org))
    assert listing.json()["count"] == 1 and token not in listing.content.decode()
    assert "link" not in writer.get(invitations_url(org, body["id"])).json()


def test_invitation_errors(writer):
    org = OrganizationFactory()
    bad = writer.post(invitations_url(org), {"email": "not an address"})
    assert bad.status_code == 400 and "email" in bad.json()["fields"]
    assert writer.post(invitations_url(org), {"email": "ada@example.com", "roles": ["x"]}).status_code == 400
    assert writer.post(invitations_url(org), {"email": "ada@example.com"}).status_code == 201
    again = writer.post(invitations_url(org), {"email": "ada@example.com"})
    assert again.status_code == 409 and "email" in again.json()["fields"]


def test_invitation_revoke_and_list_within_budget(writer, django_assert_max_num_queries):
    org = OrganizationFactory()
    for n in range(3):
        writer.post(invitations_url(org), {"email": f"person{n}@example.com", "roles": []})
    invitation = Invitation.objects.filter(organization=org).first()
    with django_assert_max_num_queries(10):
        revoked = writer.delete(invitations_url(org, invitation))
    assert revoked.status_code == 204
    with django_assert_max_num_queries(6):
        listing = writer.get(invitations_url(org))
    statuses = sorted(i["status"] for i in listing.json()["results"])
    assert statuses == ["pending", "pending", "revoked"]
    assert writer.delete(invitations_url(org, "nope")).status_code == 404
    assert writer.delete(invitations_url(OrganizationFactory(), invitation)).status_code == 404


def test_invitation_accepted_cannot_be_revoked(writer):
    org = OrganizationFactory()
    link = writer.post(invitations_url(org), {"email": "ada@example.com"}).json()["link"]
    services.invitation_accept(user=verified_user("ada@example.com"), token=link.rsplit("/", 1)[1])
    invitation = Invitation.objects.get()
    response = writer.delete(invitations_url(org, invitation))
    assert response.status_code == 409 and response.json()["error"] == "conflict"


def test_organization_audit_is_found_by_the_api_id(writer):
    created = writer.post(org_url(), {"name": "Acme", "slug": "acme"}).json()
    response = writer.get("/api/audit", {"target_type": "organization", "target_id": created["id"]})
    assert response.status_code == 200
    assert [event["action"] for event in response.json()["results"]] == ["organization.created"]
    assert response.json()["results"][0]["target"] == {"type": "organization", "id": created["id"], "label": "acme"}
