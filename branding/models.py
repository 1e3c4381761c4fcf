"""How an application's sign-in, consent, error and sign-out pages look."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from applications.policies import is_loopback_host

COLOUR_VALIDATOR = RegexValidator(r"^#[0-9A-Fa-f]{6}$", "Use a #RRGGBB colour, e.g. #1A73E8.")


def logo_url_error(url: str) -> str | None:
    """Logos are shown by the browser, never fetched by the server: https (loopback http in dev)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "Not a valid URL."
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return None
    return "The logo URL must use https (http only for localhost while developing)."


class Branding(models.Model):
    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="branding"
    )
    logo_url = models.URLField(
        "logo URL",
        max_length=500,
        blank=True,
        help_text="https URL of a square logo. Empty: the app's initial is shown.",
    )
    primary_color = models.CharField(
        max_length=7, blank=True, validators=[COLOUR_VALIDATOR], help_text="#RRGGBB for the main button and links."
    )
    secondary_color = models.CharField(
        max_length=7, blank=True, validators=[COLOUR_VALIDATOR], help_text="#RRGGBB for accents."
    )

    class Meta:
        verbose_name_plural = "branding"

    def __str__(self) -> str:
        return f"branding of {self.application}"

    def clean(self) -> None:
        if self.logo_url and (problem := logo_url_error(self.logo_url)):
            raise ValidationError({"logo_url": problem})
        self.primary_color = self.primary_color.upper()
        self.secondary_color = self.secondary_color.upper()
