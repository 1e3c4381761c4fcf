"""Webhook services: the rules they enforce, the secret once, rotation overlap, ping, redelivery, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from applications.events import services
from applications.events.models import Delivery, Webhook
from identity.models import AuditEvent
from tests.applications.events.factories import URL, make_delivery, make_webhook
from tests.applications.factories import make_application

pytestmark = pytest.mark.django_db


def test_webhook_create_deployment_wide_has_no_application():
    webhook, secret = make_webhook(None, event_types=["user.created"])
    assert webhook.application is None and webhook.signing_secrets() == [secret]


def test_webhook_create_refused_writes_nothing():
    with pytest.raises(ValidationError) as caught:
        services.webhook_create(actor=None, url="https://10.1.2.3/", event_types=["nope"])
    assert set(caught.value.message_dict) == {"url", "event_types"}
    assert not Webhook.objects.exists() and not AuditEvent.objects.exists()


def test_webhook_rotate_secret_previous_signs_during_overlap_then_stops():
    webhook, old = make_webhook(make_application()[0])
    new = services.webhook_rotate_secret(actor=None, webhook=webhook, overlap_seconds=600)
    webhook.refresh_from_db()
    assert webhook.signing_secrets() == [new, old]
    assert webhook.signing_secrets(now=timezone.now() + timedelta(seconds=601)) == [new]


def test_webhook_rotate_secret_zero_overlap_stops_the_old_one_at_once():
    webhook, old = make_webhook(None)
    services.webhook_rotate_secret(actor=None, webhook=webhook, overlap_seconds=600)
    newest = services.webhook_rotate_secret(actor=None, webhook=webhook, overlap_seconds=0)
    webhook.refresh_from_db()
    assert webhook.signing_secrets() == [newest]


def test_webhook_rotate_secret_audit_names_the_change_never_the_secret():
    webhook, old = make_webhook(None)
    new = services.webhook_rotate_secret(actor=None, webhook=webhook, overlap_seconds=60)
    for row in AuditEvent.objects.filter(target_type="webhook"):
        assert old not in str(row.changes) and new not in str(row.changes)
    assert AuditEvent.objects.get(action="webhook.secret_rotated").changes["secret"] == {
        "old": "[hidden]",
        "new": "[hidden]",
    }


def test_webhook_update_nothing_changed_records_no_audit_row():
    webhook, _ = make_webhook(None)
    services.webhook_update(actor=None, webhook=webhook, fields={"url": URL, "event_types": ["user.signed_in"]})
    assert not AuditEvent.objects.filter(action="webhook.updated").exists()


def test_webhook_update_unknown_field_is_refused():
    webhook, _ = make_webhook(None)
    with pytest.raises(ValidationError) as caught:
        services.webhook_update(actor=None, webhook=webhook, fields={"secret_encrypted": "x"})
    assert caught.value.message_dict == {"secret_encrypted": ["Unknown field."]}


def test_webhook_reenable_clears_reason_and_failures():
    webhook, _ = make_webhook(None)
    webhook.enabled, webhook.disabled_reason, webhook.consecutive_failures = False, "Too many failures.", 30
    webhook.save()
    services.webhook_update(actor=None, webhook=webhook, fields={"enabled": True})
    webhook.refresh_from_db()
    assert (webhook.enabled, webhook.disabled_reason, webhook.consecutive_failures) == (True, "", 0)


def test_delivery_redeliver_while_leased_is_refused():
    webhook, _ = make_webhook(None)
    delivery = make_delivery(webhook, state=Delivery.State.PENDING)
    Delivery.objects.filter(pk=delivery.pk).update(
        leased_by="worker-1", lease_expires_at=timezone.now() + timedelta(seconds=30)
    )
    with pytest.raises(ValidationError) as caught:
        services.delivery_redeliver(actor=None, delivery=delivery)
    assert "state" in caught.value.message_dict


def test_delivery_redeliver_after_expired_lease_takes_it_back():
    webhook, _ = make_webhook(None)
    delivery = make_delivery(webhook, state=Delivery.State.PENDING)
    Delivery.objects.filter(pk=delivery.pk).update(
        leased_by="worker-1", lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    redelivered = services.delivery_redeliver(actor=None, delivery=delivery)
    assert redelivered.leased_by == "" and redelivered.lease_expires_at is None
    assert redelivered.next_attempt_at <= timezone.now()
