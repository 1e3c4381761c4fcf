"""manage.py config export | import: configuration as code (see applications.config_io)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import CommandError

from applications import config_io
from config.cli import SubcommandCommand


def _value(value) -> str:
    return value if value == config_io.MISSING else json.dumps(value, ensure_ascii=False)


class Command(SubcommandCommand):
    help = "Export or import applications, API resources with their scopes, and roles as YAML or JSON."
    stealth_options = ("stdin",)

    def add_verbs(self, subparsers) -> None:
        export = subparsers.add_parser(
            "export", help="Write the configuration (never a secret) as YAML or JSON, sorted so exports diff cleanly."
        )
        export.add_argument("--format", choices=config_io.FORMATS, default="yaml", dest="fmt", help="Default: yaml.")
        export.add_argument("--output", metavar="FILE", help="Write to FILE instead of standard output.")

        load = subparsers.add_parser(
            "import",
            help="Create and update what FILE describes, all or nothing; objects not in FILE are left alone.",
        )
        load.add_argument("file", metavar="FILE", help="A YAML or JSON export; - reads standard input.")
        load.add_argument("--dry-run", action="store_true", help="Print what would change, and change nothing.")

    def handle_export(self, **o) -> None:
        document = config_io.config_export()
        text = config_io.config_render(document, o["fmt"])
        if not o["output"]:
            self.stdout.write(text, ending="")
            return
        try:
            Path(o["output"]).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot write {o['output']}: {exc.strerror or exc}.") from exc
        self.stdout.write(
            f"Wrote {o['output']}: {len(document['applications'])} applications, "
            f"{len(document['api_resources'])} API resources, {len(document['roles'])} roles."
        )

    def handle_import(self, **o) -> None:
        source = o["file"]
        try:
            if source == "-":
                text = (o.get("stdin") or sys.stdin).read()
            else:
                text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {source}: {getattr(exc, 'strerror', None) or exc}.") from exc
        name = "standard input" if source == "-" else source
        try:
            result = config_io.config_import(config_io.config_parse(text), dry_run=o["dry_run"])
        except config_io.ConfigError as exc:
            raise CommandError(f"{name}: {exc}") from exc

        if result.errors:
            for error in result.errors:
                self.stderr.write(error)
            raise CommandError(
                f"{name}: {len(result.errors)} error{'s' if len(result.errors) != 1 else ''}; nothing was changed."
            )
        for change in result.changes:
            label = f"{change.kind} {change.key}" + (f" ({change.name})" if change.name else "")
            note = ""
            if change.action == "create" and change.confidential and result.dry_run:
                note = "  (a new client secret would be issued)"
            if change.webhook_secrets and result.dry_run:
                note += f"  (a new signing secret would be issued for {len(change.webhook_secrets)} webhook(s))"
            self.stdout.write(f"{change.action:<9}  {label}{note}")
            for field, old, new in change.fields:
                self.stdout.write(f"             {field}: {_value(old)} → {_value(new)}")
        created, updated, unchanged = (result.count(a) for a in ("create", "update", "unchanged"))
        if result.dry_run:
            self.stdout.write(
                f"Dry run, nothing was changed: {created} to create, {updated} to update, {unchanged} unchanged."
            )
            return
        if not created and not updated:
            self.stdout.write(f"Nothing to change: the configuration already matches {name} ({unchanged} unchanged).")
            return
        self.stdout.write(f"Imported {name}: {created} created, {updated} updated, {unchanged} unchanged.")
        secrets = [change for change in result.changes if change.secret]
        for change in secrets:
            self.stdout.write(f"client_secret of {change.name} ({change.key}): {change.secret}")
        if secrets:
            self.stdout.write("Store the new client secrets now: they are not shown again.")
        hooks = [(change, url, secret) for change in result.changes for url, secret in change.webhook_secrets]
        for change, url, secret in hooks:
            owner = f"{change.name} ({change.key})" if change.kind == "application" else "the deployment"
            self.stdout.write(f"signing secret of webhook {url} of {owner}: {secret}")
        if hooks:
            self.stdout.write("Give each new webhook's signing secret to its receiver now: it is not shown again.")
