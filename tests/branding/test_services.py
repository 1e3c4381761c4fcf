"""The resolved brand: fallbacks to the deployment's brand, the initial, and WCAG contrast choices."""

from __future__ import annotations

import pytest

from branding.checks import check_default_brand
from branding.models import Branding
from branding.services import (
    NEAR_BLACK,
    WHITE,
    branding_for,
    contrast_ratio,
    initial_of,
    relative_luminance,
    text_colour_on,
)
from tests.applications.factories import make_application


@pytest.fixture
def default_brand(settings):
    settings.LATCHKEY_BRAND_NAME = "Acme ID"
    settings.LATCHKEY_BRAND_LOGO_URL = ""
    settings.LATCHKEY_BRAND_PRIMARY_COLOR = "#1d4ed8"
    settings.LATCHKEY_BRAND_SECONDARY_COLOR = "#F59E0B"
    return settings


def test_branding_for_no_application_gives_default_brand_from_settings(default_brand):
    brand = branding_for(None)

    assert brand.is_default
    assert (brand.name, brand.initial, brand.logo_url) == ("Acme ID", "A", None)
    assert (brand.primary, brand.secondary) == ("#1D4ED8", "#F59E0B")


def test_branding_for_no_application_shows_default_logo_when_set(default_brand):
    default_brand.LATCHKEY_BRAND_LOGO_URL = "https://cdn.example.com/acme.svg"
    assert branding_for(None).logo_url == "https://cdn.example.com/acme.svg"


@pytest.mark.django_db
def test_branding_for_app_without_branding_row_uses_its_name_initial_and_default_colours(default_brand):
    application, _ = make_application(type="web", name="streamline")

    brand = branding_for(application)

    assert not brand.is_default
    assert (brand.name, brand.initial, brand.logo_url) == ("streamline", "S", None)
    assert (brand.primary, brand.secondary) == ("#1D4ED8", "#F59E0B")


@pytest.mark.django_db
def test_branding_for_app_with_blank_fields_falls_back_field_by_field(default_brand):
    application, _ = make_application(type="web", name="Half", branding={"secondary_color": "#10b981"})

    brand = branding_for(application)

    assert brand.logo_url is None
    assert brand.primary == "#1D4ED8"
    assert brand.secondary == "#10B981"


@pytest.mark.django_db
def test_branding_for_app_with_full_branding_uses_it():
    application, _ = make_application(
        type="web",
        name="Branded",
        branding={
            "logo_url": "https://cdn.example.com/logo.png",
            "primary_color": "#0f766e",
            "secondary_color": "#7C3AED",
        },
    )

    brand = branding_for(application)

    assert brand.logo_url == "https://cdn.example.com/logo.png"
    assert (brand.primary, brand.secondary) == ("#0F766E", "#7C3AED")


@pytest.mark.django_db
def test_branding_for_row_written_around_validation_never_reaches_the_page(default_brand):
    """Colours go into a <style> block: a value that skipped clean() must not inject CSS."""
    application, _ = make_application(type="web", branding={"primary_color": "#000000"})
    Branding.objects.filter(application=application).update(
        primary_color="red;}a{", secondary_color="#12", logo_url="javascript:alert(1)"
    )
    application.refresh_from_db()

    brand = branding_for(application)

    assert (brand.primary, brand.secondary, brand.logo_url) == ("#1D4ED8", "#F59E0B", None)


def test_branding_for_invalid_default_colour_setting_falls_back_to_built_in(default_brand):
    default_brand.LATCHKEY_BRAND_PRIMARY_COLOR = "blue"
    assert branding_for(None).primary == "#1D4ED8"


@pytest.mark.parametrize(
    ("name", "initial"),
    [("streamline", "S"), ("  éclair", "É"), ("3D Viewer", "3"), ("(beta) Tools", "B"), ("--", "?"), ("", "?")],
)
def test_initial_of_name_is_first_letter_or_digit_upper_cased(name, initial):
    assert initial_of(name) == initial


def test_relative_luminance_of_black_and_white_per_wcag():
    assert relative_luminance("#000000") == 0
    assert relative_luminance("#FFFFFF") == pytest.approx(1)


@pytest.mark.parametrize(
    ("first", "second", "ratio"),
    [
        ("#000000", "#FFFFFF", 21.0),
        ("#FFFFFF", "#FFFFFF", 1.0),
        ("#777777", "#FFFFFF", 4.48),  # the classic "just fails AA" grey
        ("#1D4ED8", "#FFFFFF", 6.70),
        ("#FACC15", "#111111", 12.33),
    ],
)
def test_contrast_ratio_matches_wcag_values(first, second, ratio):
    assert contrast_ratio(first, second) == pytest.approx(ratio, abs=0.01)
    assert contrast_ratio(second, first) == pytest.approx(ratio, abs=0.01)


def test_text_colour_on_dark_primary_is_white_with_aa_contrast():
    assert text_colour_on("#1E3A8A") == WHITE
    assert contrast_ratio(WHITE, "#1E3A8A") >= 4.5


def test_text_colour_on_light_primary_is_near_black_with_aa_contrast():
    assert text_colour_on("#FACC15") == NEAR_BLACK
    assert contrast_ratio(NEAR_BLACK, "#FACC15") >= 4.5


@pytest.mark.django_db
def test_branding_for_light_primary_keeps_links_readable_on_white():
    application, _ = make_application(type="web", branding={"primary_color": "#FACC15", "secondary_color": "#1E3A8A"})

    brand = branding_for(application)

    assert (brand.on_primary, brand.on_secondary) == (NEAR_BLACK, WHITE)
    assert brand.link == NEAR_BLACK  # yellow text on white would fail AA; the underline stays yellow


@pytest.mark.django_db
def test_branding_for_dark_primary_uses_it_for_links():
    application, _ = make_application(type="web", branding={"primary_color": "#1E3A8A"})
    assert branding_for(application).link == "#1E3A8A"


def test_check_default_brand_accepts_the_defaults(default_brand):
    assert check_default_brand(None) == []


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("LATCHKEY_BRAND_PRIMARY_COLOR", "blue"),
        ("LATCHKEY_BRAND_SECONDARY_COLOR", "#12345"),
        ("LATCHKEY_BRAND_PRIMARY_COLOR", "#1D4ED8;}"),
        ("LATCHKEY_BRAND_LOGO_URL", "http://cdn.example.com/logo.png"),
        ("LATCHKEY_BRAND_LOGO_URL", "javascript:alert(1)"),
    ],
)
def test_check_default_brand_reports_bad_setting_as_e007(default_brand, setting, value):
    setattr(default_brand, setting, value)

    messages = check_default_brand(None)

    assert [m.id for m in messages] == ["latchkey.E007"]
    assert setting in messages[0].msg
