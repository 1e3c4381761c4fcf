"""manage.py app create | list | show | rotate-secret | providers | provider-add | provider-remove | webhooks"""

from __future__ import annotations

import sys

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from applications import config_io, policies, schema, selectors, services
from applications.events import selectors as webhook_selectors
from applications.models import Application
from config.cli import SubcommandCommand
from identity.federation import selectors as provider_selectors
from identity.federation import services as provider_services
from identity.federation.models import Provider


class Command(SubcommandCommand):
    help = "Register and manage OAuth applications (clients)."
    flags_of_fields = {"grace_period_seconds": "--grace-period"}

    def add_verbs(self, subparsers) -> None:
        create = subparsers.add_parser("create", help="Register an application; prints its client secret once.")
        create.add_argument("--name", required=True)
        create.add_argument("--type", required=True, choices=policies.ApplicationType.values, dest="app_type")
        create.add_argument("--description", default="")
        create.add_argument(
            "--redirect-uri", action="append", default=[], dest="redirect_uris", help="Repeatable. Exact redirect URI."
        )
        create.add_argument(
            "--post-logout-uri",
            action="append",
            default=[],
            dest="post_logout_uris",
            help="Repeatable. Exact post-logout redirect URI.",
        )
        create.add_argument(
            "--scope",
            action="append",
            default=[],
            dest="scopes",
            help="Repeatable. A scope from the catalogue the app may request.",
        )
        create.add_argument(
            "--cors-origin",
            action="append",
            default=[],
            dest="cors_origins",
            help="Repeatable. Browser origin allowed for CORS (required for spa).",
        )
        create.add_argument(
            "--required-role",
            action="append",
            default=[],
            dest="required_roles",
            help="Repeatable. Users must hold this role to sign in.",
        )
        create.add_argument(
            "--m2m-role",
            action="append",
            default=[],
            dest="m2m_roles",
            help="Repeatable, m2m only. A role whose scopes the app's tokens may carry.",
        )
        create.add_argument(
            "--auth-method",
            action="append",
            default=None,
            dest="auth_methods",
            metavar="METHOD",
            help="Repeatable: password, the provider_id of one of the app's sign-in providers, or mfa to require "
            "a second factor too. Default: none listed, which accepts every method the app has enabled.",
        )
        create.add_argument("--trusted", action="store_true", help="First-party: skip the consent screen.")
        create.add_argument("--pkce-required", action="store_true", help="web only: require PKCE.")
        create.add_argument(
            "--access-token-ttl", type=int, default=policies.DEFAULT_ACCESS_TOKEN_TTL, metavar="SECONDS"
        )
        create.add_argument(
            "--refresh-token-ttl", type=int, default=policies.DEFAULT_REFRESH_TOKEN_TTL, metavar="SECONDS"
        )
        create.add_argument("--id-token-ttl", type=int, default=policies.DEFAULT_ID_TOKEN_TTL, metavar="SECONDS")
        create.add_argument(
            "--id-token-signed-response-alg",
            default="",
            metavar="ALG",
            dest="algorithm",
            help="RS256 or ES256 (about 5x cheaper to sign; the relying party must support it). "
            "Default: LATCHKEY_SIGNING_ALGORITHM.",
        )
        create.add_argument(
            "--no-refresh-token-rotation", action="store_true", help="Keep the same refresh token across refreshes."
        )
        create.add_argument("--inactive", action="store_true", help="Register it switched off.")
        create.add_argument("--owner", metavar="EMAIL", help="The user responsible for it.")
        create.add_argument("--logo-url", default="")
        create.add_argument("--primary-color", default="", metavar="#RRGGBB")
        create.add_argument("--secondary-color", default="", metavar="#RRGGBB")
        create.add_argument("--json", action="store_true", help="Print JSON.")

        listing = subparsers.add_parser("list", help="List applications.")
        listing.add_argument("--type", choices=policies.ApplicationType.values, dest="app_type")
        listing.add_argument("--json", action="store_true", help="Print JSON.")

        show = subparsers.add_parser("show", help="Show one application.")
        show.add_argument("client_id", metavar="CLIENT_ID")
        show.add_argument(
            "--json", action="store_true", help="Print JSON: the application as `config export` writes it."
        )

        rotate = subparsers.add_parser("rotate-secret", help="Issue a new client secret; prints it once.")
        rotate.add_argument("client_id", metavar="CLIENT_ID")
        rotate.add_argument(
            "--grace-period",
            type=int,
            default=0,
            metavar="SECONDS",
            help="Keep the old secret working this long (at most 604800, 7 days). Default: 0.",
        )
        rotate.add_argument("--json", action="store_true", help="Print JSON.")

        providers = subparsers.add_parser("providers", help="List an application's sign-in providers (no secrets).")
        providers.add_argument("client_id", metavar="CLIENT_ID")
        providers.add_argument("--json", action="store_true", help="Print JSON.")

        add = subparsers.add_parser(
            "provider-add",
            help="Add a sign-in provider. Secrets are read from stdin or a file, never from the command line.",
        )
        add.add_argument("client_id", metavar="CLIENT_ID", help="The application's client_id (ours).")
        add.add_argument("--type", required=True, choices=Provider.Type.values, dest="provider_type")
        add.add_argument("--provider-client-id", required=True, help="The application's client id at the provider.")
        add.add_argument(
            "--client-secret-stdin", action="store_true", help="Read the provider's client secret from stdin."
        )
        add.add_argument("--team-id", default="", help="Apple only.")
        add.add_argument("--key-id", default="", help="Apple only.")
        add.add_argument("--private-key-file", metavar="PATH", help="Apple only: the .p8 key.")
        add.add_argument("--issuer", default="", help="Generic OpenID Connect only: the issuer URL (https).")
        add.add_argument("--display-name", default="", help="Generic OpenID Connect only: the button's label.")
        add.add_argument("--disabled", action="store_true", help="Save it switched off (e.g. before its secret).")
        add.add_argument("--json", action="store_true", help="Print JSON.")

        remove = subparsers.add_parser("provider-remove", help="Remove a sign-in provider.")
        remove.add_argument("client_id", metavar="CLIENT_ID")
        remove.add_argument("provider_id", type=int, metavar="PROVIDER_ID")

        webhooks = subparsers.add_parser(
            "webhooks", help="List an application's webhooks and their last delivery (no secrets)."
        )
        webhooks.add_argument("client_id", metavar="CLIENT_ID")
        webhooks.add_argument("--json", action="store_true", help="Print JSON.")

    def handle_create(self, **o) -> None:
        owner = None
        if o["owner"]:
            owner = get_user_model().objects.filter(email__iexact=o["owner"].strip()).first()
            if owner is None:
                raise ValidationError({"owner": [f"No user with email {o['owner']!r}."]})
        errors: dict[str, list[str]] = {}
        for field, values in (
            ("redirect_uris", o["redirect_uris"]),
            ("post_logout_redirect_uris", o["post_logout_uris"]),
            ("allowed_origins", o["cors_origins"]),
        ):
            spaced = [v for v in values if len(v.split()) > 1]
            if spaced:
                errors[field] = [f"{v!r} contains whitespace; give each URI with its own flag." for v in spaced]
        named = {
            "allowed_scopes": o["scopes"],
            "access_control": {"required_roles": o["required_roles"]},
            "m2m_roles": o["m2m_roles"],
        }
        try:
            relations = selectors.application_relations(named, required_roles_field="required_roles")
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if errors:
            raise ValidationError(errors)
        # The flags under the field list's names (applications.schema), set on the columns as the API does.
        values = {
            "name": o["name"],
            "type": o["app_type"],
            "description": o["description"],
            "redirect_uris": o["redirect_uris"],
            "post_logout_redirect_uris": o["post_logout_uris"],
            "cors_origins": o["cors_origins"],
            "auth_methods": o["auth_methods"] if o["auth_methods"] is not None else policies.default_auth_methods(),
            "trusted": o["trusted"],
            "pkce_required": o["pkce_required"],
            "access_token_ttl": o["access_token_ttl"],
            "refresh_token_ttl": o["refresh_token_ttl"],
            "id_token_ttl": o["id_token_ttl"],
            "id_token_signed_response_alg": o["algorithm"],
            "refresh_token_rotation": not o["no_refresh_token_rotation"],
            "is_active": not o["inactive"],
        }
        application = Application(**schema.columns_from(values), owner=owner)
        branding = {k: o[k] for k in ("logo_url", "primary_color", "secondary_color") if o[k]}
        secret = services.application_create(
            actor=None, application=application, branding=branding or None, **relations
        )
        application = selectors.applications_for_listing().get(pk=application.pk)
        if o["json"]:
            self.emit_json({**selectors.application_as_dict(application), "client_secret": secret})
            return
        self.stdout.write(f"Created {application.type} application {application.name!r} (id {application.pk})")
        self.stdout.write(f"client_id:     {application.client_id}")
        if secret:
            self.stdout.write(f"client_secret: {secret}")
            self.stdout.write("Store the secret now: it is not shown again.")
        else:
            self.stdout.write("client_secret: none (public client)")

    def handle_list(self, **o) -> None:
        queryset = selectors.applications_for_listing()
        if o["app_type"]:
            queryset = queryset.filter(type=o["app_type"])
        apps = list(queryset)
        if o["json"]:
            self.emit_json([selectors.application_as_dict(app) for app in apps])
            return
        if not apps:
            self.stdout.write("No applications.")
        for app in apps:
            state = "active" if app.is_active else "inactive"
            self.stdout.write(f"{app.client_id}  {app.type:<6}  {state:<8}  {app.name}")

    def _get(self, client_id: str) -> Application:
        application = selectors.applications_for_listing().filter(client_id=client_id).first()
        if application is None:
            raise CommandError(f"No application with client_id {client_id!r}.")
        return application

    def handle_show(self, **o) -> None:
        application = self._get(o["client_id"])
        if o["json"]:
            # The entry `config export` writes for it, so it can be diffed against or pasted into a config file.
            self.emit_json(config_io.application_config(application))
            return
        for key, value in selectors.application_as_dict(application).items():
            self.stdout.write(f"{key}: {value}")

    def handle_rotate_secret(self, **o) -> None:
        application = self._get(o["client_id"])
        secret = services.application_rotate_secret(
            actor=None, application=application, grace_period_seconds=o["grace_period"]
        )
        previous = application.previous_secrets.filter(expires_at__isnull=False).first() if o["grace_period"] else None
        if o["json"]:
            self.emit_json(
                {
                    "client_id": application.client_id,
                    "client_secret": secret,
                    "previous_secret_expires_at": previous.expires_at.isoformat() if previous else None,
                }
            )
            return
        self.stdout.write(f"client_id:     {application.client_id}")
        self.stdout.write(f"client_secret: {secret}")
        if previous:
            self.stdout.write(f"The previous secret keeps working until {previous.expires_at:%Y-%m-%d %H:%M:%S} UTC.")
        else:
            self.stdout.write("The previous secret no longer works.")

    # --- sign-in providers (identity.federation) ---------------------------------------------------

    def handle_providers(self, **o) -> None:
        application = self._get(o["client_id"])
        providers = list(provider_selectors.providers_of(application))
        if o["json"]:
            self.emit_json([{"id": p.pk, **provider_selectors.provider_state(p)} for p in providers])
            return
        if not providers:
            self.stdout.write("No sign-in providers.")
        for p in providers:
            state = "enabled" if p.enabled else "disabled"
            secret = "secret set" if (p.private_key_set or p.client_secret_set) else "no secret"
            self.stdout.write(f"{p.pk}  {p.type:<9}  {state:<8}  {secret:<10}  {p.client_id}  {p.label}")

    def handle_provider_add(self, **o) -> None:
        application = self._get(o["client_id"])
        fields = {
            "type": o["provider_type"],
            "client_id": o["provider_client_id"],
            "team_id": o["team_id"],
            "key_id": o["key_id"],
            "issuer": o["issuer"],
            "display_name": o["display_name"],
            "enabled": not o["disabled"],
        }
        if o["client_secret_stdin"]:
            fields["client_secret"] = self.stdin_line()
        if o["private_key_file"]:
            try:
                with open(o["private_key_file"], encoding="utf-8") as key_file:
                    fields["private_key"] = key_file.read()
            except OSError as exc:
                raise CommandError(f"--private-key-file: {exc.strerror}.") from exc
        provider = provider_services.provider_create(actor=None, application=application, fields=fields)
        if o["json"]:
            self.emit_json({"id": provider.pk, **provider_selectors.provider_state(provider)})
            return
        self.stdout.write(f"Added {provider.label} sign-in provider (id {provider.pk}) to {application.name!r}.")

    def handle_provider_remove(self, **o) -> None:
        application = self._get(o["client_id"])
        provider = provider_selectors.providers_of(application).filter(pk=o["provider_id"]).first()
        if provider is None:
            raise CommandError(f"No sign-in provider {o['provider_id']} on {application.name!r}.")
        provider_services.provider_delete(actor=None, provider=provider)
        self.stdout.write(f"Removed the {provider.label} sign-in provider from {application.name!r}.")

    # --- webhooks (applications.events) ---------------------------------------------------------

    def handle_webhooks(self, **o) -> None:
        application = self._get(o["client_id"])
        webhooks = list(webhook_selectors.webhooks_of(application))
        if o["json"]:
            self.emit_json(
                [
                    {
                        "id": w.pk,
                        **webhook_selectors.webhook_state(w),
                        "last_delivery_state": w.last_delivery_state,
                        "last_delivery_status_code": w.last_delivery_status_code,
                    }
                    for w in webhooks
                ]
            )
            return
        if not webhooks:
            self.stdout.write("No webhooks.")
        for w in webhooks:
            state = "enabled" if w.enabled else "disabled"
            last = w.last_delivery_state or "no deliveries"
            self.stdout.write(f"{w.pk}  {state:<8}  {last:<13}  {w.url}  {', '.join(w.event_types)}")

    def stdin_line(self) -> str:
        return sys.stdin.readline().rstrip("\r\n")
