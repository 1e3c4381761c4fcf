"""The rules of webhooks, in one place: the API, the admin and config import all save through
applications.events.services, which asks `webhook_errors` before every write.

- the URL is one the outbound-request guard would call (config.outbound.check_url): https outside
  development (LATCHKEY_OUTBOUND_ALLOW_PRIVATE), no user:password@, and a host that is an address may
  not be loopback, private, link-local, metadata or an IPv4-mapped one of those. A host name is
  resolved (and checked again) only when a delivery is sent, so a name that later points inward is
  still refused then;
- event_types: at least one, each a subscribable type of the catalogue (not webhook.ping, which is
  sent to one webhook on request);
- one webhook per URL per application (and one per URL deployment-wide): config import matches webhooks
  by (application, url), and two rows sending the same events to the same place would send each twice;
- a secret rotation keeps the previous secret signing for 0 … MAX_ROTATION_OVERLAP seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError

from applications.events.catalogue import SUBSCRIBABLE
from config import outbound

if TYPE_CHECKING:
    from applications.events.models import Webhook

URL_MAX = 2000
DEFAULT_ROTATION_OVERLAP = 24 * 3600
MAX_ROTATION_OVERLAP = 7 * 24 * 3600


def url_problem(url: Any) -> str | None:
    if not isinstance(url, str) or not url.strip():
        return "Give the URL that receives the events."
    if len(url) > URL_MAX:
        return f"The URL must be at most {URL_MAX} characters."
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "The URL must not contain spaces or control characters."
    try:
        outbound.check_url(url)
    except outbound.OutboundRefused as refused:
        return refused.reason
    return None


def event_types_problems(event_types: Any) -> list[str]:
    if not isinstance(event_types, list | tuple) or not all(isinstance(t, str) for t in event_types):
        return ["Give a list of event type names."]
    if not event_types:
        return ["Subscribe to at least one event type."]
    unknown = [t for t in event_types if t not in SUBSCRIBABLE]
    if unknown:
        return [
            f"Unknown event type {t!r}; use one of {', '.join(SUBSCRIBABLE)} (GET /api/events/types)." for t in unknown
        ]
    return []


def normalize_event_types(event_types: list[str]) -> list[str]:
    """Stored in catalogue order without repeats, so two equal subscriptions compare equal."""
    wanted = set(event_types)
    return [name for name in SUBSCRIBABLE if name in wanted]


def rotation_overlap_problem(overlap_seconds: Any) -> str | None:
    if isinstance(overlap_seconds, bool) or not isinstance(overlap_seconds, int):
        return "Give a whole number of seconds."
    if not 0 <= overlap_seconds <= MAX_ROTATION_OVERLAP:
        return f"Give 0 to {MAX_ROTATION_OVERLAP} seconds (7 days)."
    return None


def webhook_errors(webhook: Webhook) -> dict[str, list[ValidationError]]:
    """Field → problems of `webhook` as it would be saved (empty: it may be)."""
    errors: dict[str, list[ValidationError]] = {}
    if problem := url_problem(webhook.url):
        errors["url"] = [ValidationError(problem, code="invalid")]
    if problems := event_types_problems(webhook.event_types):
        errors["event_types"] = [ValidationError(p, code="invalid") for p in problems]
    if len(webhook.description or "") > 255:
        errors["description"] = [ValidationError("At most 255 characters.", code="max_length")]
    if errors:
        return errors
    from applications.events.models import Webhook

    same = Webhook.objects.filter(application_id=webhook.application_id, url=webhook.url).exclude(pk=webhook.pk)
    if same.exists():
        owner = "This application" if webhook.application_id else "The deployment"
        errors["url"] = [ValidationError(f"{owner} already has a webhook for this URL.", code="unique")]
    return errors
