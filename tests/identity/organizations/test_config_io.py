"""Organisations and organisation roles in `config export | import`: never members or invitations,
idempotent, and a dry run that changes nothing."""

from __future__ import annotations

import pytest
import yaml

from identity.models import AuditEvent
from identity.organizations.models import Organization, OrganizationRole
from tests.applications.test_config_commands import export_document, import_error, import_file
from tests.identity.organizations.factories import MembershipFactory, admin_role, member_role

pytestmark = pytest.mark.django_db

DOCUMENT = {
    "version": 1,
    "organization_roles": [
        {"name": "admin", "description": "Runs it", "scopes": ["organization:write", "organization:read"]},
        {"name": "member", "scopes": ["organization:read"]},
    ],
    "organizations": [
        {
            "slug": "acme",
            "name": "Acme",
            "primary_color": "#aabbcc",
            "jit_email_domains": ["acme.com"],
            "jit_roles": ["member"],
        },
    ],
}


def test_export_without_organisations_has_no_organisation_sections():
    document = export_document()
    assert "organizations" not in document and "organization_roles" not in document


def test_export_lists_organisations_and_roles_sorted_without_members():
    role = admin_role()
    member_role()
    membership = MembershipFactory(organization__name="Zeta", organization__slug="zeta", roles=[role])
    membership.organization.jit_roles.set([role])
    MembershipFactory(organization__name="Acme", organization__slug="acme")
    document = export_document()
    assert [r["name"] for r in document["organization_roles"]] == ["admin", "member"]
    assert document["organization_roles"][0] == {
        "name": "admin",
        "description": "An organisation role for tests",
        "scopes": ["organization:read", "organization:write"],
    }
    assert [o["slug"] for o in document["organizations"]] == ["acme", "zeta"]
    zeta = document["organizations"][1]
    assert zeta["jit_roles"] == ["admin"] and "members" not in zeta and "id" not in zeta
    assert membership.user.email not in yaml.safe_dump(document)


def test_import_creates_then_changes_nothing_the_second_time(tmp_path):
    first = import_file(tmp_path, DOCUMENT)
    assert "create     organization role admin" in first and "create     organization acme (Acme)" in first
    org = Organization.objects.get()
    assert org.primary_color == "#AABBCC" and [r.name for r in org.jit_roles.all()] == ["member"]
    assert OrganizationRole.objects.get(name="admin").scopes == ["organization:read", "organization:write"]
    records = AuditEvent.objects.count()
    second = import_file(tmp_path, DOCUMENT)
    assert "Nothing to change" in second and AuditEvent.objects.count() == records


def test_import_round_trips_an_export(tmp_path):
    import_file(tmp_path, DOCUMENT)
    exported = export_document()
    assert "Nothing to change" in import_file(tmp_path, exported)


def test_import_dry_run_shows_the_diff_and_changes_nothing(tmp_path):
    import_file(tmp_path, DOCUMENT)
    changed = yaml.safe_load(yaml.safe_dump(DOCUMENT))
    changed["organizations"][0]["description"] = "Widgets"
    changed["organization_roles"][1]["scopes"] = ["organization:read", "organization:write"]
    out = import_file(tmp_path, changed, "--dry-run")
    assert "update     organization acme (Acme)" in out and "description" in out
    assert "update     organization role member" in out
    assert "Dry run, nothing was changed: 0 to create, 2 to update" in out
    assert Organization.objects.get().description == ""
    assert OrganizationRole.objects.get(name="member").scopes == ["organization:read"]
    import_file(tmp_path, changed)
    assert Organization.objects.get().description == "Widgets"


def test_import_errors_name_the_entry_and_change_nothing(tmp_path):
    bad = {
        "version": 1,
        "organization_roles": [{"name": "admin", "scopes": ["openid"]}],
        "organizations": [
            {"slug": "Not A Slug", "name": "Bad"},
            {"slug": "acme", "name": "Acme", "jit_roles": ["nobody"]},
            {"slug": "nameless"},
        ],
    }
    message, lines = import_error(tmp_path, bad)
    assert "4 errors; nothing was changed" in message
    assert any(line.startswith("organization role 'admin': scopes") for line in lines)
    assert any(line.startswith("organization 'Not A Slug': slug") for line in lines)
    assert any(line.startswith("organization 'acme': jit_roles") for line in lines)
    assert any(line.startswith("organization 'nameless': name") for line in lines)
    assert not Organization.objects.exists() and not OrganizationRole.objects.exists()
