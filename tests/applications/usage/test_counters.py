"""The in-process buffer and its flush: additive, one statement, kept when the database refuses."""

from __future__ import annotations

import atexit
import logging
import threading
import time
from datetime import UTC, datetime

import pytest
from django.db import OperationalError, connection

from applications.models import Application
from applications.usage import counters, store
from applications.usage.models import ActiveUser, UsageCount
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db


def today():
    return datetime.now(UTC).date()


def stored(application) -> dict[str, int]:
    return dict(UsageCount.objects.filter(application=application, day=today()).values_list("metric", "count"))


def test_flush_writes_the_counts_and_the_active_users_of_today():
    app, _ = make_application()
    alice = UserFactory()
    counters.count_sign_in(app.pk, alice.pk)
    counters.count_sign_in(app.pk, alice.pk)
    counters.count(app.pk, "tokens.authorization_code")

    assert counters.flush() is True

    assert stored(app) == {"sign_ins": 2, "tokens.authorization_code": 1}
    assert list(ActiveUser.objects.values_list("application_id", "day", "user_id")) == [(app.pk, today(), alice.pk)]
    assert counters.pending() == ({}, set())


def test_flushes_of_two_processes_add_up():
    # Two processes each count and flush: the second adds to the rows the first created.
    app, _ = make_application()
    alice, bob = UserFactory(), UserFactory()
    counters.count_sign_in(app.pk, alice.pk)
    counters.count(app.pk, "token_errors", 2)
    counters.flush()

    counters.count_sign_in(app.pk, alice.pk)  # alice again: still one active user
    counters.count_sign_in(app.pk, bob.pk)
    counters.count(app.pk, "token_errors")
    counters.flush()

    assert stored(app) == {"sign_ins": 3, "token_errors": 3}
    assert ActiveUser.objects.filter(application=app).count() == 2


def test_flush_adds_with_one_statement_and_two_existence_checks(django_assert_max_num_queries):
    apps = [make_application()[0] for _ in range(3)]
    users = [UserFactory() for _ in range(3)]
    for app in apps:
        for user in users:
            counters.count_sign_in(app.pk, user.pk)
        counters.count(app.pk, "tokens.client_credentials", 5)

    # SAVEPOINT/RELEASE (inside the test's transaction), two existence checks, the upsert, the INSERT.
    with django_assert_max_num_queries(6):
        counters.flush()

    assert sum(UsageCount.objects.values_list("count", flat=True)) == 3 * 3 + 3 * 5


def test_flush_when_the_database_refuses_keeps_the_counts_for_the_next(monkeypatch, caplog):
    app, _ = make_application()
    alice = UserFactory()
    counters.count_sign_in(app.pk, alice.pk)
    counters.count(app.pk, "tokens.refresh_token")

    def down(rows):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patched:
        patched.setattr(store, "counts_add", down)
        with caplog.at_level(logging.WARNING, logger="applications.usage.counters"):
            assert counters.flush() is False
    counters.count(app.pk, "tokens.refresh_token")  # counted while the database was down

    assert "flush failed" in caplog.text
    assert stored(app) == {}
    assert counters.flush() is True
    assert stored(app) == {"sign_ins": 1, "tokens.refresh_token": 2}
    assert ActiveUser.objects.filter(application=app, user=alice).exists()


def test_flush_refused_past_the_cap_drops_the_counts_and_logs(monkeypatch, caplog):
    app, _ = make_application()
    monkeypatch.setattr(counters, "MAX_BUFFERED", 2)
    for user_id in (1, 2, 3):
        counters.count_sign_in(app.pk, user_id)
    monkeypatch.setattr(store, "counts_add", lambda rows: (_ for _ in ()).throw(OperationalError("down")))

    with caplog.at_level(logging.ERROR, logger="applications.usage.counters"):
        assert counters.flush() is False

    assert "dropped 1 counts (3 events) and 3 active users" in caplog.text
    assert counters.pending() == ({}, set())


def test_flush_skips_an_application_and_a_user_deleted_since_they_were_counted():
    kept, _ = make_application()
    gone, _ = make_application()
    alice, bob = UserFactory(), UserFactory()
    counters.count_sign_in(kept.pk, alice.pk)
    counters.count_sign_in(kept.pk, bob.pk)
    counters.count_sign_in(gone.pk, alice.pk)
    gone_pk = gone.pk
    gone.delete()
    bob.delete()

    assert counters.flush() is True

    assert stored(kept) == {"sign_ins": 2}
    assert not UsageCount.objects.filter(application_id=gone_pk).exists()
    assert list(ActiveUser.objects.values_list("application_id", "user_id")) == [(kept.pk, alice.pk)]


def test_counting_from_many_threads_loses_nothing():
    app, _ = make_application()

    def hammer():
        for _ in range(1000):
            counters.count(app.pk, "tokens.client_credentials")

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counters.flush()

    assert stored(app) == {"tokens.client_credentials": 8000}


def test_an_interval_of_zero_starts_no_flushing_thread():
    app, _ = make_application()

    counters.count(app.pk, "sign_ins")

    assert not [thread for thread in threading.enumerate() if thread.name == "usage-flush"]


@pytest.mark.django_db(transaction=True)
def test_flush_racing_an_application_deletion_writes_the_others(monkeypatch):
    # Another process deletes the application after the existence check, before the commit: the foreign
    # key fails the transaction, and the flush checks again instead of losing every count.
    if connection.vendor != "postgresql":
        pytest.skip("SQLite lets no other connection write while the flush's transaction reads")
    kept, _ = make_application()
    doomed, _ = make_application()
    counters.count(kept.pk, "tokens.client_credentials")
    counters.count(doomed.pk, "tokens.client_credentials")
    real_add = store.counts_add
    calls = []

    def delete_elsewhere():
        Application.objects.filter(pk=doomed.pk).delete()
        connection.close()

    def add_while_deleting(rows):
        calls.append(rows)
        if len(calls) == 1:
            other = threading.Thread(target=delete_elsewhere)
            other.start()
            other.join()
        real_add(rows)

    monkeypatch.setattr(store, "counts_add", add_while_deleting)

    assert counters.flush() is True

    assert len(calls) == 2
    rows = list(UsageCount.objects.values_list("application_id", "metric", "count"))
    assert rows == [(kept.pk, "tokens.client_credentials", 1)]


@pytest.mark.django_db(transaction=True)
def test_the_flushing_thread_writes_counts_without_being_asked(settings, monkeypatch):
    settings.LATCHKEY_USAGE_FLUSH_SECONDS = 0.05
    monkeypatch.setattr(counters, "_flusher_pid", None)  # this process has not decided yet
    app, _ = make_application()

    counters.count(app.pk, "tokens.client_credentials", 3)
    [thread] = [t for t in threading.enumerate() if t.name == "usage-flush"]
    try:
        deadline = time.monotonic() + 10
        while not stored(app) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stored(app) == {"tokens.client_credentials": 3}
        assert counters.pending() == ({}, set())
    finally:
        counters._flusher_stop.set()
        thread.join(timeout=5)
        counters._flusher_stop.clear()
        atexit.unregister(counters.flush)
    assert not thread.is_alive()
