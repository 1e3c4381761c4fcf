"""Delivery to a real receiver on 127.0.0.1: signatures, retries, the lease, the guard, auto-disable."""

from __future__ import annotations

import ipaddress
import random
import socket
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from applications.events import delivery
from applications.events.models import Delivery, DeliveryAttempt, Webhook
from applications.events.relay import events_relay
from identity.models import AuditEvent
from tests.applications.events.factories import make_event, make_receiving_webhook
from tests.applications.factories import make_application


def run_worker() -> None:
    call_command("events", "worker", "--once")


def make_due_again() -> None:
    """Time passes: every retry is due now."""
    Delivery.objects.filter(state=Delivery.State.PENDING).update(next_attempt_at=timezone.now())


@pytest.mark.django_db
def test_worker_once_delivers_signed_event_that_the_receiver_verifies(receiver):
    application, _ = make_application(type="web")
    webhook, secret = make_receiving_webhook(url=receiver.url(), application=application)
    receiver.secrets = [secret]
    event = make_event(application=application)

    run_worker()

    [got] = receiver.requests
    assert got.error == ""
    assert got.verified == {
        "id": event.public_id,
        "type": "user.signed_in",
        "timestamp": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "application": {"client_id": application.client_id},
        "data": {"user_id": "usr_1", "client_id": application.client_id, "method": "password"},
    }
    assert got.headers["webhook-id"] == event.public_id
    assert got.path == "/hook"
    sent = Delivery.objects.get(webhook=webhook, event=event)
    assert (sent.state, sent.attempts, sent.last_status_code, sent.leased_by) == ("succeeded", 1, 200, "")
    [attempt] = sent.attempt_log.all()
    assert (attempt.succeeded, attempt.status_code, attempt.response_excerpt) == (True, 200, "answer 200")


@pytest.mark.django_db
def test_worker_during_rotation_overlap_sends_both_signatures_each_verifying(receiver):
    from applications.events.models import SECRET_ENCRYPTION_PURPOSE
    from applications.events.signing import new_signing_secret
    from config import encryption

    webhook, new_secret = make_receiving_webhook(url=receiver.url())
    old_secret = new_signing_secret()
    webhook.previous_secret_encrypted = encryption.encrypt(old_secret.encode(), purpose=SECRET_ENCRYPTION_PURPOSE)
    webhook.previous_secret_expires_at = timezone.now() + timedelta(days=1)
    webhook.save()
    make_event()

    run_worker()

    [got] = receiver.requests
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    for secret in (old_secret, new_secret):
        receiver.secrets = [secret]
        assert receiver.verify(got.body, got.headers)[0]["type"] == "user.created"


@pytest.mark.django_db
def test_worker_receiver_failing_then_recovering_gets_every_event_once_after_retries(receiver):
    webhook, secret = make_receiving_webhook(url=receiver.url())
    receiver.secrets = [secret]
    receiver.statuses = [500, 500, 503, 500]
    events = [make_event(user_id=f"usr_{n}") for n in range(3)]

    for _ in range(6):
        run_worker()
        make_due_again()

    assert all(r.error == "" for r in receiver.requests)  # every attempt verified
    assert len(receiver.requests) == 3 + 4
    assert set(receiver.ids) == {e.public_id for e in events}
    deliveries = Delivery.objects.filter(webhook=webhook)
    assert set(deliveries.values_list("state", flat=True)) == {"succeeded"}
    failures = DeliveryAttempt.objects.filter(delivery__webhook=webhook, succeeded=False)
    assert sorted(failures.values_list("status_code", "error")) == [
        (500, "HTTP 500"),
        (500, "HTTP 500"),
        (500, "HTTP 500"),
        (503, "HTTP 503"),
    ]
    assert DeliveryAttempt.objects.filter(succeeded=True).count() == 3
    assert Webhook.objects.get(pk=webhook.pk).consecutive_failures == 0


@pytest.mark.django_db
def test_worker_failed_attempt_schedules_retry_within_the_backoff_step(receiver):
    make_receiving_webhook(url=receiver.url())
    make_event()
    receiver.default_status = 500
    before = timezone.now()

    run_worker()

    retry = Delivery.objects.get()
    assert (retry.state, retry.attempts, retry.last_error) == ("pending", 1, "HTTP 500")
    assert before + timedelta(seconds=2.5) <= retry.next_attempt_at <= timezone.now() + timedelta(seconds=5)
    run_worker()  # not due yet: nothing sent
    assert len(receiver.requests) == 1


def test_backoff_delay_stays_between_half_and_all_of_each_step():
    for attempts, base in enumerate(delivery.BACKOFF_SCHEDULE, start=1):
        delays = [delivery.backoff_delay(attempts, rng=random.Random(seed)).total_seconds() for seed in range(50)]
        assert all(base / 2 <= d <= base for d in delays)
        assert len(set(delays)) > 40  # jittered, not one value


