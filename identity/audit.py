"""The audit log: who (a user, a management client, or the system) changed what, and when.

Services call `record` inside the transaction of the write they record, so a change and its record
commit or roll back together. What a target looked like comes from its app's selectors
(`applications.selectors.application_state`, `identity.selectors.user_state`, ...), with the API's
field names; secrets and passwords are never in a state, only the fact they changed.
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
    target_type: str = "",
    target_id: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    extra: dict[str, dict[str, Any]] | None = None,
    only_if_changed: bool = False,
) -> AuditEvent | None:
    """Save one event: `action` is "<target type>.<verb>" (`application.updated`), unless `target_type`
    names another (`user.signed_in` targets the application); the target's label comes from its type
    unless given, and its id is its primary key unless given (the id the API knows it by, when that differs).
    `extra` adds changes no state shows (a rotated secret, a new
    password). With `only_if_changed`, a write that changed nothing records nothing.
    """
    changes = {**diff(before, after), **(extra or {})}
    if only_if_changed and not changes:
        return None
    target_type = target_type or action.partition(".")[0]
    label = target_label or _LABELS.get(target_type, str)(target)
    return AuditEvent.objects.create(
        **actor_fields(actor),
        action=action,
        target_type=target_type,
        target_id=target_id or str(target.pk),
        target_label=label[:255],
        changes=changes,
    )
