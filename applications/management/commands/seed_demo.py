"""manage.py seed_demo: demo data for a development machine, safe to run again and again."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from applications import policies, services
from applications.models import ApiResource, Application, Scope
from config.cli import validation_error_line
from identity import services as identity_services
from identity.models import Role, User

DEMO_ADMIN_EMAIL = "admin@example.com"
DEMO_ADMIN_PASSWORD = "latchkey-demo-admin"
DEMO_USER_EMAIL = "alice@example.com"
DEMO_USER_PASSWORD = "latchkey-demo-alice"

DEMO_ROLES = {
    "latchkey:admin": "Administers Latchkey.",
    "streaming:subscriber": "Pays for the streaming service.",
}
DEMO_RESOURCE = {
    "identifier": "https://api.example.com/streaming",
    "name": "Streaming API",
    "scopes": {"stream:live": "Watch live streams", "events:read": "See the events you follow"},
}
DEMO_APPS = [
    {
        "name": "Demo Web Portal",
        "type": "web",
        "description": "The account portal, rendered on the server.",
        "redirect_uris": "http://127.0.0.1:5000/callback",
        "post_logout_redirect_uris": "http://127.0.0.1:5000/",
        "scopes": ["openid", "profile", "email", "offline_access"],
        "trusted": True,
    },
    {
        "name": "Demo Streaming SPA",
        "type": "spa",
        "description": "Watch live events in the browser.",
        "redirect_uris": "http://localhost:5173/callback",
        "allowed_origins": "http://localhost:5173",
        "scopes": ["openid", "profile", "email", "offline_access", "stream:live", "events:read"],
        "required_roles": ["streaming:subscriber"],
        "branding": {"logo_url": "", "primary_color": "#6D28D9", "secondary_color": "#F59E0B"},
    },
    {
        "name": "Demo TV App",
        "type": "native",
        "description": "The living-room app.",
        "redirect_uris": "com.example.tv:/callback http://127.0.0.1/callback",
        "scopes": ["openid", "profile", "offline_access", "stream:live"],
    },
    {
        "name": "Demo Management Client",
        "type": "m2m",
        "description": "Automation that manages Latchkey through the management API.",
        "scopes": ["management:read", "management:write"],
    },
    {
        "name": "Demo Events Service",
        "type": "m2m",
        "description": "Backend that syncs the event calendar.",
        "scopes": ["events:read"],
    },
]


class Command(BaseCommand):
    help = "Create demo users, roles, an API resource and one application of each type (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--admin-password",
            help=f"Password for {DEMO_ADMIN_EMAIL} (default: a demo password, allowed only with DJANGO_DEBUG=true).",
        )

    def handle(self, *args, admin_password: str | None = None, **options) -> None:
        try:
            self.seed(admin_password)
        except ValidationError as exc:
            raise CommandError(validation_error_line(exc)) from exc

    def seed(self, admin_password: str | None) -> None:
        if admin_password is not None:
            if not admin_password.strip():
                raise CommandError("--admin-password is empty; give a real password or leave the flag out.")
            password_validation.validate_password(admin_password)
        elif not settings.DEBUG:
            raise CommandError(
                "Refusing to create a demo admin with a published password while DJANGO_DEBUG is "
                "off; pass --admin-password."
            )
        created_secrets: list[tuple[str, str, str]] = []
        with transaction.atomic():
            roles = {
                name: Role.objects.get_or_create(name=name, defaults={"description": d})[0]
                for name, d in DEMO_ROLES.items()
            }
            admin = User.objects.filter(email=DEMO_ADMIN_EMAIL).first()
            if admin is None:
                admin = User.objects.create_superuser(
                    DEMO_ADMIN_EMAIL, admin_password or DEMO_ADMIN_PASSWORD, name="Demo Admin"
                )
            elif admin_password is not None:
                # An explicit password is what the operator wants the admin to have now.
                admin.set_password(admin_password)
                admin.save(update_fields=["password"])
            identity_services.role_assign(actor=None, user=admin, role=roles["latchkey:admin"])
            alice = User.objects.filter(email=DEMO_USER_EMAIL).first()
            if alice is None:
                alice = User.objects.create_user(
                    DEMO_USER_EMAIL,
                    DEMO_USER_PASSWORD,
                    name="Alice Example",
                    given_name="Alice",
                    family_name="Example",
                    email_verified=True,
                )
            identity_services.role_assign(actor=None, user=alice, role=roles["streaming:subscriber"])

            if not ApiResource.objects.filter(identifier=DEMO_RESOURCE["identifier"]).exists():
                services.api_resource_create(actor=None, **DEMO_RESOURCE)

            for spec in DEMO_APPS:
                if Application.objects.filter(name__iexact=spec["name"]).exists():
                    continue
                application = Application(
                    name=spec["name"],
                    type=spec["type"],
                    description=spec["description"],
                    redirect_uris=spec.get("redirect_uris", ""),
                    post_logout_redirect_uris=spec.get("post_logout_redirect_uris", ""),
                    allowed_origins=spec.get("allowed_origins", ""),
                    trusted=spec.get("trusted", False),
                    auth_methods=policies.default_auth_methods(),
                    owner=admin,
                )
                secret = services.application_create(
                    actor=admin,
                    application=application,
                    allowed_scopes=Scope.objects.filter(name__in=spec["scopes"]),
                    required_roles=[roles[r] for r in spec.get("required_roles", [])],
                    branding={k: v for k, v in spec.get("branding", {}).items() if v} or None,
                )
                if secret:
                    created_secrets.append((application.name, application.client_id, secret))

        base = settings.LATCHKEY_ISSUER
        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
        self.stdout.write(f"  Admin console: {base}/admin/")
        if admin_password is not None:
            shown_password = "(the password you gave)"
        elif admin.check_password(DEMO_ADMIN_PASSWORD):
            shown_password = DEMO_ADMIN_PASSWORD
        else:
            shown_password = "(unchanged: the account existed with another password)"
        self.stdout.write(f"  Admin:         {DEMO_ADMIN_EMAIL} / {shown_password}")
        self.stdout.write(f"  Demo user:     {DEMO_USER_EMAIL} / {DEMO_USER_PASSWORD}")
        for name, client_id, secret in created_secrets:
            self.stdout.write(f"  {name}: client_id {client_id}  client_secret {secret}  (shown once)")
