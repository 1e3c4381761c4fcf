"""What every Latchkey management command shares: one-line errors and JSON output."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


def validation_error_line(exc: ValidationError, names: Mapping[str, str] | None = None) -> str:
    """A ValidationError as one line: 'field: message; other_field: message' (`names` renames fields)."""
    if hasattr(exc, "error_dict"):
        parts = []
        for field, problems in exc.message_dict.items():
            for problem in problems:
                parts.append(problem if field == "__all__" else f"{(names or {}).get(field, field)}: {problem}")
        return "; ".join(parts)
    return "; ".join(exc.messages)


class SubcommandCommand(BaseCommand):
    """A command with verbs (`app create`, `app list`): each verb is a `handle_<verb>` method.

    What a command did is what it prints; log records at INFO and below would repeat it on stderr
    (as JSON under LOG_FORMAT=json), so they are shown only with --verbosity 2 or more.
    """

    # A service's field name -> the flag that set it, for error lines (`--grace-period: …`).
    flags_of_fields: Mapping[str, str] = {}

    def add_arguments(self, parser) -> None:
        subparsers = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
        self.add_verbs(subparsers)

    def add_verbs(self, subparsers) -> None:
        raise NotImplementedError

    def handle(self, *args, verb: str, **options) -> None:
        handler = getattr(self, "handle_" + verb.replace("-", "_"))
        quiet = options.get("verbosity", 1) < 2
        if quiet:
            logging.disable(logging.INFO)
        try:
            handler(**options)
        except ValidationError as exc:
            raise CommandError(validation_error_line(exc, self.flags_of_fields)) from exc
        finally:
            if quiet:
                logging.disable(logging.NOTSET)

    def emit_json(self, payload: Any) -> None:
        self.stdout.write(json.dumps(payload, indent=2, sort_keys=False))
