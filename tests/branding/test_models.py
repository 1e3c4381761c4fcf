from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from branding.models import Branding
from tests.applications.factories import make_application


@pytest.mark.django_db
def test_branding_attached_one_to_one_and_colours_uppercased():
    application, _ = make_application(
        type="spa", branding={"logo_url": "https://cdn.example.com/logo.png", "primary_color": "#1a73e8"}
    )
    branding = Branding.objects.get(application=application)
    assert branding.primary_color == "#1A73E8"
    assert application.branding == branding


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"primary_color": "#12345"}, "branding.primary_color"),
        ({"secondary_color": "blue"}, "branding.secondary_color"),
        ({"primary_color": "#GGGGGG"}, "branding.primary_color"),
        ({"logo_url": "http://cdn.example.com/logo.png"}, "branding.logo_url"),
        ({"logo_url": "javascript:alert(1)"}, "branding.logo_url"),
    ],
)
def test_branding_rejects_bad_values_and_saves_nothing(values, field):
    from applications.models import Application

    with pytest.raises(ValidationError) as caught:
        make_application(type="web", branding=values)
    assert field in caught.value.message_dict
    assert not Application.objects.exists()


@pytest.mark.django_db
def test_branding_logo_on_loopback_allowed_for_development():
    application, _ = make_application(type="web", branding={"logo_url": "http://localhost:8000/logo.png"})
    assert application.branding.logo_url == "http://localhost:8000/logo.png"