def test_backoff_schedule_spans_about_a_day():
    shortest = sum(base / 2 for base in delivery.BACKOFF_SCHEDULE)
    longest = sum(delivery.BACKOFF_SCHEDULE)

    assert timedelta(hours=15) < timedelta(seconds=shortest) < timedelta(days=1) < timedelta(seconds=longest)
    assert longest < timedelta(hours=32).total_seconds()
    assert delivery.BACKOFF_SCHEDULE[0] == 5


@pytest.mark.django_db
def test_worker_last_attempt_failing_fails_the_delivery(receiver):
    make_receiving_webhook(url=receiver.url())
    make_event()
    events_relay()
    Delivery.objects.update(attempts=delivery.MAX_ATTEMPTS - 1)
    receiver.default_status = 500

    run_worker()

    gave_up = Delivery.objects.get()
    assert (gave_up.state, gave_up.attempts) == ("failed", delivery.MAX_ATTEMPTS)
    assert gave_up.completed_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1:{port}", "127.0.0.1 is a loopback address"),
        ("localhost:{port}", "localhost is a loopback address"),
        ("10.1.2.3", "10.1.2.3 is a private address"),
        ("192.168.0.10", "192.168.0.10 is a private address"),
        ("169.254.10.20", "169.254.10.20 is a link-local address"),
        ("169.254.169.254", "169.254.169.254 is a cloud metadata address"),
        ("[::ffff:127.0.0.1]:{port}", "::ffff:127.0.0.1 (::ffff:7f00:1) is a loopback address"),
        ("[fd00:ec2::254]", "fd00:ec2::254 is a cloud metadata address"),
    ],
)
def test_worker_ssrf_target_is_refused_logged_and_never_connected(receiver, settings, host, reason):
    settings.LATCHKEY_OUTBOUND_ALLOW_PRIVATE = False
    make_receiving_webhook(url=f"https://{host.format(port=receiver.port)}/hook")
    make_event()

    run_worker()

    [attempt] = DeliveryAttempt.objects.all()
    assert reason in attempt.error
    assert (attempt.status_code, attempt.succeeded) == (None, False)
    assert receiver.connections == 0
    assert Delivery.objects.get().state == "pending"  # retried later, like any failure


def loopback_name() -> str | None:
    """A name other than localhost that this machine resolves to a loopback address (its host name, usually)."""
    name = socket.gethostname()
    try:
        addresses = {ipaddress.ip_address(info[4][0]) for info in socket.getaddrinfo(name, 443)}
    except OSError:
        return None
    return name if name != "localhost" and addresses and all(a.is_loopback for a in addresses) else None


@pytest.mark.django_db
@pytest.mark.skipif(loopback_name() is None, reason="this machine's host name does not resolve to loopback")
def test_worker_name_resolving_to_loopback_is_refused_after_resolution(receiver, settings):
    settings.LATCHKEY_OUTBOUND_ALLOW_PRIVATE = False
    name = loopback_name()
    make_receiving_webhook(url=f"https://{name}:{receiver.port}/hook")
    make_event()

    run_worker()

    [attempt] = DeliveryAttempt.objects.all()
    assert f"{name} (127." in attempt.error and "is a loopback address" in attempt.error
    assert receiver.connections == 0


@pytest.mark.django_db
def test_worker_redirect_is_not_followed_and_counts_as_a_failure(receiver):
    make_receiving_webhook(url=receiver.url("/hook"))
    make_event()
    receiver.statuses = [302]
    receiver.location = receiver.url("/moved")  # same origin: the guard alone would follow it

    run_worker()

    assert [r.path for r in receiver.requests] == ["/hook"]
    [attempt] = DeliveryAttempt.objects.all()
    assert (attempt.status_code, attempt.error, attempt.succeeded) == (302, "redirect not followed", False)


@pytest.mark.django_db
def test_worker_consecutive_failures_disable_the_webhook_with_an_audit_row(receiver, settings):
    settings.LATCHKEY_WEBHOOK_DISABLE_AFTER = 3
    webhook, _ = make_receiving_webhook(url=receiver.url())
    receiver.default_status = 500
    for n in range(4):
        make_event(user_id=f"usr_{n}")

    run_worker()

    webhook.refresh_from_db()
    assert (webhook.enabled, webhook.disabled_reason) == (False, "Disabled after 3 consecutive failed deliveries.")
    assert len(receiver.requests) == 3  # the fourth delivery waits, unsent
    [row] = AuditEvent.objects.filter(action="webhook.disabled")
    assert (row.actor_label, row.target_type, row.target_id, row.target_label) == (
        "system",
        "webhook",
        str(webhook.pk),
        receiver.url(),
    )
    make_due_again()
    run_worker()
    assert len(receiver.requests) == 3
    assert Delivery.objects.filter(state="pending").count() == 4


