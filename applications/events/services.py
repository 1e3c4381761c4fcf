"""Writes of the events package: recording an event (the outbox row), and managing webhooks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from applications.events import policies, selectors
from applications.events.catalogue import EVENT_TYPES
from applications.events.models import Delivery, Event, Webhook
from applications.events.signing import new_signing_secret
from identity import audit

# Types that may be recorded without an application although they usually have one: application.deleted
# (its application is gone) and webhook.ping (sent to a deployment-wide webhook).
_APPLICATION_OPTIONAL = frozenset({"application.deleted", "webhook.ping"})


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
    if spec.application and application is None and type not in _APPLICATION_OPTIONAL:
        raise ValueError(f"{type} belongs to an application")
    return Event.objects.create(type=type, application=application, payload=payload)


# --- webhooks ----------------------------------------------------------------------------------------
# Each write checks applications.events.policies and is audited in its transaction (target "webhook",
# labelled with its URL). The signing secret is returned to the caller once and never audited.

WRITABLE = ("url", "event_types", "description", "enabled")


def _check(webhook: Webhook) -> None:
    errors = policies.webhook_errors(webhook)
    if errors:
        raise ValidationError(errors)


def _apply(webhook: Webhook, fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(WRITABLE)
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
    if "url" in fields:
        webhook.url = fields["url"].strip() if isinstance(fields["url"], str) else fields["url"]
    if "event_types" in fields:
        types = fields["event_types"]
        ok = isinstance(types, list | tuple) and not policies.event_types_problems(list(types))
        webhook.event_types = policies.normalize_event_types(list(types)) if ok else types
    if "description" in fields:
        webhook.description = (fields["description"] or "").strip()
    if "enabled" in fields:
        enabled = bool(fields["enabled"])
        if enabled and not webhook.enabled:
            # Switched back on: it starts afresh, whatever (or whoever) switched it off.
            webhook.disabled_reason, webhook.consecutive_failures = "", 0
        webhook.enabled = enabled


def _audit(*, actor, action: str, webhook: Webhook, **kwargs) -> None:
    audit.record(actor=actor, action=action, target=webhook, target_type="webhook", target_label=webhook.url, **kwargs)


def webhook_create(
    *,
    actor,
    application=None,
    url: str,
    event_types: list[str],
    description: str = "",
    enabled: bool = True,
) -> tuple[Webhook, str]:
    """A new webhook of `application` (None: deployment-wide) and its signing secret, returned only here."""
    webhook = Webhook(application=application)
    _apply(webhook, {"url": url, "event_types": event_types, "description": description, "enabled": enabled})
    _check(webhook)
    secret = new_signing_secret()
    webhook.set_secret(secret)
    with transaction.atomic():
        webhook.save()
        _audit(
            actor=actor,
            action="webhook.created",
            webhook=webhook,
            after=selectors.webhook_state(webhook),
            extra={"secret": audit.SECRET_CHANGED},
        )
    return webhook, secret


def webhook_update(*, actor, webhook: Webhook, fields: dict[str, Any]) -> Webhook:
    """Change `fields` (url, event_types, description, enabled); re-enabling clears the failure count."""
    before = selectors.webhook_state(webhook)
    _apply(webhook, fields)
    _check(webhook)
    with transaction.atomic():
        webhook.save()
        _audit(
            actor=actor,
            action="webhook.updated",
            webhook=webhook,
            before=before,
            after=selectors.webhook_state(webhook),
            only_if_changed=True,
        )
    return webhook


def webhook_delete(*, actor, webhook: Webhook) -> None:
    """Its deliveries (pending ones too) go with it."""
    with transaction.atomic():
        _audit(actor=actor, action="webhook.deleted", webhook=webhook, before=selectors.webhook_state(webhook))
        webhook.delete()


def webhook_rotate_secret(*, actor, webhook: Webhook, overlap_seconds: int = policies.DEFAULT_ROTATION_OVERLAP) -> str:
    """A new signing secret, returned once; the previous one keeps signing (both signatures are sent)
    for `overlap_seconds`, so receivers can switch without dropping a delivery. 0: it stops at once.
    At most two secrets sign: rotating again during an overlap retires the oldest at once."""
    if problem := policies.rotation_overlap_problem(overlap_seconds):
        raise ValidationError({"overlap_seconds": [problem]})
    secret = new_signing_secret()
    with transaction.atomic():
        if overlap_seconds:
            webhook.previous_secret_encrypted = webhook.secret_encrypted
            webhook.previous_secret_expires_at = timezone.now() + timedelta(seconds=overlap_seconds)
        else:
            webhook.previous_secret_encrypted, webhook.previous_secret_expires_at = "", None
        webhook.set_secret(secret)
        webhook.save()
        _audit(
            actor=actor,
            action="webhook.secret_rotated",
            webhook=webhook,
            extra={
                "secret": audit.SECRET_CHANGED,
                "previous_secret_expires_at": {
                    "old": None,
                    "new": webhook.previous_secret_expires_at.isoformat() if overlap_seconds else None,
                },
            },
        )
    return secret


def _refuse_if_disabled(webhook: Webhook) -> None:
    if not webhook.enabled:
        raise ValidationError(
            {"enabled": ["The webhook is disabled: enable it first (nothing is sent to a disabled webhook)."]},
            code="disabled",
        )


def webhook_ping(*, actor, webhook: Webhook) -> Delivery:
    """A `webhook.ping` event for this webhook alone: its one delivery is made here and the event is
    marked dispatched, so the relay never fans it out to other webhooks."""
    _refuse_if_disabled(webhook)
    with transaction.atomic():
        now = timezone.now()
        event = event_record(type="webhook.ping", application=webhook.application, payload={"webhook_id": webhook.pk})
        event.dispatched_at = now
        event.save(update_fields=["dispatched_at"])
        delivery = Delivery.objects.create(webhook=webhook, event=event, next_attempt_at=now, created_at=now)
        _audit(actor=actor, action="webhook.pinged", webhook=webhook, after={"event": event.public_id})
    return delivery


def delivery_redeliver(*, actor, delivery: Delivery) -> Delivery:
    """Send a delivery again, now: pending with a fresh retry schedule (attempts 0), its attempt log kept
    and the same event, so the receiver sees the same webhook-id and can tell it is a repeat."""
    _refuse_if_disabled(delivery.webhook)
    with transaction.atomic():
        locked = Delivery.objects.select_for_update().select_related("webhook", "event").get(pk=delivery.pk)
        now = timezone.now()
        if locked.state == Delivery.State.PENDING and locked.lease_expires_at and locked.lease_expires_at > now:
            raise ValidationError(
                {"state": ["A worker is sending this delivery right now; wait for its attempt to finish."]},
                code="in_flight",
            )
        before = {"state": locked.state, "attempts": locked.attempts}
        locked.state, locked.attempts, locked.next_attempt_at = Delivery.State.PENDING, 0, now
        locked.leased_by, locked.lease_expires_at, locked.completed_at = "", None, None
        locked.save(
            update_fields=["state", "attempts", "next_attempt_at", "leased_by", "lease_expires_at", "completed_at"]
        )
        _audit(
            actor=actor,
            action="webhook.redelivered",
            webhook=locked.webhook,
            before={**before, "event": locked.event.public_id},
            after={"state": locked.state, "attempts": 0, "event": locked.event.public_id},
        )
    return locked
