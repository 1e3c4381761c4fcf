"""What `manage.py events prune` deletes: events past the retention, with their deliveries and attempt logs.

An event is kept, however old, while it still has to be delivered: not yet relayed (`dispatched_at`
unset: a worker has not seen it), or with a delivery still pending (retrying, or waiting for its
disabled webhook to be enabled again). Deleting an event deletes its deliveries and their attempts
(CASCADE). Deletes run in short batches, each its own transaction, as in applications.token_cleanup.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from applications.events.models import Delivery, Event

DEFAULT_BATCH_SIZE = 500


def retention_days() -> int:
    return int(getattr(settings, "LATCHKEY_EVENT_RETENTION_DAYS", 30))


def _prunable(cutoff: datetime) -> Q:
    pending = Delivery.objects.filter(event=OuterRef("pk"), state=Delivery.State.PENDING)
    return Q(occurred_at__lt=cutoff, dispatched_at__isnull=False) & ~Q(Exists(pending))


def events_prune(
    *, days: int | None = None, batch_size: int = DEFAULT_BATCH_SIZE, dry_run: bool = False, now: datetime | None = None
) -> int:
    """Delete (or with `dry_run` count) the events older than `days` that nothing waits on; returns the count."""
    days = retention_days() if days is None else days
    if days < 1 or batch_size < 1:
        raise ValueError("days and batch_size must be at least 1")
    condition = _prunable((now or timezone.now()) - timedelta(days=days))
    if dry_run:
        return Event.objects.filter(condition).count()
    deleted, last_pk = 0, 0
    while True:
        pks = list(
            Event.objects.filter(condition, pk__gt=last_pk).order_by("pk").values_list("pk", flat=True)[:batch_size]
        )
        if not pks:
            return deleted
        last_pk = pks[-1]
        with transaction.atomic():  # the condition again: a delivery created since stays with its event
            _, per_model = Event.objects.filter(condition, pk__in=pks).delete()
        deleted += per_model.get(Event._meta.label, 0)
