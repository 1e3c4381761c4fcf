"""What each user has allowed each application to do.

django-oauth-toolkit only infers consent from live access tokens, so it forgets it when the last
token expires; a Consent row lasts until the user or an admin revokes it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Consent(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents")
    application = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="consents"
    )
    scopes = models.JSONField(default=list, help_text="Scope names granted, sorted.")
    granted_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "application"], name="consent_consent_user_application_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.application}"
