"""manage.py keys rotate | list"""

from __future__ import annotations

from datetime import datetime

from applications.oauth import keys
from config.cli import SubcommandCommand


def _utc(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S} UTC"


def _describe(status: keys.KeyStatus) -> str:
    key = status.key
    if status.state == "signing" and key.retired_at is not None:
        return f"signing until its successor is ready (retired, published until {_utc(key.published_until)})"
    if status.state == "published":
        return f"published (signs from {_utc(status.signs_from)})"
    if status.state == "retired-published":
        return f"retired, published until {_utc(key.published_until)}"
    if status.state == "retired":
        return "retired"
    return status.state


class Command(SubcommandCommand):
    help = "Rotate and list the keys that sign ID tokens."

    def add_verbs(self, subparsers) -> None:
        rotate = subparsers.add_parser(
            "rotate", help="Add a new signing key; the current ones stay in the JWKS until their tokens expire."
        )
        rotate.add_argument(
            "--algorithm",
            choices=keys.ALGORITHMS,
            default=None,
            help="Algorithm of the new key. Default: LATCHKEY_SIGNING_ALGORITHM.",
        )
        rotate.add_argument("--json", action="store_true", help="Print JSON.")

        listing = subparsers.add_parser("list", help="List signing keys and what each does now.")
        listing.add_argument("--json", action="store_true", help="Print JSON.")

    def handle_rotate(self, **o) -> None:
        active = [s.key.kid for s in keys.signing_key_statuses() if s.key.retired_at is None]
        key = keys.signing_key_rotate(actor=None, algorithm=o["algorithm"])
        statuses = {s.key.kid: s for s in keys.signing_key_statuses()}
        new = statuses[key.kid]
        retired = [statuses[kid] for kid in active]
        if o["json"]:
            self.emit_json({**new.as_dict(), "retired": [s.as_dict() for s in retired]})
            return
        self.stdout.write(f"New {new.key.algorithm} signing key {new.key.kid}")
        if new.signs_from:
            self.stdout.write(f"It is published now and signs from {_utc(new.signs_from)}.")
        else:
            self.stdout.write("It signs now.")
        for status in retired:
            self.stdout.write(f"Retired {status.key.kid}: stays in the JWKS until {_utc(status.key.published_until)}.")

    def handle_list(self, **o) -> None:
        statuses = keys.signing_key_statuses()
        if o["json"]:
            self.emit_json([s.as_dict() for s in statuses])
            return
        if not statuses:
            self.stdout.write("No signing keys yet; the first is generated when it is needed.")
            return
        for status in statuses:
            key = status.key
            self.stdout.write(f"{key.kid}  {key.algorithm}  created {_utc(key.created)}  {_describe(status)}")
