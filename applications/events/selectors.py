"""Reads of webhooks, deliveries and events (the API, the admin and the dashboard use these)."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from applications.events.models import Delivery, DeliveryAttempt, Event, Webhook


def webhook_state(webhook: Webhook) -> dict[str, Any]:
    """A webhook as audit records show it: never its secret (a rotation is recorded as SECRET_CHANGED)."""
    return {
        "url": webhook.url,
        "description": webhook.description,
        "event_types": list(webhook.event_types or []),
        "enabled": webhook.enabled,
        "disabled_reason": webhook.disabled_reason,
    }


def with_last_delivery(webhooks: QuerySet[Webhook]) -> QuerySet[Webhook]:
    """Each webhook annotated with its latest delivery's state, status, error, attempts and times (one query)."""
    latest = Delivery.objects.filter(webhook=OuterRef("pk")).order_by("-created_at", "-id")
    return webhooks.annotate(
        last_delivery_state=Subquery(latest.values("state")[:1]),
        last_delivery_status_code=Subquery(latest.values("last_status_code")[:1]),
        last_delivery_error=Subquery(latest.values("last_error")[:1]),
        last_delivery_attempts=Subquery(latest.values("attempts")[:1]),
        last_delivery_at=Subquery(latest.values("created_at")[:1]),
        last_delivery_completed_at=Subquery(latest.values("completed_at")[:1]),
    )


def webhooks_of(application) -> QuerySet[Webhook]:
    """The webhooks of an application, or the deployment-wide ones for None; with their last delivery."""
    webhooks = (
        Webhook.objects.filter(application=application)
        if application
        else Webhook.objects.filter(application__isnull=True)
    )
    return with_last_delivery(webhooks.select_related("application").order_by("pk"))


def deliveries_of(webhook: Webhook) -> QuerySet[Delivery]:
    """The webhook's deliveries, latest first, each with its event and attempt log (latest first)."""
    return (
        Delivery.objects.filter(webhook=webhook)
        .select_related("event")
        .prefetch_related(Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("-attempted_at", "-id")))
        .order_by("-created_at", "-id")
    )


def recent_events(application, *, limit: int = 20) -> list[Event]:
    return list(
        Event.objects.filter(application=application)
        .only("public_id", "type", "occurred_at", "application_id")
        .order_by("-occurred_at", "-id")[:limit]
    )
