"""System checks of the account settings: emails, the admin's second factor (registered by IdentityConfig.ready)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"


@checks.register(checks.Tags.security, deploy=True)
def check_email_backend(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Password-reset and invitation links are credentials: in production they must not land in the logs."""
    if settings.EMAIL_BACKEND != CONSOLE_BACKEND:
        return []
    return [
        checks.Warning(
            "Emails go to the console: password-reset, verification and invitation links would be written "
            "to stdout (your logs), and never reach anyone.",
            hint="Set EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587.",
            id="latchkey.W002",
        )
    ]


@checks.register(checks.Tags.security, deploy=True)
def check_admin_second_factor(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """A staff session reaches every setting and the management API: a password alone should not open it."""
    if settings.LATCHKEY_ADMIN_SECOND_FACTOR == "required":
        return []
    return [
        checks.Warning(
            "Staff sign in to the admin console (and use the management API with their session) with a password "
            "alone: LATCHKEY_ADMIN_SECOND_FACTOR=optional.",
            hint="Unset LATCHKEY_ADMIN_SECOND_FACTOR (or set it to required): staff then show a second factor.",
            id="latchkey.W004",
        )
    ]