@pytest.mark.django_db
def test_worker_success_resets_consecutive_failures(receiver, settings):
    settings.LATCHKEY_WEBHOOK_DISABLE_AFTER = 3
    webhook, _ = make_receiving_webhook(url=receiver.url())
    receiver.statuses = [500, 500, 200, 500, 500]
    for n in range(5):
        make_event(user_id=f"usr_{n}")

    run_worker()

    webhook.refresh_from_db()
    assert (webhook.enabled, webhook.consecutive_failures) == (True, 2)
    assert not AuditEvent.objects.filter(action="webhook.disabled").exists()


@pytest.mark.django_db
def test_worker_enabled_again_resumes_the_waiting_deliveries(receiver):
    webhook, secret = make_receiving_webhook(url=receiver.url())
    receiver.secrets = [secret]
    event = make_event()
    events_relay()
    Webhook.objects.filter(pk=webhook.pk).update(enabled=False, disabled_reason="Disabled after 20 …")

    run_worker()
    assert receiver.requests == []

    Webhook.objects.filter(pk=webhook.pk).update(enabled=True, disabled_reason="", consecutive_failures=0)
    run_worker()

    assert receiver.ids == [event.public_id]
    assert receiver.requests[0].error == ""


@pytest.mark.django_db
def test_delivery_claim_leased_row_is_not_claimed_again_until_the_lease_expires(receiver):
    make_receiving_webhook(url=receiver.url())
    make_event()
    events_relay()

    held = delivery.delivery_claim(worker="first")

    assert held is not None and held.leased_by.startswith("first/")
    assert delivery.delivery_claim(worker="second") is None
    later = timezone.now() + timedelta(seconds=delivery.lease_seconds() + 1)
    taken_over = delivery.delivery_claim(worker="second", now=later)
    assert taken_over is not None and taken_over.pk == held.pk and taken_over.leased_by.startswith("second/")


@pytest.mark.django_db
def test_delivery_attempt_whose_lease_was_taken_over_records_nothing(receiver):
    make_receiving_webhook(url=receiver.url())
    make_event()
    events_relay()
    slow = delivery.delivery_claim(worker="slow")
    later = timezone.now() + timedelta(seconds=delivery.lease_seconds() + 1)
    fast = delivery.delivery_claim(worker="fast", now=later)
    receiver.statuses = [500, 200]

    late = delivery.delivery_attempt(delivery=slow)
    on_time = delivery.delivery_attempt(delivery=fast)

    assert (late.recorded, on_time.recorded) == (False, True)
    [attempt] = DeliveryAttempt.objects.all()
    assert attempt.status_code == 200
    row = Delivery.objects.get()
    assert (row.state, row.attempts) == ("succeeded", 1)
    assert len(set(receiver.ids)) == 1 and len(receiver.ids) == 2  # sent twice, same webhook-id


@pytest.mark.django_db
def test_worker_attempt_queries_are_bounded(receiver, django_assert_max_num_queries):
    make_receiving_webhook(url=receiver.url())
    make_event()
    events_relay()

    # Claim: exists, select for update (with the webhook and event), lease; record: delivery, attempt,
    # failure counter; then the exists that finds nothing more due; and two savepoints per transaction.
    with django_assert_max_num_queries(11):
        outcomes = delivery.deliveries_send_due(worker="w")

    assert [o.succeeded for o in outcomes] == [True]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED between connections: PostgreSQL")
def test_two_workers_in_parallel_deliver_each_delivery_exactly_once(receiver):
    webhook, secret = make_receiving_webhook(url=receiver.url())
    receiver.secrets = [secret]
    events = [make_event(user_id=f"usr_{n}") for n in range(40)]
    events_relay()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            start.wait()
            delivery.deliveries_send_due(worker=name)
        except BaseException as exc:  # noqa: BLE001 (reported by the test thread)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert sorted(receiver.ids) == sorted(e.public_id for e in events)  # each once, none twice
    assert all(r.error == "" for r in receiver.requests)
    assert Delivery.objects.filter(webhook=webhook, state="succeeded").count() == 40
    assert DeliveryAttempt.objects.count() == 40


@pytest.mark.django_db
def test_worker_unusable_secret_is_a_logged_failure_not_a_crash(receiver):
    webhook, _ = make_receiving_webhook(url=receiver.url())
    Webhook.objects.filter(pk=webhook.pk).update(secret_encrypted="not a fernet token")
    make_event()

    run_worker()

    [attempt] = DeliveryAttempt.objects.all()
    assert "cannot be decrypted" in attempt.error
    assert receiver.requests == []
