"""Webhooks, events and deliveries for tests, made through the services where one exists."""

from __future__ import annotations

from applications.events import services
from applications.events.catalogue import SUBSCRIBABLE
from applications.events.models import Delivery, DeliveryAttempt, Event, Webhook
from applications.events.services import event_record
from applications.events.signing import new_signing_secret

URL = "https://hooks.example.com/latchkey"


def make_webhook(application=None, *, url: str = URL, event_types=("user.signed_in",), **fields) -> tuple[Webhook, str]:
    """A webhook and its secret (the one time it is shown)."""
    return services.webhook_create(
        actor=None, application=application, url=url, event_types=list(event_types), **fields
    )


def make_delivery(webhook: Webhook, *, state: str = Delivery.State.FAILED, attempts: int = 3) -> Delivery:
    """A delivery of a user.signed_in event as the worker would leave it, with its attempt log."""
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


def make_receiving_webhook(
    *, url: str, application=None, event_types=SUBSCRIBABLE, secret: str | None = None, **fields
) -> tuple[Webhook, str]:
    """A webhook saved on the model directly (the URL rules are not applied: the delivery tests point it
    anywhere, since the guard at delivery is what they test), subscribed to everything by default, and its secret."""
    secret = secret or new_signing_secret()
    webhook = Webhook(application=application, url=url, event_types=list(event_types), **fields)
    webhook.set_secret(secret)
    webhook.save()
    return webhook, secret


def make_event(*, application=None, user_id: str = "usr_1") -> Event:
    """A `user.signed_in` of `application`, or a deployment-wide `user.created` without one."""
    if application is None:
        return event_record(type="user.created", payload={"user_id": user_id})
    return event_record(
        type="user.signed_in",
        application=application,
        payload={"user_id": user_id, "client_id": application.client_id, "method": "password"},
    )
