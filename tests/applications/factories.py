"""Factories that go through applications.services, so test data obeys the same rules as real data."""

from __future__ import annotations

import factory

from applications import services
from applications.models import ApiResource, Application, Scope

DEFAULTS_BY_TYPE = {
    "web": {"redirect_uris": "https://web.example.com/callback"},
    "spa": {"redirect_uris": "https://spa.example.com/callback", "allowed_origins": "https://spa.example.com"},
    "native": {"redirect_uris": "com.example.app:/callback"},
    "m2m": {},
}


def make_application(
    *, type: str = "web", allowed_scopes=(), required_roles=(), m2m_roles=(), branding=None, **fields
) -> tuple[Application, str | None]:
    """Create an application through the service; returns (application, plaintext secret or None)."""
    values = {"name": f"{type} app {Application.objects.count() + 1}", **DEFAULTS_BY_TYPE[type], **fields}
    application = Application(type=type, **values)
    secret = services.application_create(
        actor=None,
        application=application,
        allowed_scopes=allowed_scopes,
        required_roles=required_roles,
        m2m_roles=m2m_roles,
        branding=branding,
    )
    return application, secret


class ApiResourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiResource

    identifier = factory.Sequence(lambda n: f"https://api{n}.example.com")
    name = factory.Sequence(lambda n: f"API {n}")


class ScopeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Scope

    name = factory.Sequence(lambda n: f"things{n}:read")
    description = "Read your things"
    resource = factory.SubFactory(ApiResourceFactory)
