"""The outbox relay: new events become delivery rows, one per webhook that wants each event.

One transaction per batch claims the oldest undispatched events, creates their deliveries and sets
`dispatched_at`, so an event is fanned out completely or not at all. On PostgreSQL the events are
claimed with `FOR UPDATE SKIP LOCKED`, so several workers relay side by side without waiting on or
repeating each other; on SQLite the IMMEDIATE transaction (config/settings/base.py) serializes them.
Should a relay ever run twice over one event, the unique (webhook, event) constraint and
`ignore_conflicts` keep a single delivery.

Who gets what: a webhook of an application gets the events of that application whose type it lists;
a deployment-wide webhook (application None) gets every event whose type it lists. `webhook.ping` is
never sent by subscription: the ping service creates its one delivery and marks the event dispatched
itself; one left undispatched is only marked here.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from applications.events.models import Delivery, Event, Webhook

DEFAULT_BATCH_SIZE = 100
NOT_SUBSCRIBABLE = frozenset({"webhook.ping"})


def webhook_wants(webhook: Webhook, event: Event) -> bool:
    if event.type in NOT_SUBSCRIBABLE or event.type not in (webhook.event_types or []):
        return False
    return webhook.application_id is None or webhook.application_id == event.application_id


def events_relay(*, batch_size: int = DEFAULT_BATCH_SIZE, now: datetime | None = None) -> int:
    """Fan out one batch of undispatched events, oldest first; returns how many events it dispatched."""
    now = now or timezone.now()
    if not Event.objects.filter(dispatched_at__isnull=True).exists():  # idle: no write transaction
        return 0
    with transaction.atomic():
        # Ignored on SQLite, where the IMMEDIATE transaction already holds the write lock.
        events = list(
            Event.objects.filter(dispatched_at__isnull=True)
            .order_by("id")
            .select_for_update(skip_locked=True)[:batch_size]
        )
        if not events:
            return 0
        application_ids = {event.application_id for event in events if event.application_id is not None}
        webhooks = list(
            Webhook.objects.filter(enabled=True).filter(
                Q(application__isnull=True) | Q(application_id__in=application_ids)
            )
        )
        deliveries = [
            Delivery(webhook=webhook, event=event, next_attempt_at=now, created_at=now)
            for event in events
            for webhook in webhooks
            if webhook_wants(webhook, event)
        ]
        Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
        Event.objects.filter(pk__in=[event.pk for event in events]).update(dispatched_at=now)
    return len(events)
