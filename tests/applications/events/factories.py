"""Webhooks, events and deliveries for tests, made through the services where one exists."""

from __future__ import annotations

from applications.events import services
from applications.events.models import Delivery, DeliveryAttempt, Webhook

URL = "https://hooks.example.com/latchkey"


def make_webhook(application=None, *, url: str = URL, event_types=("user.signed_in",), **fields) -> tuple[Webhook, str]:
    """A webhook and its secret (the one time it is shown)."""
    return services.webhook_create(
        actor=None, application=application, url=url, event_types=list(event_types), **fields
    )


def make_delivery(webhook: Webhook, *, state: str = Delivery.State.FAILED, attempts: int = 3) -> Delivery:
    """A delivery of a user.signed_in event as the worker would leave it, with its attempt log."""
    from applications.events.models import Event

    event = Event.objects.create(
        type="user.signed_in",
        application=webhook.application,
        payload={"user_id": "u1", "client_id": getattr(webhook.application, "client_id", ""), "method": "password"},
    )
    delivery = Delivery.objects.create(
        webhook=webhook, event=event, state=state, attempts=attempts, last_status_code=500, last_error="HTTP 500"
    )
    for _ in range(attempts):
        DeliveryAttempt.objects.create(delivery=delivery, status_code=500, latency_ms=12, error="HTTP 500")
    return delivery
