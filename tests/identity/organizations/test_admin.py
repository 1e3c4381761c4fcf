"""Organisations, organisation roles and invitations in the admin: every write through the services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from applications.events.models import Event
from identity.models import AuditEvent
from identity.organizations.models import Invitation, Membership, Organization, OrganizationRole
from tests.applications.test_admin import page_form_data
from tests.identity.factories import UserFactory
from tests.identity.organizations.factories import MembershipFactory, OrganizationFactory, member_role

pytestmark = pytest.mark.django_db


def url(name: str, *args) -> str:
    return reverse(f"admin:organizations_{name}", args=args)


def org_form(**values) -> dict:
    data = {
        "name": "Acme",
        "slug": "acme",
        "description": "",
        "logo_url": "",
        "primary_color": "",
        "secondary_color": "",
        "jit_email_domains": "",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    return {**data, **values}


def test_admin_creates_an_organisation_with_a_member_through_the_services(admin_client):
    role, user = member_role(), UserFactory()
    data = org_form(
        jit_email_domains="acme.com\nAcme.io",
        jit_roles=[str(role.pk)],
        **{"memberships-TOTAL_FORMS": "1", "memberships-0-user": str(user.pk), "memberships-0-roles": [str(role.pk)]},
    )
    response = admin_client.post(url("organization_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    org = Organization.objects.get()
    assert org.jit_email_domains == ["acme.com", "acme.io"] and list(org.jit_roles.all()) == [role]
    membership = Membership.objects.get()
    assert membership.user == user and list(membership.roles.all()) == [role]
    assert list(AuditEvent.objects.order_by("pk").values_list("action", flat=True)) == [
        "organization.created",
        "organization.member_added",
    ]
    assert {e.type for e in Event.objects.all()} == {"organization.created", "organization.member_added"}


def test_admin_organisation_form_reports_bad_fields(admin_client):
    OrganizationFactory(slug="acme")
    response = admin_client.post(url("organization_add"), org_form(name="Other", primary_color="red"))
    errors = response.context["adminform"].form.errors
    assert response.status_code == 200 and "slug" in errors and "primary_color" in errors
    assert Organization.objects.count() == 1


def test_admin_changes_an_organisation_and_removes_a_member(admin_client):
    membership = MembershipFactory(organization=OrganizationFactory(name="Acme", slug="acme"))
    data = page_form_data(admin_client.get(url("organization_change", membership.organization.pk)))
    data["description"] = "Widgets"
    data["memberships-0-DELETE"] = "on"
    response = admin_client.post(url("organization_change", membership.organization.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Organization.objects.get().description == "Widgets"
    assert not Membership.objects.exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert actions == {"organization.updated", "organization.member_removed"}


def test_admin_deletes_an_organisation_through_the_service(admin_client):
    org = OrganizationFactory()
    response = admin_client.post(url("organization_delete", org.pk), {"post": "yes"})
    assert response.status_code == 302 and not Organization.objects.exists()
    assert AuditEvent.objects.get().action == "organization.deleted"


def test_admin_creates_and_changes_an_organisation_role(admin_client):
    response = admin_client.post(
        url("organizationrole_add"), {"name": "admin", "description": "", "scopes": ["organization:write"]}
    )
    assert response.status_code == 302
    role = OrganizationRole.objects.get()
    assert role.scopes == ["organization:write"]
    response = admin_client.post(
        url("organizationrole_change", role.pk),
        {"name": "admin", "description": "Admins", "scopes": ["organization:read", "organization:write"]},
    )
    assert response.status_code == 302
    role.refresh_from_db()
    assert role.scopes == ["organization:read", "organization:write"] and role.description == "Admins"
    assert [a for a in AuditEvent.objects.order_by("pk").values_list("action", flat=True)] == [
        "organization_role.created",
        "organization_role.updated",
    ]


def test_admin_invitation_shows_the_link_once_and_revokes(admin_client, mailoutbox, django_capture_on_commit_callbacks):
    org, role = OrganizationFactory(name="Acme"), member_role()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url("invitation_add"), {"organization": str(org.pk), "email": "ada@example.com", "roles": [str(role.pk)]}
        )
    assert response.status_code == 200
    link = response.context["secrets"][0]["link"]
    assert link in response.content.decode() and "no-store" in response["Cache-Control"]
    assert link in mailoutbox[0].body
    invitation = Invitation.objects.get()
    change = admin_client.get(url("invitation_change", invitation.pk)).content.decode()
    assert link.rsplit("/", 1)[1] not in change and invitation.token_hash not in change
    revoked = admin_client.post(
        url("invitation_changelist"), {"action": "revoke", "_selected_action": [str(invitation.pk)]}, follow=True
    )
    assert "Revoked 1 invitation(s)." in revoked.content.decode()
    invitation.refresh_from_db()
    assert invitation.status == "revoked"


def test_admin_lists_render(admin_client):
    MembershipFactory()
    member_role()
    for name in ("organization_changelist", "organizationrole_changelist", "invitation_changelist"):
        assert admin_client.get(url(name)).status_code == 200
    assert admin_client.get(url("organization_change", Organization.objects.get().pk)).status_code == 200
