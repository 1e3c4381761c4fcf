"""Single-row rules of organisations and organisation roles (Model.clean, keyed by field)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from identity.organizations.models import Organization, OrganizationRole

pytestmark = pytest.mark.django_db


def errors_of(obj) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        obj.full_clean()
    return caught.value.message_dict


@pytest.mark.parametrize("slug", ["Acme", "acme_eu", "-acme", "acme-", "ac me", "acmé"])
def test_organization_slug_not_lowercase_letters_digits_hyphens_is_refused(slug):
    assert "slug" in errors_of(Organization(name="Acme", slug=slug))


def test_organization_valid_fields_are_normalised():
    org = Organization(
        name="Acme",
        slug="acme-eu-2",
        primary_color="#aabbcc",
        logo_url="https://cdn.example.com/logo.png",
        jit_email_domains=["Example.COM", "@acme.io", "example.com"],
    )
    org.full_clean()
    assert org.primary_color == "#AABBCC"
    assert org.jit_email_domains == ["acme.io", "example.com"]


def test_organization_branding_uses_the_branding_rules():
    errors = errors_of(
        Organization(
            name="Acme", slug="acme", primary_color="blue", secondary_color="#12345", logo_url="http://x.com/l"
        )
    )
    assert errors["primary_color"] == ["Use a #RRGGBB colour, e.g. #1A73E8."]
    assert "secondary_color" in errors
    assert "https" in errors["logo_url"][0]


@pytest.mark.parametrize("domains", [["not a domain"], ["user@example.com"], "example.com", [1]])
def test_organization_bad_jit_domains_are_refused(domains):
    assert "jit_email_domains" in errors_of(Organization(name="Acme", slug="acme", jit_email_domains=domains))


def test_organization_role_scopes_must_be_organisation_scopes():
    errors = errors_of(OrganizationRole(name="admin", scopes=["organization:write", "openid"]))
    assert errors["scopes"] == ["Not an organisation scope: openid (use organization:read, organization:write)."]


def test_organization_role_scopes_are_sorted_and_deduplicated():
    role = OrganizationRole(name="admin", scopes=["organization:write", "organization:read", "organization:write"])
    role.full_clean()
    assert role.scopes == ["organization:read", "organization:write"]


def test_organization_role_name_uses_the_role_name_rule():
    assert "name" in errors_of(OrganizationRole(name="Admin Role", scopes=[]))
