"""The loop of `manage.py events worker`: relay new events, send due deliveries, sleep when idle.

Any number of workers may run (several share the rows on PostgreSQL; on SQLite run one). `stop()`
(the command calls it on SIGTERM/SIGINT) lets the attempt in progress finish and record its outcome,
then the loop ends; a worker killed outright loses nothing either: its lease runs out and another
worker sends the delivery again (see applications.events.delivery).
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import DatabaseError, close_old_connections

from applications.events import delivery, relay

logger = logging.getLogger("applications.events.worker")
# Deliveries sent before the worker looks for new events again (so a backlog does not delay new ones long).
SEND_BATCH = 50


def poll_seconds() -> float:
    return float(getattr(settings, "LATCHKEY_WEBHOOK_POLL_SECONDS", 2.0))


def log_outcome(outcome: delivery.Outcome) -> None:
    """One line per attempt: ids, type, status and what happens next; never the URL, payload or secret."""
    head = (
        f"delivery {outcome.delivery_id} of event {outcome.event_id} ({outcome.event_type}) "
        f"to webhook {outcome.webhook_id}, attempt {outcome.attempt}:"
    )
    extra = {
        "delivery_id": outcome.delivery_id,
        "webhook_id": outcome.webhook_id,
        "event_id": outcome.event_id,
        "event_type": outcome.event_type,
        "attempt": outcome.attempt,
        "status_code": outcome.status_code,
        "latency_ms": outcome.latency_ms,
    }
    if not outcome.recorded:
        logger.warning("%s not recorded: lease taken over or delivery changed meanwhile", head, extra=extra)
    elif outcome.succeeded:
        logger.info("%s delivered (%s in %d ms)", head, outcome.status_code, outcome.latency_ms, extra=extra)
    elif outcome.next_attempt_at is not None:
        when = outcome.next_attempt_at.isoformat(timespec="seconds")
        logger.info("%s failed (%s), next attempt at %s", head, outcome.error, when, extra=extra)
    else:
        logger.warning("%s failed (%s), giving up", head, outcome.error, extra=extra)
    if outcome.webhook_disabled:
        logger.warning("webhook %d disabled after consecutive failures", outcome.webhook_id, extra=extra)


class Worker:
    def __init__(self, *, name: str | None = None, poll: float | None = None) -> None:
        self.name = name or delivery.new_worker_name()
        self.poll = poll_seconds() if poll is None else poll
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run_once(self) -> int:
        """Relay every undispatched event, then send every due delivery; returns how much it did."""
        done = 0
        while not self.stopping:
            relayed = relay.events_relay()
            done += relayed
            if not relayed:
                break
        sent = delivery.deliveries_send_due(
            worker=self.name, limit=SEND_BATCH, should_stop=lambda: self.stopping, on_outcome=log_outcome
        )
        return done + len(sent)

    def run(self) -> None:
        logger.info("events worker %s started (poll every %s s)", self.name, self.poll)
        while not self.stopping:
            close_old_connections()  # a long-lived process: drop a connection that died or aged out
            try:
                done = self.run_once()
            except DatabaseError:
                # The database is away (a restart, a failover): nothing is lost, the rows wait.
                logger.exception("events worker %s: database error; retrying in %s s", self.name, self.poll)
                done = 0
            if not done:
                self._stopping.wait(self.poll)
        logger.info("events worker %s stopped", self.name)
