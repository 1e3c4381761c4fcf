"""The audit log: who (a user, a management client, or the system) changed what, and when.

Services call `record` inside the transaction of the write they record, so a change and its record
commit or roll back together. What a target looked like is taken by the `*_state` functions below,
with the API's field names; secrets and passwords are never in a state, only the fact they changed.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

from identity.models import AuditEvent

# What a changed secret or password looks like in `changes`: that it changed, never what it is.
HIDDEN = "[hidden]"
SECRET_CHANGED = {"old": HIDDEN, "new": HIDDEN}


def actor_fields(actor) -> dict[str, str]:
    """A user, an m2m application acting through its token, or None (manage.py, Latchkey itself)."""
    if actor is None:
        return {"actor_type": AuditEvent.ActorType.SYSTEM, "actor_id": "", "actor_label": "system"}
    if hasattr(actor, "client_id"):
        return {"actor_type": AuditEvent.ActorType.CLIENT, "actor_id": actor.client_id, "actor_label": actor.name}
    return {"actor_type": AuditEvent.ActorType.USER, "actor_id": str(actor.public_id), "actor_label": actor.email}


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """{field: {"old": …, "new": …}} for every field whose value differs (None for a side that is absent)."""
    before, after = before or {}, after or {}
    return {
        key: {"old": before.get(key), "new": after.get(key)}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


# What a record calls its target: the name people know it by (anything else: str(target)).
_LABELS: dict[str, Callable[[Any], str]] = {
    "application": attrgetter("name"),
    "api_resource": attrgetter("identifier"),
    "scope": attrgetter("name"),
    "user": attrgetter("email"),
    "role": attrgetter("name"),
    "signing_key": attrgetter("kid"),
}


def record(
    *,
    actor,
    action: str,
    target,
    target_label: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    extra: dict[str, dict[str, Any]] | None = None,
    only_if_changed: bool = False,
) -> AuditEvent | None:
    """Save one event: `action` is "<target type>.<verb>" (`application.updated`); the target's label
    comes from its type unless given. `extra` adds changes no state shows (a rotated secret, a new
    password). With `only_if_changed`, a write that changed nothing records nothing.
    """
    changes = {**diff(before, after), **(extra or {})}
    if only_if_changed and not changes:
        return None
    target_type = action.partition(".")[0]
    label = target_label or _LABELS.get(target_type, str)(target)
    return AuditEvent.objects.create(
        **actor_fields(actor),
        action=action,
        target_type=target_type,
        target_id=str(target.pk),
        target_label=label[:255],
        changes=changes,
    )


def _names(related) -> list[str]:
    return sorted(item.name for item in related.all())


def application_state(application) -> dict[str, Any]:
    from branding.models import Branding

    brand = Branding.objects.filter(application_id=application.pk).first()
    owner = application.owner
    return {
        "name": application.name,
        "description": application.description,
        "type": application.type,
        "client_id": application.client_id,
        "redirect_uris": application.redirect_uris.split(),
        "post_logout_redirect_uris": application.post_logout_redirect_uris.split(),
        "cors_origins": application.allowed_origins.split(),
        "allowed_scopes": _names(application.allowed_scopes),
        "access_token_ttl": application.access_token_ttl,
        "refresh_token_ttl": application.refresh_token_ttl,
        "id_token_ttl": application.id_token_ttl,
        "id_token_signed_response_alg": application.id_token_signed_response_alg,
        "refresh_token_rotation": application.refresh_token_rotation,
        "pkce_required": application.pkce_required,
        "auth_methods": list(application.auth_methods or []),
        "required_roles": _names(application.required_roles),
        "m2m_roles": _names(application.m2m_roles),
        "trusted": application.trusted,
        "owner": owner.email if owner else None,
        "is_active": application.is_active,
        "branding": (
            {"logo_url": brand.logo_url, "primary_color": brand.primary_color, "secondary_color": brand.secondary_color}
            if brand
            else None
        ),
    }


def api_resource_state(resource) -> dict[str, Any]:
    return {"identifier": resource.identifier, "name": resource.name, "scopes": _names(resource.scopes)}


def scope_state(scope) -> dict[str, Any]:
    return {
        "name": scope.name,
        "description": scope.description,
        "resource": scope.resource.identifier if scope.resource_id else None,
    }


def role_state(role) -> dict[str, Any]:
    return {"name": role.name, "description": role.description, "scopes": _names(role.scopes)}


def user_state(user) -> dict[str, Any]:
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
