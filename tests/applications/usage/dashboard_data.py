"""Rows the dashboard reads, written as the flush, the outbox and the worker leave them (webhooks:
tests.applications.events.factories.make_receiving_webhook)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils import timezone

from applications.events.models import Delivery, Event, Webhook
from applications.usage.models import ActiveUser, UsageCount


def usage_counts(application, day: date, **metrics: int) -> None:
    """usage_counts(app, day, sign_ins=3, tokens__refresh_token=2): `__` stands for the metric's dot."""
    for metric, count in metrics.items():
        UsageCount.objects.create(application=application, day=day, metric=metric.replace("__", "."), count=count)


def active_users(application, day: date, users) -> None:
    ActiveUser.objects.bulk_create([ActiveUser(application=application, day=day, user=user) for user in users])


def make_event(application, *, type: str = "user.signed_in", occurred_at: datetime | None = None) -> Event:
    return Event.objects.create(
        application=application,
        type=type,
        occurred_at=occurred_at or timezone.now(),
        payload={"user_id": "1", "client_id": application.client_id, "method": "password"},
    )


def make_delivery(webhook: Webhook, event: Event, *, state: str, status_code: int | None = None, ago=None, **fields):
    created = timezone.now() - (ago or timedelta(0))
    done = state != Delivery.State.PENDING
    return Delivery.objects.create(
        webhook=webhook,
        event=event,
        state=state,
        last_status_code=status_code,
        attempts=fields.pop("attempts", 1),
        created_at=created,
        completed_at=created + timedelta(seconds=1) if done else None,
        **fields,
    )
