"""Sending deliveries: claim under a lease, send outside any transaction, record under the lease.

At least once, never lost: a worker claims a due delivery by writing its lease (`leased_by`, a token
unique to this claim, and `lease_expires_at`) and commits; only then does it send, with no
transaction or row lock held while the receiver takes its time. If the worker dies mid-send the row
is still pending, and once the lease runs out another worker claims and sends it again, with the same
`webhook-id`. The outcome is recorded only while the claim is still this worker's (`leased_by`
unchanged): a worker that was too slow and lost its lease records nothing, and the new holder's
outcome stands. Claims use `FOR UPDATE SKIP LOCKED` on PostgreSQL, so workers never block one another
or send one row twice at once; on SQLite the IMMEDIATE transaction serializes claims.

Retries: after a failed attempt the next one is due after the BACKOFF_SCHEDULE step for that attempt,
with jitter; after the last step the delivery is failed. A webhook whose attempts failed
LATCHKEY_WEBHOOK_DISABLE_AFTER times in a row (any success resets the count) is disabled, with an
audit row; its pending deliveries wait, unsent, until it is enabled again.
"""

from __future__ import annotations

import os
import random
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from applications.events import signing
from applications.events.models import Delivery, DeliveryAttempt, Webhook
from config import encryption, outbound
from identity import audit

# Seconds before attempt n+1 after attempt n failed (n = 1..len): about a day in all, then the delivery
# is failed. Each step is drawn between half and all of its value ("equal jitter"): deliveries that
# failed together (a receiver's outage) spread out when they retry, yet no step shrinks to nothing,
# so the schedule still spans 16 to 32 hours and a receiver down for most of a day loses nothing.
BACKOFF_SCHEDULE: tuple[int, ...] = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 57600)
MAX_ATTEMPTS = len(BACKOFF_SCHEDULE) + 1
EXCERPT_CHARS = 500
DISABLED_REASON = "Disabled after {count} consecutive failed deliveries."


def lease_seconds() -> int:
    return int(getattr(settings, "LATCHKEY_WEBHOOK_LEASE_SECONDS", 60))


def disable_after() -> int:
    return int(getattr(settings, "LATCHKEY_WEBHOOK_DISABLE_AFTER", 20))


