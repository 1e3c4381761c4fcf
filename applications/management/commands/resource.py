"""manage.py resource create | update | list"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from applications import services
from applications.models import ApiResource
from applications.selectors import RESOURCE_TOKEN_FIELDS, api_resource_token_settings
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
        _token_arguments(create)
        create.add_argument("--json", action="store_true")
        update = subparsers.add_parser("update", help="Change an API resource's name or access-token settings.")
        update.add_argument("--identifier", required=True, metavar="URI", help="The resource to change.")
        update.add_argument("--name")
        _token_arguments(update)
        update.add_argument("--json", action="store_true")
        listing = subparsers.add_parser("list", help="List API resources with their scopes.")
        listing.add_argument("--json", action="store_true")

    def handle_create(self, **o) -> None:
        scopes: dict[str, str] = {}
        for raw in o["scopes"]:
            name, description = parse_scope(raw)
            if name in scopes:
                raise ValidationError({"scopes": [f"{name} is given twice."]})
            scopes[name] = description
        resource = services.api_resource_create(
            actor=None, identifier=o["identifier"], name=o["name"], scopes=scopes, token_settings=_token_settings(o)
        )
        if o["json"]:
            self.emit_json(_as_dict(resource))
        else:
            self.stdout.write(
                f"Created API resource {resource.name!r} ({resource.identifier}) "
                f"with scopes: {', '.join(scopes) or 'none'}"
            )

    def handle_update(self, **o) -> None:
        resource = ApiResource.objects.filter(identifier=o["identifier"]).first()
        if resource is None:
            raise ValidationError({"identifier": [f"No API resource has the identifier {o['identifier']!r}."]})
        services.api_resource_update(
            actor=None, resource=resource, name=o["name"] or resource.name, token_settings=_token_settings(o)
        )
        if o["json"]:
            self.emit_json(_as_dict(resource))
        else:
            self.stdout.write(f"Updated API resource {resource.name!r} ({resource.identifier})")

    def handle_list(self, **o) -> None:
        resources = list(ApiResource.objects.prefetch_related("scopes"))
        if o["json"]:
            self.emit_json([_as_dict(r) for r in resources])
            return
        for resource in resources:
            self.stdout.write(
                f"{resource.identifier}  {resource.name}: {', '.join(s.name for s in resource.scopes.all())}"
            )


def _token_arguments(parser) -> None:
    parser.add_argument(
        "--access-token-format",
        choices=ApiResource.TokenFormat.values,
        help="opaque (default): checked by introspection; jwt: an RFC 9068 JWT the API verifies with the JWKS.",
    )
    parser.add_argument(
        "--access-token-ttl", type=int, metavar="SECONDS", help="Caps the lifetime of tokens for this API; 0: none."
    )
    parser.add_argument("--signing-alg", help="ES256 (default) or RS256: signs its JWT access tokens.")
    parser.add_argument(
        "--introspecting-client",
        metavar="CLIENT_ID",
        help="The API's own confidential client, which may introspect its tokens; empty string: none.",
    )


def _token_settings(o: dict) -> dict:
    given = {field: o.get(field) for field in RESOURCE_TOKEN_FIELDS if o.get(field) is not None}
    if given.get("access_token_ttl") == 0:
        given["access_token_ttl"] = None
    if given.get("introspecting_client") == "":
        given["introspecting_client"] = None
    return given


def _as_dict(resource: ApiResource) -> dict:
    return {
        "id": resource.pk,
        "identifier": resource.identifier,
        "name": resource.name,
        **api_resource_token_settings(resource),
        "scopes": [{"name": s.name, "description": s.description} for s in resource.scopes.all()],
    }
