"""What every Latchkey management command shares: one-line errors and JSON output."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


def validation_error_line(exc: ValidationError) -> str:
    """A ValidationError as one line: 'field: message; other_field: message'."""
    if hasattr(exc, "error_dict"):
        parts = []
        for field, problems in exc.message_dict.items():
            for problem in problems:
                parts.append(problem if field == "__all__" else f"{field}: {problem}")
        return "; ".join(parts)
    return "; ".join(exc.messages)


class SubcommandCommand(BaseCommand):
    """A command with verbs (`app create`, `app list`): each verb is a `handle_<verb>` method."""

    def add_arguments(self, parser) -> None:
        subparsers = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
        self.add_verbs(subparsers)

    def add_verbs(self, subparsers) -> None:
        raise NotImplementedError

    def handle(self, *args, verb: str, **options) -> None:
        handler = getattr(self, "handle_" + verb.replace("-", "_"))
        try:
            handler(**options)
        except ValidationError as exc:
            raise CommandError(validation_error_line(exc)) from exc

    def emit_json(self, payload: Any) -> None:
        self.stdout.write(json.dumps(payload, indent=2, sort_keys=False))