def backoff_delay(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt (1-based), jitter included."""
    base = BACKOFF_SCHEDULE[min(attempts, len(BACKOFF_SCHEDULE)) - 1]
    return timedelta(seconds=(rng or random).uniform(base / 2, base))


def new_worker_name() -> str:
    """Who holds a lease, for people reading the table: host, process and a random part."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Outcome:
    """What one attempt did, for the worker's log line (ids and type only: never the payload or URL)."""

    delivery_id: int
    webhook_id: int
    event_id: str
    event_type: str
    attempt: int
    succeeded: bool
    status_code: int | None
    error: str
    latency_ms: int
    state: str
    next_attempt_at: datetime | None
    recorded: bool
    webhook_disabled: bool = False


def _due(now: datetime) -> Q:
    return Q(state=Delivery.State.PENDING, next_attempt_at__lte=now, webhook__enabled=True) & (
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
    )


def delivery_claim(*, worker: str, now: datetime | None = None) -> Delivery | None:
    """Lease the delivery due longest (committed before returning), or None when nothing is due."""
    now = now or timezone.now()
    if not Delivery.objects.filter(_due(now)).exists():  # idle: no write transaction
        return None
    lease = f"{worker}/{secrets.token_hex(4)}"[:100]
    with transaction.atomic():
        # of=("self",): lock the delivery only, so claims of two deliveries of one webhook do not collide.
        delivery = (
            Delivery.objects.filter(_due(now))
            .select_related("webhook", "event__application")
            .order_by("next_attempt_at", "id")
            .select_for_update(skip_locked=True, of=("self",))
            .first()
        )
        if delivery is None:
            return None
        delivery.leased_by, delivery.lease_expires_at = lease, now + timedelta(seconds=lease_seconds())
        Delivery.objects.filter(pk=delivery.pk).update(
            leased_by=delivery.leased_by, lease_expires_at=delivery.lease_expires_at
        )
    return delivery


def _send(delivery: Delivery) -> tuple[int | None, str, str, int]:
    """One HTTP attempt: (status code, error, response excerpt, latency ms). Never raises."""
    sent_at = timezone.now()
    try:
        body, headers = signing.signed_request(event=delivery.event, webhook=delivery.webhook, now=sent_at)
    except encryption.InvalidToken:
        return None, "The signing secret cannot be decrypted with this server's keys; rotate it.", "", 0
    except ValueError:  # a stored secret that is not base64 (binascii.Error): one bad row must not stop the worker
        return None, "The signing secret is not a valid whsec_ secret; rotate it.", "", 0
    started = time.monotonic()
    try:
        response = outbound.fetch("POST", delivery.webhook.url, headers=headers, data=body, follow_redirects=False)
    except outbound.OutboundError as exc:
        return None, exc.reason[:EXCERPT_CHARS], "", round((time.monotonic() - started) * 1000)
    latency_ms = round((time.monotonic() - started) * 1000)
    excerpt = response.content[: EXCERPT_CHARS * 4].decode("utf-8", "replace")[:EXCERPT_CHARS]
    status = response.status_code
    if 200 <= status < 300:
        error = ""
    elif 300 <= status < 400:
        error = "redirect not followed"
    else:
        error = f"HTTP {status}"
    return status, error, excerpt, latency_ms


def delivery_attempt(*, delivery: Delivery, now: datetime | None = None, rng: random.Random | None = None) -> Outcome:
    """Send a claimed delivery once and record the outcome, if the claim is still ours."""
    attempted_at = now or timezone.now()
    status, error, excerpt, latency_ms = _send(delivery)
    now = now or timezone.now()
    succeeded = not error
    attempt = delivery.attempts + 1
    if succeeded:
        changes = {"state": Delivery.State.SUCCEEDED, "completed_at": now}
        next_at = None
    elif attempt >= MAX_ATTEMPTS:
        changes = {"state": Delivery.State.FAILED, "completed_at": now}
        next_at = None
    else:
        next_at = now + backoff_delay(attempt, rng=rng)
        changes = {"next_attempt_at": next_at}
    webhook = delivery.webhook
    disabled = False
    with transaction.atomic():
        recorded = Delivery.objects.filter(
            pk=delivery.pk, leased_by=delivery.leased_by, state=Delivery.State.PENDING
        ).update(
            **changes,
            attempts=attempt,
            last_status_code=status,
            last_error=error,
            leased_by="",
            lease_expires_at=None,
        )
        if recorded:
            DeliveryAttempt.objects.create(
                delivery=delivery,
                attempted_at=attempted_at,
                status_code=status,
                latency_ms=latency_ms,
                error=error,
                response_excerpt=excerpt,
                succeeded=succeeded,
            )
            if succeeded:
                Webhook.objects.filter(pk=webhook.pk, consecutive_failures__gt=0).update(consecutive_failures=0)
            else:
                disabled = _count_failure(webhook=webhook, now=now)
    return Outcome(
        delivery_id=delivery.pk,
        webhook_id=webhook.pk,
        event_id=delivery.event.public_id,
        event_type=delivery.event.type,
        attempt=attempt,
        succeeded=succeeded,
        status_code=status,
        error=error,
        latency_ms=latency_ms,
        state=changes.get("state", Delivery.State.PENDING),
        next_attempt_at=next_at,
        recorded=bool(recorded),
        webhook_disabled=disabled,
    )


def _count_failure(*, webhook: Webhook, now: datetime) -> bool:
    """Count a failed attempt; disable the webhook (audited, once) at the threshold. True if it did."""
    Webhook.objects.filter(pk=webhook.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    threshold = disable_after()
    if threshold < 1:
        return False
    reason = DISABLED_REASON.format(count=threshold)
    # The conditional UPDATE decides, so of two workers failing at once only one disables and audits.
    disabled = Webhook.objects.filter(pk=webhook.pk, enabled=True, consecutive_failures__gte=threshold).update(
        enabled=False, disabled_reason=reason, updated_at=now
    )
    if disabled:
        audit.record(
            actor=None,
            action="webhook.disabled",
            target=webhook,
            target_type="webhook",
            target_label=webhook.url,
            extra={"enabled": {"old": True, "new": False}, "disabled_reason": {"old": "", "new": reason}},
        )
    return bool(disabled)


def deliveries_send_due(
    *,
    worker: str,
    limit: int | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Claim and send due deliveries one at a time until none is due, `limit` is reached or `should_stop()`.

    One at a time, so a lease never has to outlast more than one attempt.
    """
    outcomes: list[Outcome] = []
    while (limit is None or len(outcomes) < limit) and not should_stop():
        delivery = delivery_claim(worker=worker)
        if delivery is None:
            break
        outcome = delivery_attempt(delivery=delivery)
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes
