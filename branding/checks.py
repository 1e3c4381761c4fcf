"""System checks of the default brand's settings (registered by BrandingConfig.ready)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from branding.models import logo_url_error
from branding.services import COLOUR


@checks.register()
def check_default_brand(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """The default brand lands in every end-user page's <style> block and <img>: only safe values."""
    messages = []
    for name in ("LATCHKEY_BRAND_PRIMARY_COLOR", "LATCHKEY_BRAND_SECONDARY_COLOR"):
        value = getattr(settings, name, "")
        if not isinstance(value, str) or not COLOUR.match(value):
            messages.append(
                checks.Error(
                    f"{name}={value!r} is not a #RRGGBB colour.",
                    hint=f"Set {name} to a colour such as #1D4ED8.",
                    id="latchkey.E007",
                )
            )
    logo = getattr(settings, "LATCHKEY_BRAND_LOGO_URL", "")
    if logo and (problem := logo_url_error(logo)):
        messages.append(
            checks.Error(
                f"LATCHKEY_BRAND_LOGO_URL={logo!r}: {problem}",
                hint="Use an https URL of the logo (the browser loads it), or leave it empty to show the initial.",
                id="latchkey.E007",
            )
        )
    return messages
