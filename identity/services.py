"""Writes to users and roles. The admin, the commands and the API call these."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction

from identity.models import Role, RoleAssignment, User, normalize_email


def user_create(*, acting_user, email: str, password: str | None, roles: Iterable[Role] = (), **profile) -> User:
    """Create a user; the password must pass the configured validators. None: no password sign-in."""
    user = User(email=normalize_email(email), **profile)
    errors: dict[str, list[str]] = {}
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if password is not None:
        try:
            password_validation.validate_password(password, user)
        except ValidationError as exc:
            errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save()
        for role in roles:
            RoleAssignment.objects.create(user=user, role=role)
    return user


def role_create(*, acting_user, name: str, description: str = "", scopes: Iterable = ()) -> Role:
    role = Role(name=name.strip(), description=description)
    role.full_clean()
    with transaction.atomic():
        role.save()
        role.scopes.set(list(scopes))
    return role


def role_assign(*, acting_user, user: User, role: Role) -> RoleAssignment:
    assignment, _ = RoleAssignment.objects.get_or_create(user=user, role=role)
    return assignment


def role_unassign(*, acting_user, user: User, role: Role) -> None:
    RoleAssignment.objects.filter(user=user, role=role).delete()
