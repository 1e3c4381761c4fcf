"""`manage.py events worker` as a real process (killed, stopped) and `manage.py events prune`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.utils import timezone

from applications.events.models import Delivery, DeliveryAttempt, Event
from applications.events.relay import events_relay
from tests.applications.events.factories import make_event, make_receiving_webhook

ROOT = Path(__file__).resolve().parents[3]
LEASE_SECONDS = 2


def database_url() -> str:
    """The test database, for a worker in another process (SQLite: the suite's file; PostgreSQL: test_…)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    password = f":{s['PASSWORD']}" if s["PASSWORD"] else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def start_worker(tmp_path) -> Iterator[Callable[[], subprocess.Popen]]:
    """Starts `manage.py events worker` against the test database; its output goes to tmp_path/worker-N.log."""
    started: list[subprocess.Popen] = []
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LATCHKEY_", "DATABASE_"))},
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "LATCHKEY_OUTBOUND_ALLOW_PRIVATE": "true",
        "LATCHKEY_OUTBOUND_READ_TIMEOUT": "60",  # the receiver hangs: the worker must still be waiting
        "LATCHKEY_WEBHOOK_LEASE_SECONDS": str(LEASE_SECONDS),
        "LOG_FORMAT": "plain",
    }

    def start() -> subprocess.Popen:
        log = (tmp_path / f"worker-{len(started)}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "manage.py", "events", "worker", "--poll", "0.2"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        process.log_path = Path(log.name)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_delivery_loses_nothing_and_the_lease_is_taken_over(receiver, start_worker):
    webhook, secret = make_receiving_webhook(url=receiver.url())
    receiver.secrets = [secret]
    receiver.hang = hang = threading.Event()
    event = make_event()

    worker = start_worker()
    assert receiver.hanging.wait(60), worker.log_path.read_text()
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(10)
    receiver.hang = None  # from now on the receiver answers at once
    hang.set()

    held = Delivery.objects.get(webhook=webhook, event=event)
    assert (held.state, held.attempts) == ("pending", 0)
    assert held.leased_by and not DeliveryAttempt.objects.exists()
    call_command("events", "worker", "--once")  # the dead worker's lease still holds: nobody sends
    assert len(receiver.requests) == 1

    time.sleep(max(0.0, (held.lease_expires_at - timezone.now()).total_seconds()) + 0.1)
    call_command("events", "worker", "--once")

    assert receiver.ids == [event.public_id, event.public_id]  # sent again, with the same webhook-id
    assert receiver.requests[1].verified["id"] == event.public_id
    delivered = Delivery.objects.get(pk=held.pk)
    assert (delivered.state, delivered.attempts, delivered.leased_by) == ("succeeded", 1, "")
    assert DeliveryAttempt.objects.filter(delivery=delivered, succeeded=True).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_worker_stop_signal_finishes_the_attempt_in_progress_then_exits(receiver, start_worker, stop):
    webhook, secret = make_receiving_webhook(url=receiver.url())
    receiver.secrets = [secret]
    receiver.hang = hang = threading.Event()
    event = make_event()

    worker = start_worker()
    assert receiver.hanging.wait(60), worker.log_path.read_text()
    worker.send_signal(stop)
    time.sleep(0.5)
    assert worker.poll() is None  # still waiting for the answer
    hang.set()

    assert worker.wait(30) == 0
    delivered = Delivery.objects.get(webhook=webhook, event=event)
    assert (delivered.state, delivered.attempts) == ("succeeded", 1)
    log = worker.log_path.read_text()
    assert f"delivery {delivered.pk} of event {event.public_id} (user.created) to webhook {webhook.pk}" in log
    assert "delivered (200 in" in log
    assert secret not in log and "usr_1" not in log and receiver.url() not in log


def run_prune(*args: str) -> str:
    out = StringIO()
    call_command("events", "prune", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_events_prune_keeps_recent_events_and_those_still_to_deliver(receiver):
    make_receiving_webhook(url=receiver.url())
    delivered, pending, recent = make_event(user_id="a"), make_event(user_id="b"), make_event(user_id="c")
    events_relay()
    Delivery.objects.filter(event=delivered).update(state=Delivery.State.SUCCEEDED)
    Delivery.objects.filter(event=recent).update(state=Delivery.State.FAILED)
    undispatched = make_event(user_id="d")
    long_ago = timezone.now() - timedelta(days=31)
    Event.objects.exclude(pk=recent.pk).update(occurred_at=long_ago)

    assert (
        run_prune("--dry-run") == "Would delete 1 event older than 30 days (with their deliveries and attempt logs).\n"
    )
    assert Event.objects.count() == 4
    assert json.loads(run_prune("--json")) == {"dry_run": False, "days": 30, "events": 1}

    assert set(Event.objects.values_list("pk", flat=True)) == {pending.pk, recent.pk, undispatched.pk}
    assert not Delivery.objects.filter(event_id=delivered.pk).exists()


@pytest.mark.django_db
def test_events_prune_days_option_overrides_the_setting(settings):
    settings.LATCHKEY_EVENT_RETENTION_DAYS = 90
    event = make_event()
    events_relay()
    Event.objects.update(occurred_at=timezone.now() - timedelta(days=8))

    assert run_prune("--days", "90").startswith("Deleted 0 events")
    assert run_prune("--days", "7").startswith("Deleted 1 event ")
    assert not Event.objects.filter(pk=event.pk).exists()


@pytest.mark.parametrize(
    ("args", "message"), [(["prune", "--days", "0"], "at least 1"), (["worker", "--poll", "x"], "seconds")]
)
def test_events_command_bad_option_is_one_line_error(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("events", *args)


def test_check_lease_not_longer_than_an_attempt_is_a_warning(settings):
    settings.LATCHKEY_WEBHOOK_LEASE_SECONDS = 8
    settings.LATCHKEY_OUTBOUND_CONNECT_TIMEOUT, settings.LATCHKEY_OUTBOUND_READ_TIMEOUT = 3, 5

    with pytest.raises(SystemCheckError, match="latchkey.W003"):
        call_command("check", fail_level="WARNING")
    settings.LATCHKEY_WEBHOOK_LEASE_SECONDS = 9
    call_command("check", fail_level="WARNING", stdout=StringIO())
