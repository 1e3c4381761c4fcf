"""Organisations and organisation roles in `config export/import` (applications.config_io): the
`organization_roles` section (keyed by `name`) and the `organizations` section (keyed by `slug`, which
carries across environments; the public id does not). Members and invitations are people, not
configuration: never exported, never imported.

Entries are parsed by applications.config_io with the management API's serializers and written here
through the services (`actor=None`);
a field absent from an entry is left as it is, a listed one (`jit_email_domains`, `jit_roles`,
`scopes`) replaces the value. Each importer returns (action, before, after) for the caller's diff.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from identity.organizations import selectors, services
from identity.organizations.models import Organization, OrganizationRole


def organization_role_config(role: OrganizationRole) -> dict[str, Any]:
    return selectors.organization_role_state(role)


def organization_config(organization: Organization) -> dict[str, Any]:
    state = selectors.organization_state(organization)
    return {"slug": state.pop("slug"), **state}


def organization_roles_config() -> list[dict[str, Any]]:
    """Sorted here, not by the database (collations differ between SQLite and PostgreSQL)."""
    return sorted((organization_role_config(r) for r in OrganizationRole.objects.all()), key=lambda r: r["name"])


def organizations_config() -> list[dict[str, Any]]:
    organizations = Organization.objects.prefetch_related("jit_roles")
    return sorted((organization_config(o) for o in organizations), key=lambda o: o["slug"])


def organization_role_import(data: dict, name: str) -> tuple[str, dict | None, dict]:
    """`data`: the entry parsed (partially) with the API's OrganizationRoleWriteSerializer."""
    role = OrganizationRole.objects.select_for_update().filter(name=name).first()
    if role is None:
        role = services.organization_role_create(
            actor=None, name=name, description=data.get("description", ""), scopes=data.get("scopes", [])
        )
        return "create", None, organization_role_config(role)
    before = organization_role_config(role)
    services.organization_role_update(
        actor=None, role=role, description=data.get("description"), scopes=data.get("scopes")
    )
    return "update", before, organization_role_config(OrganizationRole.objects.get(pk=role.pk))


def organization_import(data: dict, slug: str) -> tuple[str, dict | None, dict]:
    """`data`: the entry parsed (partially) with the API's OrganizationWriteSerializer."""
    organization = Organization.objects.select_for_update().filter(slug=slug).first()
    if "jit_roles" in data:
        data["jit_roles"] = selectors.organization_roles_by_name(data["jit_roles"], field="jit_roles")
    if organization is None:
        if not data.get("name"):
            raise ValidationError({"name": ["This field is required."]})
        organization = services.organization_create(actor=None, fields=data)
        return "create", None, organization_config(Organization.objects.get(pk=organization.pk))
    before = organization_config(organization)
    services.organization_update(actor=None, organization=organization, fields=data)
    return "update", before, organization_config(Organization.objects.get(pk=organization.pk))
