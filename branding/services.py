"""What an end-user page looks like: the application's brand, or the deployment's default brand.

Colours end up inside a <style> block, so every colour is re-checked here against #RRGGBB (rows
written around `Branding.clean()` and odd settings included) and replaced by a safe default if not.
Text colours on coloured surfaces are chosen by WCAG 2.1 contrast, not by the admin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist

from branding.models import logo_url_error

if TYPE_CHECKING:
    from applications.models import Application

COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
WHITE = "#FFFFFF"
NEAR_BLACK = "#111111"
PAGE_BACKGROUND = WHITE
# Used only when a setting is invalid (system check latchkey.E007 reports it).
FALLBACK_PRIMARY = "#1D4ED8"
FALLBACK_SECONDARY = "#F59E0B"
AA_TEXT_CONTRAST = 4.5  # WCAG 2.1 SC 1.4.3, normal-size text


@dataclass(frozen=True)
class ResolvedBrand:
    """Everything a page template needs; `is_default` is True when no application is in play."""

    name: str
    logo_url: str | None
    initial: str
    primary: str
    secondary: str
    on_primary: str  # button text on `primary`
    on_secondary: str  # text on `secondary` accents
    link: str  # link and focus-ring colour: `primary` when it is readable on the page, else near-black
    is_default: bool


def relative_luminance(colour: str) -> float:
    """WCAG 2.1 relative luminance of an sRGB #RRGGBB colour (0 black … 1 white)."""
    channels = []
    for offset in (1, 3, 5):
        c = int(colour[offset : offset + 2], 16) / 255
        # WCAG 2.1's definition, threshold 0.03928 (identical to sRGB's 0.04045 for 8-bit values).
        channels.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2.1 contrast ratio, 1 (none) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_colour_on(background: str) -> str:
    """White or near-black, whichever contrasts more with `background` (white on a tie)."""
    if contrast_ratio(WHITE, background) >= contrast_ratio(NEAR_BLACK, background):
        return WHITE
    return NEAR_BLACK


def initial_of(name: str) -> str:
    """The first letter or digit of the name, upper-cased; '?' for a name without one."""
    for character in name.strip():
        if character.isalnum():
            return character.upper()
    return "?"


def _colour(value: str | None, fallback: str) -> str:
    return value.upper() if value and COLOUR.match(value) else fallback


def _logo(value: str | None) -> str | None:
    return value if value and logo_url_error(value) is None else None


def _brand(*, name: str, logo_url: str | None, primary: str, secondary: str, is_default: bool) -> ResolvedBrand:
    link = primary if contrast_ratio(primary, PAGE_BACKGROUND) >= AA_TEXT_CONTRAST else NEAR_BLACK
    return ResolvedBrand(
        name=name,
        logo_url=logo_url,
        initial=initial_of(name),
        primary=primary,
        secondary=secondary,
        on_primary=text_colour_on(primary),
        on_secondary=text_colour_on(secondary),
        link=link,
        is_default=is_default,
    )


def default_primary() -> str:
    return _colour(settings.LATCHKEY_BRAND_PRIMARY_COLOR, FALLBACK_PRIMARY)


def default_secondary() -> str:
    return _colour(settings.LATCHKEY_BRAND_SECONDARY_COLOR, FALLBACK_SECONDARY)


def branding_for(application: Application | None, organization=None) -> ResolvedBrand:
    """The application's brand; blank fields take the default colours, a missing logo shows the app's initial.

    Without an application, the deployment's brand from settings. Reads `application.branding`:
    load the application with select_related("branding") to spend no query here. On a page shown in
    an organisation's context (`organization`: its logo_url, primary_color, secondary_color), the
    organisation's own logo and colours, where it sets them, override the application's.
    """
    brand = _application_brand(application)
    if organization is None:
        return brand
    return _brand(
        name=brand.name,
        logo_url=_logo(organization.logo_url) or brand.logo_url,
        primary=_colour(organization.primary_color, brand.primary),
        secondary=_colour(organization.secondary_color, brand.secondary),
        is_default=brand.is_default,
    )


def _application_brand(application: Application | None) -> ResolvedBrand:
    if application is None:
        name = (settings.LATCHKEY_BRAND_NAME or "").strip() or "Latchkey"
        return _brand(
            name=name,
            logo_url=_logo(settings.LATCHKEY_BRAND_LOGO_URL),
            primary=default_primary(),
            secondary=default_secondary(),
            is_default=True,
        )
    try:
        branding = application.branding
    except ObjectDoesNotExist:
        branding = None
    return _brand(
        name=application.name,
        logo_url=_logo(branding.logo_url) if branding else None,
        primary=_colour(branding.primary_color if branding else None, default_primary()),
        secondary=_colour(branding.secondary_color if branding else None, default_secondary()),
        is_default=False,
    )
