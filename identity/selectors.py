"""Reads of users and roles."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError

from identity.models import Role


def roles_by_name(names: Iterable[str], *, field: str) -> list[Role]:
    """The roles named; unknown names are a field error, not a silent drop."""
    wanted = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))
    found = {r.name: r for r in Role.objects.filter(name__in=wanted)}
    missing = [n for n in wanted if n not in found]
    if missing:
        raise ValidationError({field: [f"Unknown role(s): {', '.join(missing)}."]})
    return [found[n] for n in wanted]
