"""Writes of the events package: recording an event (the outbox row)."""

from __future__ import annotations

from typing import Any

from applications.events.catalogue import EVENT_TYPES
from applications.events.models import Event


def event_record(*, type: str, application=None, payload: dict[str, Any]) -> Event:
    """Record one event in the caller's transaction (it commits or rolls back with the change it describes).

    The type must be in the catalogue and the payload's keys must be the ones it documents: a new
    field is added to the catalogue (and so to the docs) first.
    """
    spec = EVENT_TYPES.get(type)
    if spec is None:
        raise ValueError(f"{type!r} is not in the event catalogue")
    keys = set(payload)
    missing, unknown = set(spec.required) - keys, keys - set(spec.required) - set(spec.optional)
    if missing or unknown:
        raise ValueError(f"{type} payload: missing {sorted(missing)}, undocumented {sorted(unknown)}")
    if spec.application and application is None and type != "application.deleted":
        raise ValueError(f"{type} belongs to an application")
    return Event.objects.create(type=type, application=application, payload=payload)
