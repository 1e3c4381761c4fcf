"""Webhooks and events for the delivery tests, made directly (the webhook services are tested on their own)."""

from __future__ import annotations

from applications.events.catalogue import SUBSCRIBABLE
from applications.events.models import Event, Webhook
from applications.events.services import event_record
from applications.events.signing import new_signing_secret


def make_webhook(
    *, url: str, application=None, event_types=SUBSCRIBABLE, enabled: bool = True, secret: str | None = None
) -> tuple[Webhook, str]:
    """A saved webhook and its plaintext signing secret."""
    secret = secret or new_signing_secret()
    webhook = Webhook(application=application, url=url, event_types=list(event_types), enabled=enabled)
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
