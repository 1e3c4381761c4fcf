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
    help = "Rotate and list the keys that sign ID tokens (one live key per algorithm)."

    def add_verbs(self, subparsers) -> None:
        rotate = subparsers.add_parser(
            "rotate",
            help="Add a new signing key per algorithm; the current ones stay in the JWKS until their tokens expire.",
        )
        rotate.add_argument(
            "--algorithm",
            choices=keys.ALGORITHMS,
            default=None,
            help="Rotate only this algorithm's key; the others keep theirs. Default: every algorithm.",
        )
        rotate.add_argument("--json", action="store_true", help="Print JSON.")

        listing = subparsers.add_parser("list", help="List signing keys and what each does now.")
        listing.add_argument("--json", action="store_true", help="Print JSON.")

    def handle_rotate(self, **o) -> None:
        rotating = (o["algorithm"],) if o["algorithm"] else keys.ALGORITHMS
        active = [s.key.kid for s in keys.signing_key_statuses() if s.key.retired_at is None]
        new_keys = keys.signing_key_rotate(actor=None, algorithm=o["algorithm"])
        statuses = {s.key.kid: s for s in keys.signing_key_statuses()}
        new = [statuses[key.kid] for key in new_keys]
        retired = [statuses[kid] for kid in active if statuses[kid].key.algorithm in rotating]
        retired.sort(key=lambda status: keys.ALGORITHMS.index(status.key.algorithm))  # as the new keys
        if o["json"]:
            self.emit_json({"new": [s.as_dict() for s in new], "retired": [s.as_dict() for s in retired]})
            return
        for status in new:
            when = f"is published now and signs from {_utc(status.signs_from)}" if status.signs_from else "signs now"
            self.stdout.write(f"New {status.key.algorithm} signing key {status.key.kid}: it {when}.")
        for status in retired:
            self.stdout.write(
                f"Retired {status.key.algorithm} key {status.key.kid}: "
                f"stays in the JWKS until {_utc(status.key.published_until)}."
            )

    def handle_list(self, **o) -> None:
        statuses = keys.signing_key_statuses()
        if o["json"]:
            self.emit_json([s.as_dict() for s in statuses])
            return
        if not statuses:
            self.stdout.write("No signing keys yet; one per algorithm is generated when first needed.")
            return
        for status in statuses:
            key = status.key
            self.stdout.write(f"{key.kid}  {key.algorithm}  created {_utc(key.created)}  {_describe(status)}")
