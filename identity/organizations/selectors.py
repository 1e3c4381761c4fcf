"""Reads of organisations, memberships, organisation roles and invitations."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from identity.organizations.invitations import token_hash
from identity.organizations.models import Invitation, Membership, Organization, OrganizationRole


def organizations_of(user) -> QuerySet[Organization]:
    """The organisations `user` is a member of, by name."""
    return Organization.objects.filter(memberships__user=user).order_by("name", "pk")


def membership_for(user, organization: Organization) -> Membership | None:
    """`user`'s membership of `organization` with its roles loaded, or None."""
    return Membership.objects.filter(user=user, organization=organization).prefetch_related("roles").first()


def organization_scopes_granted(membership: Membership | None) -> set[str]:
    """The organisation scopes (organization:read / organization:write) the member's roles grant."""
    if membership is None:
        return set()
    return {scope for role in membership.roles.all() for scope in role.scopes}


def organization_roles_by_name(names: Iterable[str], *, field: str) -> list[OrganizationRole]:
    """The roles named, in one query; an unknown name is a ValidationError keyed by `field`."""
    wanted = list(dict.fromkeys(name.strip() for name in names))
    roles = {role.name: role for role in OrganizationRole.objects.filter(name__in=wanted)}
    unknown = [name for name in wanted if name not in roles]
    if unknown:
        raise ValidationError({field: [f"No organisation role named {', '.join(repr(n) for n in unknown)}."]})
    return [roles[name] for name in wanted]


def invitation_by_token(token: str) -> Invitation | None:
    if not token or "\x00" in token:
        return None
    return Invitation.objects.select_related("organization").filter(token_hash=token_hash(token)).first()


def organization_state(organization: Organization) -> dict[str, Any]:
    """An organisation as the API shows it (for audit records and config export), by API field name."""
    return {
        "name": organization.name,
        "slug": organization.slug,
        "description": organization.description,
        "logo_url": organization.logo_url,
        "primary_color": organization.primary_color,
        "secondary_color": organization.secondary_color,
        "jit_email_domains": sorted(organization.jit_email_domains or []),
        "jit_roles": sorted(role.name for role in organization.jit_roles.all()),
        "sign_in_issuer": organization.sign_in_issuer,
        "sign_in_domains": sorted(organization.sign_in_domains or []),
    }


def organization_role_state(role: OrganizationRole) -> dict[str, Any]:
    return {"name": role.name, "description": role.description, "scopes": sorted(role.scopes or [])}


def role_names(roles: Iterable[OrganizationRole]) -> list[str]:
    return sorted(role.name for role in roles)
