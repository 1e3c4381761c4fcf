"""System checks of the account emails' settings (registered by IdentityConfig.ready)."""

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
