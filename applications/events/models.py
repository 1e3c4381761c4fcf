"""Events (the transactional outbox), webhooks, and the delivery rows webhooks are sent from.

An `Event` is written by a service in the same transaction as the change it describes, so a change
and its event commit or roll back together. The worker (`manage.py events worker`) fans each new
event out into one `Delivery` per webhook that wants it (`dispatched_at` marks the event done) and
sends deliveries under a lease, logging each `DeliveryAttempt`. Nothing here is ever deleted by a
read; retention is the cleanup command's job.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from config import encryption

SECRET_ENCRYPTION_PURPOSE = "latchkey.webhook-secret"


def new_event_id() -> str:
    """The event's stable public id: the `webhook-id` of every delivery of it, so receivers can dedupe."""
    return f"evt_{secrets.token_urlsafe(18)}"


class Event(models.Model):
    public_id = models.CharField(max_length=40, unique=True, default=new_event_id, editable=False)
    type = models.CharField(max_length=64, db_index=True, editable=False)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    # The application the event belongs to (None: a deployment-wide event such as user.created). Kept
    # as SET_NULL so application.deleted outlives its application; the payload carries the client_id.
    application = models.ForeignKey(
        "applications.Application", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    # Ids, never profiles, secrets or tokens (applications.events.catalogue documents each type).
    payload = models.JSONField(default=dict, blank=True, editable=False)
    # Set when the worker has created this event's deliveries (the outbox relay's cursor).
    dispatched_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["dispatched_at", "id"], name="events_event_undispatched")]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"


class Webhook(models.Model):
    """A URL that receives signed events: of one application, or deployment-wide (application None)."""

    application = models.ForeignKey(
        "applications.Application", null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=255, blank=True, default="")
    # Event type names from the catalogue; at least one.
    event_types = models.JSONField(default=list)
    enabled = models.BooleanField(default=True)
    # Why it was disabled by Latchkey (too many consecutive failures), "" when an admin did it or it is on.
    disabled_reason = models.CharField(max_length=255, blank=True, default="")
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    # The signing secret (`whsec_…`), encrypted at rest: it must be read back to sign.
    secret_encrypted = models.TextField(editable=False)
    # After a rotation the previous secret also signs until `previous_secret_expires_at`.
    previous_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["application_id", "pk"]

    def __str__(self) -> str:
        return self.url

    # --- secrets: write-only outside this model -------------------------------------------------------

    def set_secret(self, plaintext: str) -> None:
        self.secret_encrypted = encryption.encrypt(plaintext.encode(), purpose=SECRET_ENCRYPTION_PURPOSE)

    def signing_secrets(self, *, now=None) -> list[str]:
        """The secrets each delivery is signed with: the current one, and the previous during its overlap."""
        now = now or timezone.now()
        found = [encryption.decrypt(self.secret_encrypted, purpose=SECRET_ENCRYPTION_PURPOSE).decode()]
        if self.previous_secret_encrypted and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            found.append(encryption.decrypt(self.previous_secret_encrypted, purpose=SECRET_ENCRYPTION_PURPOSE).decode())
        return found


class Delivery(models.Model):
    """One event to one webhook, delivered at least once. The row is the queue entry: the worker that
    holds the lease sends it; when a lease runs out (a worker died) another worker takes the row."""

    class State(models.TextChoices):
        PENDING = "pending", "pending"  # waiting for next_attempt_at (first attempt or a retry)
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"  # gave up after the last retry, or the webhook was disabled/deleted

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker's claim: until lease_expires_at no other worker sends this row.
    leased_by = models.CharField(max_length=100, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["webhook", "event"], name="events_one_delivery_per_webhook")]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="events_delivery_due")]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook}"


class DeliveryAttempt(models.Model):
    """The log of one HTTP attempt: what came back (or why nothing did), and how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True, default="")
    # The start of the response body, for the admin to see what the receiver said.
    response_excerpt = models.CharField(max_length=500, blank=True, default="")
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["-attempted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status_code or self.error}"
