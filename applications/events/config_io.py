"""Webhooks in `config export/import` (applications.config_io): an application entry's `webhooks`
list, and the top-level `webhooks` section for deployment-wide ones.

Export writes each webhook's url, event_types, description and enabled: never its secret (nor its
failure count, which belongs to this environment). Import matches webhooks by (application, url):
- a listed webhook that exists is updated with the fields given (its secret is kept);
- a new one is created with a fresh signing secret, which `config import` prints once (a dry run says
  one would be issued);
- a webhook the file does not list is left alone, like every other object the file does not name
  (remove it in the admin console or the API, which keeps its delivery history until then).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from rest_framework import serializers

from applications.events import services
from applications.events.api.serializers import WebhookWriteSerializer
from applications.events.models import Webhook

FIELDS = ("url", "event_types", "description", "enabled")


def webhook_config(webhook: Webhook) -> dict[str, Any]:
    return {
        "url": webhook.url,
        "event_types": list(webhook.event_types or []),
        "description": webhook.description,
        "enabled": webhook.enabled,
    }


def webhooks_config(application) -> list[dict[str, Any]]:
    """Sorted here, so an export that prefetched `webhooks` makes no query per application."""
    return [webhook_config(w) for w in sorted(application.webhooks.all(), key=lambda w: (w.url, w.pk))]


def deployment_webhooks_config() -> list[dict[str, Any]]:
    webhooks = Webhook.objects.filter(application__isnull=True)
    return [webhook_config(w) for w in sorted(webhooks, key=lambda w: (w.url, w.pk))]


def webhook_config_of(application, url: str) -> dict[str, Any] | None:
    webhook = Webhook.objects.filter(application=application, url=url).order_by("pk").first()
    return webhook_config(webhook) if webhook else None


def webhook_import(application, entry: Any, *, prefix: str = "") -> tuple[str, str | None]:
    """Create or update the webhook `entry` describes; returns (action, new secret or None).

    `action` is "create", "update" or "unchanged". Errors are named `<prefix><field>`.
    """
    if not isinstance(entry, dict):
        raise ValidationError({prefix.rstrip(".") or "webhooks": ["Give a mapping with url and event_types."]})
    url = entry.get("url")
    existing = None
    if isinstance(url, str):
        existing = Webhook.objects.filter(application=application, url=url.strip()).order_by("pk").first()
    serializer = WebhookWriteSerializer(data=entry, partial=existing is not None)
    try:
        serializer.is_valid(raise_exception=True)
    except serializers.ValidationError as exc:
        raise ValidationError(
            {f"{prefix}{field}": [str(p) for p in problems] for field, problems in serializer.errors.items()}
        ) from exc
    data = dict(serializer.validated_data)
    try:
        if existing is None:
            _, secret = services.webhook_create(actor=None, application=application, **data)
            return "create", secret
        before = webhook_config(existing)
        if {**before, **data} == before:
            return "unchanged", None
        services.webhook_update(actor=None, webhook=existing, fields=data)
        return "update", None
    except ValidationError as exc:
        raise ValidationError({f"{prefix}{field}": problems for field, problems in exc.message_dict.items()}) from exc


def webhooks_import(application, entries: Any) -> list[tuple[str, str]]:
    """An application entry's `webhooks`; returns (url, secret) of each webhook created."""
    if not isinstance(entries, list):
        raise ValidationError({"webhooks": ["Give a list of webhooks."]})
    urls = [e.get("url", "").strip() for e in entries if isinstance(e, dict) and isinstance(e.get("url"), str)]
    if twice := sorted({u for u in urls if urls.count(u) > 1}):
        raise ValidationError({"webhooks": [f"{u} is listed twice." for u in twice]})
    created = []
    for index, entry in enumerate(entries):
        _, secret = webhook_import(application, entry, prefix=f"webhooks.{index}.")
        if secret:
            created.append((entry["url"].strip(), secret))
    return created
