"""manage.py role create | list"""

from __future__ import annotations

from applications.selectors import scopes_by_name
from config.cli import SubcommandCommand
from identity import services
from identity.models import Role


class Command(SubcommandCommand):
    help = "Manage roles."

    def add_verbs(self, subparsers) -> None:
        create = subparsers.add_parser("create", help="Create a role.")
        create.add_argument("name", metavar="NAME", help="e.g. latchkey:admin")
        create.add_argument("--description", default="")
        create.add_argument(
            "--scope",
            action="append",
            default=[],
            dest="scopes",
            help="Repeatable. A catalogue scope this role grants to m2m applications.",
        )
        create.add_argument("--json", action="store_true")
        listing = subparsers.add_parser("list", help="List roles.")
        listing.add_argument("--json", action="store_true")

    def handle_create(self, **o) -> None:
        scopes = scopes_by_name(o["scopes"], field="scopes")
        role = services.role_create(actor=None, name=o["name"], description=o["description"], scopes=scopes)
        if o["json"]:
            self.emit_json(_as_dict(role))
        else:
            self.stdout.write(f"Created role {role.name!r}")

    def handle_list(self, **o) -> None:
        roles = list(Role.objects.prefetch_related("scopes"))
        if o["json"]:
            self.emit_json([_as_dict(r) for r in roles])
            return
        for role in roles:
            self.stdout.write(f"{role.name}  {role.description}")


def _as_dict(role: Role) -> dict:
    return {
        "id": role.pk,
        "name": role.name,
        "description": role.description,
        "scopes": [s.name for s in role.scopes.all()],
    }
