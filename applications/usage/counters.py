"""Usage counted in process: a dict increment on the request path, added to the daily rows by `flush()`.

No request reads, writes or locks a row for usage: the token endpoint and the sign-in only add to a
process-global buffer under one lock. A daemon thread per process flushes it every
LATCHKEY_USAGE_FLUSH_SECONDS (and once more at exit) in one transaction: the counts with one upsert
(applications.usage.store), the active users with one INSERT that ignores duplicates. Flushes from
several processes add up, since the upsert adds in the database.

Loss is bounded: a process killed without running its exit hooks (SIGKILL, OOM, power) loses the
counts of its last interval. A flush the database refuses puts the counts back, up to MAX_BUFFERED
entries; beyond that they are dropped and logged rather than held in memory without limit.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from datetime import UTC, date, datetime

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from applications.usage import store
from applications.usage.models import ActiveUser, UsageCount

log = logging.getLogger(__name__)

SIGN_INS = UsageCount.Metric.SIGN_INS.value
# (application, day, metric) counts plus (application, day, user) sign-ins held while the database is out
# of reach: about 10 MB. A day's keys per application are few, so only active users come near it.
MAX_BUFFERED = 100_000

_lock = threading.Lock()
_counts: dict[tuple[int, date, str], int] = {}
_users: set[tuple[int, date, int]] = set()
_flusher_pid: int | None = None  # the process whose flusher is running (or was decided against)
_flusher_stop = threading.Event()  # set only by tests, to end the thread they started


def _today() -> date:
    return datetime.now(UTC).date()


def count(application_id: int, metric: str, n: int = 1) -> None:
    """`metric` happened `n` times for the application today (UTC). Never touches the database."""
    key = (application_id, _today(), metric)
    with _lock:
        _counts[key] = _counts.get(key, 0) + n
    _start_flusher()


def count_sign_in(application_id: int, user_id: int) -> None:
    """A sign-in to the application: one more sign-in, and the user is active there today."""
    day = _today()
    key = (application_id, day, SIGN_INS)
    with _lock:
        _counts[key] = _counts.get(key, 0) + 1
        _users.add((application_id, day, user_id))
    _start_flusher()


def pending() -> tuple[dict[tuple[int, date, str], int], set[tuple[int, date, int]]]:
    """A copy of what the next flush would write (for tests and diagnostics)."""
    with _lock:
        return dict(_counts), set(_users)


def discard() -> None:
    """Forget what was counted and not flushed (tests start from nothing)."""
    with _lock:
        _counts.clear()
        _users.clear()


def flush() -> bool:
    """Write what was counted since the last flush; False (counts kept, within the cap) if the database
    refused. Never raises: it runs on a daemon thread and at exit."""
    with _lock:
        counts, users = dict(_counts), set(_users)
        _counts.clear()
        _users.clear()
    if not counts and not users:
        return True
    try:
        try:
            _write(counts, users)
        except IntegrityError:
            # An application or user deleted between the existence check and the commit: check again.
            _write(counts, users)
    except Exception:  # the database is down, or anything else: the request path never sees it
        log.warning("usage: flush failed, %d counts kept for the next one", len(counts), exc_info=True)
        _put_back(counts, users)
        return False
    return True


def _write(counts: dict[tuple[int, date, str], int], users: set[tuple[int, date, int]]) -> None:
    from applications.models import Application
    from identity.models import User

    with transaction.atomic():
        # A row for a deleted application (or user) would fail the whole flush on its foreign key.
        applications = {a for a, _, _ in counts} | {a for a, _, _ in users}
        existing = set(Application.objects.filter(pk__in=applications).values_list("pk", flat=True))
        user_ids = {u for a, _, u in users if a in existing}
        existing_users = set(User.objects.filter(pk__in=user_ids).values_list("pk", flat=True)) if user_ids else set()
        # Sorted (and the active users below): processes flushing at once take the keys they share in the
        # same order, so they wait for each other instead of deadlocking.
        rows = [(a, day, metric, n) for (a, day, metric), n in sorted(counts.items()) if a in existing]
        store.counts_add(rows)
        ActiveUser.objects.bulk_create(
            [
                ActiveUser(application_id=a, day=day, user_id=u)
                for a, day, u in sorted(users)
                if a in existing and u in existing_users
            ],
            ignore_conflicts=True,
        )


def _put_back(counts: dict[tuple[int, date, str], int], users: set[tuple[int, date, int]]) -> None:
    with _lock:
        if len(_counts) + len(_users) + len(counts) + len(users) > MAX_BUFFERED:
            log.error(
                "usage: the database refused flushes until the buffer passed %d entries; "
                "dropped %d counts (%d events) and %d active users",
                MAX_BUFFERED,
                len(counts),
                sum(counts.values()),
                len(users),
            )
            return
        for key, n in counts.items():
            _counts[key] = _counts.get(key, 0) + n
        _users.update(users)


def _start_flusher() -> None:
    """Once per process, on its first count: the daemon thread (unless the interval is 0) and the exit flush."""
    global _flusher_pid
    if _flusher_pid == os.getpid():
        return
    with _lock:
        if _flusher_pid == os.getpid():
            return
        _flusher_pid = os.getpid()
    interval = float(settings.LATCHKEY_USAGE_FLUSH_SECONDS)
    if interval <= 0:
        return  # flushed only when asked (tests, commands)
    threading.Thread(target=_flush_every, args=(interval,), name="usage-flush", daemon=True).start()
    atexit.register(flush)


def _flush_every(interval: float) -> None:
    while not _flusher_stop.wait(interval):
        try:
            if flush_needed():
                flush()
                # The thread's own connection: not left open (and possibly broken) for the next interval.
                connection.close()
        except Exception:  # the thread must outlive anything, or counts would pile up unflushed
            log.exception("usage: flushing thread")


def flush_needed() -> bool:
    with _lock:
        return bool(_counts or _users)


def _after_fork_in_child() -> None:
    """A forked worker starts empty: its parent's counts are the parent's to flush, and its threads are gone."""
    global _lock, _flusher_pid
    _lock = threading.Lock()
    _counts.clear()
    _users.clear()
    _flusher_pid = None


os.register_at_fork(after_in_child=_after_fork_in_child)
