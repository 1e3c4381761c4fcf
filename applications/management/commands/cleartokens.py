"""manage.py cleartokens: Latchkey's own, replacing django-oauth-toolkit's (see applications.token_cleanup).

Django runs the command of the first app in INSTALLED_APPS that has one, so `applications` is
listed before `oauth2_provider` (config/settings/base.py).
"""

from __future__ import annotations

import argparse
import json

from django.core.management.base import BaseCommand

from applications.token_cleanup import DEFAULT_BATCH_SIZE, expired_tokens_clear


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"give a whole number of rows, at least 1 (not {value!r})")
    return number


class Command(BaseCommand):
    help = (
        "Delete expired and revoked tokens, codes and device codes by each application's own lifetimes, "
        "and daily usage older than LATCHKEY_USAGE_RETENTION_DAYS, in short batches. Safe to run at any "
        "time (e.g. hourly from cron)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--batch-size",
            type=_positive_int,
            default=DEFAULT_BATCH_SIZE,
            metavar="ROWS",
            help=f"Rows per DELETE, each in its own transaction. Default: {DEFAULT_BATCH_SIZE}.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be deleted.")
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print JSON.")

    def handle(self, *args, batch_size: int, dry_run: bool, as_json: bool, **options) -> None:
        results = expired_tokens_clear(batch_size=batch_size, dry_run=dry_run)
        total = sum(count for _, count in results)
        if as_json:
            payload = {"dry_run": dry_run, "deleted": {kind.key: count for kind, count in results}, "total": total}
            self.stdout.write(json.dumps(payload, indent=2))
            return
        self.stdout.write("Would delete (dry run, nothing deleted):" if dry_run else "Deleted:")
        width = max(len(kind.label) for kind, _ in results)
        for kind, count in results:
            self.stdout.write(f"  {kind.label:<{width}}  {count}")
        self.stdout.write(f"Total: {total} row{'' if total == 1 else 's'}.")
