"""manage.py events worker | prune"""

from __future__ import annotations

import argparse
import logging
import signal

from applications.events import retention
from applications.events.worker import Worker
from config.cli import SubcommandCommand


def _seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1
    if not 0 < number <= 3600:
        raise argparse.ArgumentTypeError(f"give a number of seconds between 0 and 3600 (not {value!r})")
    return number


def _days(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"give a whole number of days, at least 1 (not {value!r})")
    return number


class Command(SubcommandCommand):
    help = "Deliver events to webhooks (the worker) and delete old events."

    def add_verbs(self, subparsers) -> None:
        worker = subparsers.add_parser(
            "worker",
            help="Relay new events to webhooks and send due deliveries, until SIGTERM/SIGINT. "
            "Run one or more (several share the work on PostgreSQL; one on SQLite).",
        )
        worker.add_argument("--once", action="store_true", help="Do what is due now, then exit.")
        worker.add_argument(
            "--poll",
            type=_seconds,
            default=None,
            metavar="SECONDS",
            help="Seconds to sleep when idle. Default: LATCHKEY_WEBHOOK_POLL_SECONDS (2).",
        )
        prune = subparsers.add_parser(
            "prune",
            help="Delete events older than the retention, with their deliveries and attempt logs "
            "(an event still to be delivered is kept).",
        )
        prune.add_argument(
            "--days",
            type=_days,
            default=None,
            help="Keep this many days. Default: LATCHKEY_EVENT_RETENTION_DAYS (30).",
        )
        prune.add_argument("--dry-run", action="store_true", help="Only count what would be deleted.")
        prune.add_argument("--json", action="store_true", help="Print JSON.")

    def handle_worker(self, **o) -> None:
        # The worker's output is its log: one line per attempt, at INFO (SubcommandCommand hides INFO).
        logging.disable(logging.NOTSET)
        worker = Worker(poll=o["poll"])
        if o["once"]:
            worker.run_once()
            return
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        for sig in previous:
            signal.signal(sig, lambda *_: worker.stop())  # finish the attempt in progress, then exit
        try:
            worker.run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def handle_prune(self, **o) -> None:
        days = o["days"] or retention.retention_days()
        count = retention.events_prune(days=days, dry_run=o["dry_run"])
        if o["json"]:
            self.emit_json({"dry_run": o["dry_run"], "days": days, "events": count})
            return
        verb = "Would delete" if o["dry_run"] else "Deleted"
        self.stdout.write(
            f"{verb} {count} event{'' if count == 1 else 's'} older than {days} days "
            "(with their deliveries and attempt logs)."
        )
