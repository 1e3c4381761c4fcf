"""manage.py resource create | list"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from applications import services
from applications.models import ApiResource
from config.cli import SubcommandCommand


def parse_scope(value: str) -> tuple[str, str]:
    name, _, description = value.partition("=")
    return name.strip(), description.strip()


class Command(SubcommandCommand):
    help = "Manage API resources and the scopes they define."

    def add_verbs(self, subparsers) -> None:
        create = subparsers.add_parser("create", help="Define an API resource and its scopes.")
        create.add_argument(
            "--identifier", required=True, metavar="URI", help="Audience URI, e.g. https://api.example.com"
        )
        create.add_argument("--name", required=True)
        create.add_argument(
            "--scope",
            action="append",
            default=[],
            dest="scopes",
            metavar="NAME[=DESCRIPTION]",
            help="Repeatable. The description is shown on the consent screen.",
        )
        create.add_argument("--json", action="store_true")
        listing = subparsers.add_parser("list", help="List API resources with their scopes.")
        listing.add_argument("--json", action="store_true")

    def handle_create(self, **o) -> None:
        scopes: dict[str, str] = {}
        for raw in o["scopes"]:
            name, description = parse_scope(raw)
            if name in scopes:
                raise ValidationError({"scopes": [f"{name} is given twice."]})
            scopes[name] = description
        resource = services.api_resource_create(actor=None, identifier=o["identifier"], name=o["name"], scopes=scopes)
        if o["json"]:
            self.emit_json(_as_dict(resource))
        else:
            self.stdout.write(
                f"Created API resource {resource.name!r} ({resource.identifier}) "
                f"with scopes: {', '.join(scopes) or 'none'}"
            )

    def handle_list(self, **o) -> None:
        resources = list(ApiResource.objects.prefetch_related("scopes"))
        if o["json"]:
            self.emit_json([_as_dict(r) for r in resources])
            return
        for resource in resources:
            self.stdout.write(
                f"{resource.identifier}  {resource.name}: {', '.join(s.name for s in resource.scopes.all())}"
            )


def _as_dict(resource: ApiResource) -> dict:
    return {
        "id": resource.pk,
        "identifier": resource.identifier,
        "name": resource.name,
        "scopes": [{"name": s.name, "description": s.description} for s in resource.scopes.all()],
    }
