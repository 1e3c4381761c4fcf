"""manage.py user create"""

from __future__ import annotations

from config.cli import SubcommandCommand
from identity import services
from identity.models import Role
from identity.selectors import roles_by_name


class Command(SubcommandCommand):
    help = "Manage users."

    def add_verbs(self, subparsers) -> None:
        create = subparsers.add_parser("create", help="Create a user.")
        create.add_argument("--email", required=True)
        create.add_argument(
            "--password",
            help="Omit for a user who cannot sign in with a password (with LATCHKEY_REGISTRATION=invite, "
            "they are emailed a link to choose one).",
        )
        create.add_argument("--name", default="")
        create.add_argument("--given-name", default="")
        create.add_argument("--family-name", default="")
        create.add_argument("--role", action="append", default=[], dest="roles", help="Repeatable.")
        create.add_argument("--staff", action="store_true", help="May sign in to the admin console.")
        create.add_argument("--superuser", action="store_true", help="Staff with every permission.")
        create.add_argument("--json", action="store_true")

    def handle_create(self, **o) -> None:
        roles: list[Role] = roles_by_name(o["roles"], field="roles")
        user = services.user_create(
            actor=None,
            email=o["email"],
            password=o["password"],
            roles=roles,
            name=o["name"],
            given_name=o["given_name"],
            family_name=o["family_name"],
            is_staff=o["staff"] or o["superuser"],
            is_superuser=o["superuser"],
        )
        if o["json"]:
            self.emit_json(
                {
                    "id": user.pk,
                    "sub": str(user.public_id),
                    "email": user.email,
                    "roles": [r.name for r in roles],
                    "is_staff": user.is_staff,
                }
            )
        else:
            self.stdout.write(f"Created user {user.email} (sub {user.public_id})")
