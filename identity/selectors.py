"""Reads of users and roles, and their audit snapshots."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError

from identity.models import Role, User


def roles_by_name(names: Iterable[str], *, field: str) -> list[Role]:
    """The roles named; unknown names are a field error, not a silent drop."""
    wanted = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))
    found = {r.name: r for r in Role.objects.filter(name__in=wanted)}
    missing = [n for n in wanted if n not in found]
    if missing:
        raise ValidationError({field: [f"Unknown role(s): {', '.join(missing)}."]})
    return [found[n] for n in wanted]


def _names(related) -> list[str]:
    return sorted(item.name for item in related.all())


def role_state(role: Role) -> dict[str, Any]:
    """The audit snapshot of a role."""
    return {"name": role.name, "description": role.description, "scopes": _names(role.scopes)}


def user_state(user: User) -> dict[str, Any]:
    """The audit snapshot of a user: never the password, only (in the record) that it changed."""
    return {
        "email": user.email,
        "name": user.name,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "picture": user.picture,
        "phone_number": user.phone_number,
        "email_verified": user.email_verified,
        "phone_number_verified": user.phone_number_verified,
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "roles": _names(user.roles) if user.pk else [],
    }
