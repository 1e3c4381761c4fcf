"""The admin console for applications, API resources and scopes, driven through real admin URLs.

Every request goes through Django's test client as a signed-in superuser (the admin_client
fixture), so the forms, inlines, actions and templates are exercised as an operator uses them.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django import forms
from django.contrib import messages
from django.contrib.admin.utils import display_for_field
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from applications import secrets as client_secrets
from applications import services
from applications.models import ApiResource, Application, PreviousClientSecret, Scope
from branding.models import Branding
from identity.models import Role
from tests.applications.factories import (
    ApiResourceFactory,
    ScopeFactory,
    m2m_default_scope,
    make_application,
    not_before_entries,
)
from tests.conftest import staff_sign_in
from tests.identity.factories import RoleFactory, UserFactory
from tests.identity.federation.factories import make_provider

pytestmark = pytest.mark.django_db

CHANGELIST_URL = reverse("admin:applications_application_changelist")
BUILT_IN_RESOURCE = "urn:latchkey:management-api"  # Latchkey's own management API, from a data migration
ADD_URL = reverse("admin:applications_application_add")
RESOURCE_ADD_URL = reverse("admin:applications_apiresource_add")
RESOURCE_CHANGELIST_URL = reverse("admin:applications_apiresource_changelist")
SCOPE_CHANGELIST_URL = reverse("admin:applications_scope_changelist")
SECRET_PATTERN = re.compile(r'data-testid="client-secret">([^<]+)<')
TYPE_LABELS = {
    "web": "Web application",
    "spa": "Single-page application",
    "native": "Native (mobile, desktop, TV) application",
    "m2m": "Machine-to-machine",
}


# -- helpers --


def add_url(app_type: str) -> str:
    return f"{ADD_URL}?type={app_type}"


def change_url(application: Application) -> str:
    return reverse("admin:applications_application_change", args=[application.pk])


def branding_management(total: int = 0, initial: int = 0) -> dict[str, str]:
    return {
        "branding-TOTAL_FORMS": str(total),
        "branding-INITIAL_FORMS": str(initial),
        "branding-MIN_NUM_FORMS": "0",
        "branding-MAX_NUM_FORMS": "1",
    }


def branding_form(**values: str) -> dict[str, str]:
    """One new branding inline form (the add page starts with none: extra = 0)."""
    data = branding_management(total=1)
    data.update({"branding-0-logo_url": "", "branding-0-primary_color": "", "branding-0-secondary_color": ""})
    data.update({f"branding-0-{key}": value for key, value in values.items()})
    return data


def application_data(app_type: str, **overrides) -> dict:
    """POST data for the add form of `app_type`, as the rendered page would submit it."""
    data: dict = {"name": f"Admin {app_type} app", "description": "", "type": app_type, "owner": "", "is_active": "on"}
    data["access_token_ttl"] = "3600"
    if app_type == "m2m":
        data["m2m_roles"] = []
        data["allowed_scopes"] = [str(m2m_default_scope().pk)]
    else:
        data.update(
            {
                "redirect_uris": {
                    "web": "https://portal.example.com/callback\r\nhttps://portal.example.com/callback2",
                    "spa": "https://spa.example.com/callback",
                    "native": "com.example.app:/callback",
                }[app_type],
                "post_logout_redirect_uris": "",
                "allowed_origins": "https://spa.example.com" if app_type == "spa" else "",
                "allowed_scopes": [],
                "required_roles": [],
                "auth_methods": ["password"],
                "refresh_token_ttl": "2592000",
                "id_token_ttl": "3600",
                "refresh_token_rotation": "on",
            }
        )
    data.update(branding_management())
    data.update({"providers-TOTAL_FORMS": "0", "providers-INITIAL_FORMS": "0"})  # the sign-in providers inline
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def _form_values(form: forms.BaseForm, html: str) -> dict:
    """What a browser would submit for `form` unchanged: its rendered, enabled inputs as they are."""
    data: dict = {}
    for bound in form:
        if bound.field.disabled or f'name="{bound.html_name}"' not in html:
            continue
        value = bound.value()
        if isinstance(bound.field, forms.BooleanField):
            if value:
                data[bound.html_name] = "on"
            continue
        if value is None:
            value = ""
        data[bound.html_name] = [str(v) for v in value] if isinstance(value, list | tuple) else str(value)
    return data


def page_form_data(response) -> dict:
    """POST data that re-submits a rendered admin change form, inlines included, unchanged."""
    html = response.content.decode()
    data = _form_values(response.context["adminform"].form, html)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(_form_values(formset.management_form, html))
        for form in formset.forms:
            data.update(_form_values(form, html))
    return data


def field_errors(response, field: str) -> list[str]:
    return list(response.context["adminform"].form.errors.get(field, []))


def shown_secrets(response) -> list[str]:
    return SECRET_PATTERN.findall(response.content.decode())


def cache_directives(response) -> set[str]:
    return {part.strip() for part in response["Cache-Control"].split(",")}


def run_action(client, action: str, *applications: Application, follow: bool = False):
    return client.post(
        CHANGELIST_URL,
        {"action": action, "_selected_action": [str(a.pk) for a in applications], "index": "0"},
        follow=follow,
    )


def message_texts(response) -> list[tuple[int, str]]:
    return [(m.level, str(m)) for m in get_messages(response.wsgi_request)]


def reload(application: Application) -> Application:
    return Application.objects.get(pk=application.pk)


# -- changelist --


def test_application_changelist_any_app_shows_name_type_client_id_active_owner(admin_client, admin_user):
    application, _ = make_application(type="web", name="Billing Portal", owner=admin_user)

    response = admin_client.get(CHANGELIST_URL)

    assert response.status_code == 200
    changelist = response.context["cl"]
    assert list(changelist.list_display)[1:] == ["name", "type", "client_id", "is_active", "owner", "created"]
    assert list(changelist.result_list) == [application]
    html = response.content.decode()
    assert "Billing Portal" in html
    assert "Web application" in html
    assert application.client_id in html
    assert admin_user.email in html
    assert 'alt="True"' in html  # the active column's icon


def test_application_changelist_type_filter_spa_lists_only_spas(admin_client):
    spa, _ = make_application(type="spa", name="Player")
    make_application(type="web", name="Portal")
    make_application(type="m2m", name="Sync")

    response = admin_client.get(CHANGELIST_URL + "?type__exact=spa")

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [spa]


def test_application_changelist_active_filter_lists_only_matching_apps(admin_client):
    active, _ = make_application(type="web", name="Active Portal")
    inactive, _ = make_application(type="web", name="Retired Portal", is_active=False)

    inactive_response = admin_client.get(CHANGELIST_URL + "?is_active__exact=0")
    active_response = admin_client.get(CHANGELIST_URL + "?is_active__exact=1")

    assert list(inactive_response.context["cl"].result_list) == [inactive]
    assert list(active_response.context["cl"].result_list) == [active]


def test_application_changelist_search_by_name_finds_only_matches(admin_client):
    billing, _ = make_application(type="web", name="Billing Portal")
    make_application(type="web", name="Streaming Site")

    response = admin_client.get(CHANGELIST_URL + "?q=billing")

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [billing]


def test_application_changelist_search_by_client_id_finds_app(admin_client):
    billing, _ = make_application(type="web", name="Billing Portal")
    make_application(type="web", name="Streaming Site")

    response = admin_client.get(CHANGELIST_URL + f"?q={billing.client_id}")

    assert list(response.context["cl"].result_list) == [billing]


# -- add page: choosing the type --


def test_application_add_without_type_shows_chooser_with_all_four_types(admin_client):
    response = admin_client.get(ADD_URL)

    assert response.status_code == 200
    assert "admin/applications/application/choose_type.html" in [t.name for t in response.templates]
    assert "adminform" not in response.context
    html = response.content.decode()
    assert 'data-testid="application-types"' in html
    types = response.context["types"]
    assert [t["value"] for t in types] == ["web", "spa", "native", "m2m"]
    for item in types:
        assert item["label"] == TYPE_LABELS[item["value"]]
        assert item["description"]
        assert f'href="?type={item["value"]}"' in html
        assert item["label"] in html
        assert item["description"] in html


def test_application_add_unknown_type_shows_chooser(admin_client):
    response = admin_client.get(ADD_URL + "?type=desktop")

    assert response.status_code == 200
    assert "adminform" not in response.context
    assert len(response.context["types"]) == 4


def test_application_add_web_type_shows_redirect_and_pkce_fields(admin_client):
    response = admin_client.get(add_url("web"))

    assert response.status_code == 200
    html = response.content.decode()
    fields = response.context["adminform"].form.fields
    for name in ("redirect_uris", "pkce_required", "allowed_origins", "auth_methods", "refresh_token_rotation"):
        assert name in fields
        assert f'name="{name}"' in html
    assert 'name="m2m_roles"' not in html
    assert isinstance(fields["type"].widget, forms.HiddenInput)
    assert response.context["adminform"].form["type"].value() == "web"


def test_application_add_m2m_type_shows_roles_without_user_facing_fields(admin_client):
    RoleFactory(name="billing:service")
    response = admin_client.get(add_url("m2m"))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="m2m_roles"' in html
    assert 'name="allowed_scopes"' in html
    for name in ("redirect_uris", "post_logout_redirect_uris", "allowed_origins", "auth_methods", "pkce_required"):
        assert f'name="{name}"' not in html
    rendered = {f for _, opts in response.context["adminform"].fieldsets for f in opts["fields"]}
    assert not rendered & {
        "redirect_uris", "allowed_origins", "auth_methods", "refresh_token_ttl", "id_token_ttl", "algorithm"
    }  # fmt: skip


def test_application_add_spa_type_shows_origins_without_pkce_or_roles(admin_client):
    response = admin_client.get(add_url("spa"))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="allowed_origins"' in html
    assert 'name="redirect_uris"' in html
    assert 'name="pkce_required"' not in html
    assert 'name="m2m_roles"' not in html


def test_application_add_native_type_shows_redirects_without_pkce_or_roles(admin_client):
    response = admin_client.get(add_url("native"))

    html = response.content.decode()
    assert 'name="redirect_uris"' in html
    assert 'name="pkce_required"' not in html
    assert 'name="m2m_roles"' not in html


def test_application_add_any_type_describes_the_type(admin_client):
    response = admin_client.get(add_url("spa"))

    first_fieldset = response.context["adminform"].fieldsets[0]
    assert first_fieldset[0] == "Single-page application"
    assert "PKCE" in first_fieldset[1]["description"]
    assert "PKCE" in response.content.decode()


def test_application_add_page_branding_inline_uses_branding_prefix(admin_client):
    response = admin_client.get(add_url("web"))

    (inline,) = response.context["inline_admin_formsets"]
    assert inline.formset.prefix == "branding"
    assert inline.formset.management_form.initial == {
        "TOTAL_FORMS": 0,
        "INITIAL_FORMS": 0,
        "MIN_NUM_FORMS": 0,
        "MAX_NUM_FORMS": 1,
    }


# -- add: valid applications --


def test_application_add_valid_web_shows_secret_once_uncached(admin_client):
    response = admin_client.post(add_url("web"), application_data("web", name="Billing Portal"))

    assert response.status_code == 200
    assert "admin/applications/application/secret_once.html" in [t.name for t in response.templates]
    assert "no-store" in cache_directives(response)
    (secret,) = shown_secrets(response)
    html = response.content.decode()
    assert html.count(secret) == 1
    assert len(secret) >= 43
    application = Application.objects.get(name="Billing Portal")
    assert application.client_id in html


def test_application_add_valid_web_stores_only_hash_of_shown_secret(admin_client, admin_user):
    response = admin_client.post(add_url("web"), application_data("web", name="Billing Portal"))

    (secret,) = shown_secrets(response)
    application = Application.objects.get(name="Billing Portal")
    assert application.type == "web"
    assert application.owner == admin_user
    assert application.client_type == "confidential"
    assert application.client_secret.startswith("latchkey_hmac_sha256$")
    assert secret not in application.client_secret
    assert client_secrets.verify_client_secret(application, secret)
    assert not client_secrets.verify_client_secret(application, secret + "x")


def test_application_add_valid_web_saves_every_submitted_field(admin_client):
    openid, profile = Scope.objects.get(name="openid"), Scope.objects.get(name="profile")
    role = RoleFactory(name="billing:staff")
    data = application_data(
        "web",
        name="  Billing Portal  ",
        description="Invoices and payments",
        redirect_uris="https://billing.example.com/cb\r\n\r\nhttps://billing.example.com/cb2\r\n",
        post_logout_redirect_uris="https://billing.example.com/bye",
        allowed_scopes=[str(openid.pk), str(profile.pk)],
        required_roles=[str(role.pk)],
        access_token_ttl="600",
        refresh_token_ttl="86400",
        id_token_ttl="900",
        refresh_token_rotation=None,
        pkce_required="on",
        trusted="on",
    )

    response = admin_client.post(add_url("web"), data)

    assert response.status_code == 200, response.context["adminform"].form.errors
    application = Application.objects.get()
    assert application.name == "Billing Portal"
    assert application.description == "Invoices and payments"
    assert application.redirect_uri_list == ["https://billing.example.com/cb", "https://billing.example.com/cb2"]
    assert application.redirect_uris == "https://billing.example.com/cb\nhttps://billing.example.com/cb2"
    assert application.post_logout_redirect_uri_list == ["https://billing.example.com/bye"]
    assert set(application.allowed_scopes.all()) == {openid, profile}
    assert list(application.required_roles.all()) == [role]
    assert application.auth_methods == ["password"]
    assert (application.access_token_ttl, application.refresh_token_ttl, application.id_token_ttl) == (600, 86400, 900)
    assert application.refresh_token_rotation is False
    assert application.pkce_required is True
    assert application.trusted is True
    assert application.is_active is True


def test_application_add_with_chosen_owner_keeps_that_owner(admin_client):
    owner = UserFactory(email="owner@example.com")

    admin_client.post(add_url("web"), application_data("web", owner=str(owner.pk)))

    assert Application.objects.get().owner == owner


def test_application_add_valid_spa_redirects_without_secret(admin_client, admin_user):
    response = admin_client.post(add_url("spa"), application_data("spa", name="Player"))

    assert response.status_code == 302
    assert response["Location"] == CHANGELIST_URL
    application = Application.objects.get(name="Player")
    assert application.client_secret == ""
    assert application.client_type == "public"
    assert application.cors_origin_list == ["https://spa.example.com"]
    assert application.owner == admin_user


def test_application_add_valid_native_redirects_without_secret(admin_client):
    response = admin_client.post(add_url("native"), application_data("native", name="TV App"))

    assert response.status_code == 302
    application = Application.objects.get(name="TV App")
    assert application.client_secret == ""
    assert application.redirect_uri_list == ["com.example.app:/callback"]


def test_application_add_valid_m2m_with_role_shows_secret(admin_client):
    role = RoleFactory(name="billing:service")
    resource_scope = ScopeFactory(name="invoices:read")

    response = admin_client.post(
        add_url("m2m"),
        application_data("m2m", name="Invoice Sync", m2m_roles=[str(role.pk)], allowed_scopes=[str(resource_scope.pk)]),
    )

    assert response.status_code == 200
    (secret,) = shown_secrets(response)
    application = Application.objects.get(name="Invoice Sync")
    assert list(application.m2m_roles.all()) == [role]
    assert list(application.allowed_scopes.all()) == [resource_scope]
    assert application.authorization_grant_type == "client-credentials"
    assert application.redirect_uris == ""
    assert client_secrets.verify_client_secret(application, secret)


def test_application_change_page_after_create_never_shows_secret_or_hash(admin_client):
    response = admin_client.post(add_url("web"), application_data("web", name="Billing Portal"))
    (secret,) = shown_secrets(response)
    application = Application.objects.get(name="Billing Portal")

    change = admin_client.get(change_url(application))

    assert change.status_code == 200
    html = change.content.decode()
    assert secret not in html
    assert application.client_secret not in html
    assert "latchkey_hmac_sha256" not in html
    assert not shown_secrets(change)
    assert application.client_id in html
    assert "Set (stored as a hash; rotate it to get a new one)." in html


# -- add: invalid applications --


def _assert_nothing_created(response, field: str, fragment: str) -> None:
    assert response.status_code == 200
    errors = field_errors(response, field)
    assert any(fragment in error for error in errors), errors
    assert fragment in response.content.decode().replace("&#x27;", "'")
    assert not shown_secrets(response)
    assert not Application.objects.exists()
    assert not Branding.objects.exists()


def test_application_add_web_with_http_redirect_shows_error_creates_nothing(admin_client):
    data = application_data("web", redirect_uris="http://example.com/cb")

    response = admin_client.post(add_url("web"), data)

    _assert_nothing_created(response, "redirect_uris", "only allowed for loopback")


def test_application_add_web_without_redirect_uri_shows_error_creates_nothing(admin_client):
    response = admin_client.post(add_url("web"), application_data("web", redirect_uris=""))

    _assert_nothing_created(response, "redirect_uris", "needs at least one redirect URI")


def test_application_add_web_with_fragment_redirect_shows_error_creates_nothing(admin_client):
    response = admin_client.post(add_url("web"), application_data("web", redirect_uris="https://a.example.com/cb#x"))

    _assert_nothing_created(response, "redirect_uris", "fragment")


def test_application_add_spa_without_origins_shows_error_creates_nothing(admin_client):
    response = admin_client.post(add_url("spa"), application_data("spa", allowed_origins=""))

    _assert_nothing_created(response, "allowed_origins", "list its origins")


def test_application_add_spa_with_origin_path_shows_error_creates_nothing(admin_client):
    data = application_data("spa", allowed_origins="https://spa.example.com/app")

    response = admin_client.post(add_url("spa"), data)

    _assert_nothing_created(response, "allowed_origins", "remove the path")


def test_application_add_name_taken_in_other_case_shows_error_creates_nothing(admin_client):
    existing, _ = make_application(type="web", name="Billing Portal")

    response = admin_client.post(add_url("web"), application_data("web", name="BILLING portal"))

    assert response.status_code == 200
    assert field_errors(response, "name") == ["An application with this name already exists."]
    assert list(Application.objects.all()) == [existing]


def test_application_add_m2m_with_user_scope_shows_error_creates_nothing(admin_client):
    openid = Scope.objects.get(name="openid")

    response = admin_client.post(add_url("m2m"), application_data("m2m", allowed_scopes=[str(openid.pk)]))

    _assert_nothing_created(response, "allowed_scopes", "openid: user scopes mean nothing")


def test_application_add_m2m_without_any_scope_shows_error_creates_nothing(admin_client):
    role = RoleFactory(name="events:sync")  # a role without scopes gives the app none

    response = admin_client.post(add_url("m2m"), application_data("m2m", allowed_scopes=[], m2m_roles=[str(role.pk)]))

    _assert_nothing_created(response, "allowed_scopes", "needs at least one scope")


def test_application_add_token_lifetime_out_of_bounds_shows_error_creates_nothing(admin_client):
    response = admin_client.post(add_url("web"), application_data("web", access_token_ttl="10"))

    assert response.status_code == 200
    assert field_errors(response, "access_token_ttl")
    assert not Application.objects.exists()


def test_application_add_web_without_sign_in_method_accepts_every_enabled_method(admin_client):
    response = admin_client.post(add_url("web"), application_data("web", auth_methods=None))

    assert shown_secrets(response)  # created: the secret is shown once
    assert Application.objects.get().auth_methods == []


def test_application_add_unknown_sign_in_method_shows_error_creates_nothing(admin_client):
    response = admin_client.post(add_url("web"), application_data("web", auth_methods=["magic-link"]))

    assert response.status_code == 200
    assert field_errors(response, "auth_methods")
    assert not Application.objects.exists()


def test_application_add_without_type_in_url_post_creates_nothing(admin_client):
    response = admin_client.post(ADD_URL, application_data("web"))

    assert response.status_code == 200
    assert "types" in response.context
    assert not Application.objects.exists()


def test_application_add_posted_type_ignored_url_type_wins(admin_client):
    data = application_data("m2m", type="web")

    response = admin_client.post(add_url("m2m"), data)

    assert response.status_code == 200
    assert shown_secrets(response)
    assert Application.objects.get().type == "m2m"


def test_application_add_name_taken_during_save_shows_error_not_500(admin_client, monkeypatch):
    real_create = services.application_create

    def create_after_a_concurrent_insert(*, application, **kwargs):
        # Another admin saves the same name between this form's validation and its save.
        Application.objects.bulk_create([Application(name=application.name.upper(), type="m2m")])
        return real_create(application=application, **kwargs)

    monkeypatch.setattr(services, "application_create", create_after_a_concurrent_insert)

    response = admin_client.post(add_url("web"), application_data("web", name="Billing Portal"), follow=True)

    assert response.status_code == 200
    assert "Not saved: An application with this name already exists." in response.content.decode()
    assert not Application.objects.filter(name="Billing Portal").exists()
    assert not shown_secrets(response)


# -- branding inline --


def test_application_add_with_branding_saves_branding_row(admin_client):
    data = application_data(
        "web",
        name="Branded Portal",
        **branding_form(
            logo_url="https://cdn.example.com/logo.png", primary_color="#1a73e8", secondary_color="#FF8800"
        ),
    )

    response = admin_client.post(add_url("web"), data)

    assert response.status_code == 200
    application = Application.objects.get(name="Branded Portal")
    branding = Branding.objects.get(application=application)
    assert branding.logo_url == "https://cdn.example.com/logo.png"
    assert branding.primary_color == "#1A73E8"
    assert branding.secondary_color == "#FF8800"


def test_application_add_spa_with_branding_saves_branding_row(admin_client):
    data = application_data("spa", name="Branded Player", **branding_form(primary_color="#000000"))

    response = admin_client.post(add_url("spa"), data)

    assert response.status_code == 302
    assert Branding.objects.get().application.name == "Branded Player"


@pytest.mark.parametrize(
    ("values", "field", "fragment"),
    [
        ({"primary_color": "#12345"}, "primary_color", "#RRGGBB"),
        ({"secondary_color": "blue"}, "secondary_color", "#RRGGBB"),
        ({"logo_url": "http://evil.example.com/x.png"}, "logo_url", "must use https"),
        ({"logo_url": "javascript:alert(1)"}, "logo_url", "Enter a valid URL."),
    ],
)
def test_application_add_with_bad_branding_shows_inline_error_creates_nothing(admin_client, values, field, fragment):
    data = application_data("web", **branding_form(**values))

    response = admin_client.post(add_url("web"), data)

    assert response.status_code == 200
    (inline,) = response.context["inline_admin_formsets"]
    errors = inline.formset.forms[0].errors.get(field, [])
    assert any(fragment in error for error in errors), inline.formset.errors
    assert fragment in response.content.decode()
    assert not Application.objects.exists()
    assert not Branding.objects.exists()
    assert not shown_secrets(response)


def test_application_change_adding_branding_saves_branding_row(admin_client):
    application, _ = make_application(type="web", name="Portal")
    page = admin_client.get(change_url(application))
    data = page_form_data(page)
    data.update(branding_form(logo_url="https://cdn.example.com/p.png", primary_color="#abcdef"))

    response = admin_client.post(change_url(application), data)

    assert response.status_code == 302
    assert reload(application).branding.primary_color == "#ABCDEF"


def test_application_add_with_es256_saves_the_id_token_signing_algorithm(admin_client):
    response = admin_client.post(add_url("web"), application_data("web", name="Fast", algorithm="ES256"))

    assert shown_secrets(response)
    assert Application.objects.get(name="Fast").algorithm == "ES256"


def test_application_change_page_offers_the_deployment_default_rs256_and_es256_next_to_id_token_ttl(
    admin_client, settings
):
    settings.LATCHKEY_SIGNING_ALGORITHM = "ES256"
    application, _ = make_application(type="spa", name="Player")

    page = admin_client.get(change_url(application))

    tokens = next(opts["fields"] for title, opts in page.context["adminform"].fieldsets if title == "Tokens")
    assert tokens[tokens.index("id_token_ttl") + 1] == "algorithm"
    field = page.context["adminform"].form.fields["algorithm"]
    assert field.label == "ID token signing algorithm"
    assert [value for value, _ in field.choices] == ["", "RS256", "ES256"]
    assert dict(field.choices)[""] == "Deployment default (ES256)"
    assert "HS256" not in page.content.decode()


def test_application_change_sets_then_clears_the_id_token_signing_algorithm(admin_client):
    application, _ = make_application(type="native", name="TV")
    data = page_form_data(admin_client.get(change_url(application)))

    chosen = admin_client.post(change_url(application), {**data, "algorithm": "ES256"})
    assert chosen.status_code == 302
    assert reload(application).algorithm == "ES256"
    assert page_form_data(admin_client.get(change_url(application)))["algorithm"] == "ES256"
    cleared = admin_client.post(change_url(application), {**data, "algorithm": ""})

    assert cleared.status_code == 302
    assert reload(application).algorithm == ""


def test_application_change_hs256_posted_anyway_is_a_field_error(admin_client):
    application, _ = make_application(type="web", name="Portal")
    data = page_form_data(admin_client.get(change_url(application)))

    response = admin_client.post(change_url(application), {**data, "algorithm": "HS256"})

    assert response.status_code == 200
    assert field_errors(response, "algorithm")
    assert reload(application).algorithm == ""


def test_application_change_bad_branding_colour_shows_error_saves_nothing(admin_client):
    application, _ = make_application(type="spa", name="Player", branding={"primary_color": "#111111"})
    page = admin_client.get(change_url(application))
    data = page_form_data(page)
    data["branding-0-primary_color"] = "#12345"

    response = admin_client.post(change_url(application), data)

    assert response.status_code == 200
    inline = response.context["inline_admin_formsets"][0]
    assert inline.formset.prefix == "branding"
    assert inline.formset.forms[0].errors["primary_color"]
    assert Branding.objects.get(application=application).primary_color == "#111111"


# -- change page --


def test_application_change_page_shows_type_read_only(admin_client):
    application, _ = make_application(type="web", name="Portal")

    response = admin_client.get(change_url(application))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "type" not in form.fields
    assert "client_id" not in form.fields
    assert 'name="type"' not in response.content.decode()
    assert "Web application" in response.content.decode()


def test_application_change_posted_type_is_ignored(admin_client):
    application, _ = make_application(type="web", name="Portal")
    data = page_form_data(admin_client.get(change_url(application)))
    data["type"] = "spa"

    response = admin_client.post(change_url(application), data)

    assert response.status_code == 302
    stored = reload(application)
    assert stored.type == "web"
    assert stored.client_type == "confidential"
    assert stored.client_secret == application.client_secret


def test_application_change_redirect_uris_updated(admin_client):
    application, secret = make_application(type="web", name="Portal")
    data = page_form_data(admin_client.get(change_url(application)))
    data["redirect_uris"] = "https://portal.example.com/new\r\nhttp://localhost:3000/cb"

    response = admin_client.post(change_url(application), data)

    assert response.status_code == 302
    stored = reload(application)
    assert stored.redirect_uri_list == ["https://portal.example.com/new", "http://localhost:3000/cb"]
    assert client_secrets.verify_client_secret(stored, secret)  # editing never touches the secret


def test_application_change_invalid_redirect_uri_shows_error_keeps_old(admin_client):
    application, _ = make_application(type="web", name="Portal")
    data = page_form_data(admin_client.get(change_url(application)))
    data["redirect_uris"] = "https://portal.example.com/ok\r\nhttps://*.example.com/cb"

    response = admin_client.post(change_url(application), data)

    assert response.status_code == 200
    assert any("wildcard" in error for error in field_errors(response, "redirect_uris"))
    assert reload(application).redirect_uris == "https://web.example.com/callback"


def test_application_change_name_taken_in_other_case_shows_error(admin_client):
    make_application(type="web", name="Billing Portal")
    application, _ = make_application(type="web", name="Portal")
    data = page_form_data(admin_client.get(change_url(application)))
    data["name"] = "billing PORTAL"

    response = admin_client.post(change_url(application), data)

    assert response.status_code == 200
    assert field_errors(response, "name") == ["An application with this name already exists."]
    assert reload(application).name == "Portal"


def test_application_change_m2m_user_scope_shows_error(admin_client):
    application, _ = make_application(type="m2m", name="Sync")
    data = page_form_data(admin_client.get(change_url(application)))
    data["allowed_scopes"] = [str(Scope.objects.get(name="email").pk)]

    response = admin_client.post(change_url(application), data)

    assert response.status_code == 200
    assert any("email: user scopes" in error for error in field_errors(response, "allowed_scopes"))
    assert list(reload(application).allowed_scopes.values_list("name", flat=True)) == ["default:call"]


def test_application_change_scopes_and_roles_updated(admin_client):
    application, _ = make_application(type="m2m", name="Sync")
    role = RoleFactory(name="billing:service")
    scope = ScopeFactory(name="invoices:write")
    data = page_form_data(admin_client.get(change_url(application)))
    data["m2m_roles"] = [str(role.pk)]
    data["allowed_scopes"] = [str(scope.pk)]

    response = admin_client.post(change_url(application), data)

    assert response.status_code == 302
    assert list(application.m2m_roles.all()) == [role]
    assert list(application.allowed_scopes.all()) == [scope]


def test_application_change_unchanged_resubmit_keeps_everything(admin_client):
    openid = Scope.objects.get(name="openid")
    application, secret = make_application(
        type="web", name="Portal", allowed_scopes=[openid], branding={"primary_color": "#123456"}
    )
    data = page_form_data(admin_client.get(change_url(application)))

    response = admin_client.post(change_url(application), data)

    assert response.status_code == 302
    stored = reload(application)
    assert list(stored.allowed_scopes.all()) == [openid]
    assert stored.branding.primary_color == "#123456"
    assert stored.auth_methods == []
    assert client_secrets.verify_client_secret(stored, secret)


def test_application_change_page_public_app_says_it_has_no_secret(admin_client):
    application, _ = make_application(type="spa", name="Player")

    response = admin_client.get(change_url(application))

    assert "None: this type of application is public and has no secret." in response.content.decode()
    assert [i.formset.prefix for i in response.context["inline_admin_formsets"]] == ["branding", "providers"]


# -- actions --


def test_application_rotate_now_action_web_shows_new_secret_old_stops(admin_client):
    application, old = make_application(type="web", name="Portal")

    response = run_action(admin_client, "rotate_secret_now", application)

    assert response.status_code == 200
    assert "no-store" in cache_directives(response)
    (new,) = shown_secrets(response)
    assert new != old
    assert response.content.decode().count(new) == 1
    assert "Client secret rotated" in response.content.decode()
    stored = reload(application)
    assert client_secrets.verify_client_secret(stored, new)
    assert not client_secrets.verify_client_secret(stored, old)
    assert not PreviousClientSecret.objects.exists()


def test_application_rotate_now_action_several_apps_shows_each_secret(admin_client):
    web, _ = make_application(type="web", name="Portal")
    m2m, _ = make_application(type="m2m", name="Sync")

    response = run_action(admin_client, "rotate_secret_now", web, m2m)

    secrets_shown = shown_secrets(response)
    assert len(secrets_shown) == 2
    verified = {
        app.name
        for app in (reload(web), reload(m2m))
        for secret in secrets_shown
        if client_secrets.verify_client_secret(app, secret)
    }
    assert verified == {"Portal", "Sync"}


def test_application_rotate_with_grace_action_keeps_old_secret_for_24_hours(admin_client):
    application, old = make_application(type="web", name="Portal")
    before = timezone.now()

    response = run_action(admin_client, "rotate_secret_with_grace", application)

    assert response.status_code == 200
    assert "the old one works for 24 hours" in response.content.decode()
    (new,) = shown_secrets(response)
    stored = reload(application)
    assert client_secrets.verify_client_secret(stored, new)
    assert client_secrets.verify_client_secret(stored, old)
    previous = PreviousClientSecret.objects.get(application=application)
    assert before + timedelta(hours=24) <= previous.expires_at <= timezone.now() + timedelta(hours=24)


def test_application_change_page_after_grace_rotation_lists_expiry_without_hash(admin_client):
    application, _ = make_application(type="web", name="Portal")
    run_action(admin_client, "rotate_secret_with_grace", application)
    previous = PreviousClientSecret.objects.get(application=application)
    stored = reload(application)

    response = admin_client.get(change_url(application))

    assert response.status_code == 200
    html = response.content.decode()
    inline = next(i for i in response.context["inline_admin_formsets"] if i.formset.prefix == "previous_secrets")
    assert [form.instance for form in inline.formset.forms] == [previous]
    expires_field = PreviousClientSecret._meta.get_field("expires_at")
    assert str(display_for_field(previous.expires_at, expires_field, "-")) in html
    assert previous.secret_hash not in html
    assert stored.client_secret not in html
    assert "latchkey_hmac_sha256" not in html


def test_application_change_deleting_previous_secret_ends_its_grace(admin_client):
    application, old = make_application(type="web", name="Portal")
    run_action(admin_client, "rotate_secret_with_grace", application)
    data = page_form_data(admin_client.get(change_url(application)))
    data["previous_secrets-0-DELETE"] = "on"

    response = admin_client.post(change_url(application), data)

    assert response.status_code == 302
    assert not PreviousClientSecret.objects.exists()
    assert not client_secrets.verify_client_secret(reload(application), old)


def test_application_change_with_previous_secret_resubmit_keeps_it(admin_client):
    application, old = make_application(type="web", name="Portal")
    run_action(admin_client, "rotate_secret_with_grace", application)
    data = page_form_data(admin_client.get(change_url(application)))
    data["description"] = "Renamed nothing, described something"

    response = admin_client.post(change_url(application), data)

    assert response.status_code == 302
    assert reload(application).description == "Renamed nothing, described something"
    assert client_secrets.verify_client_secret(reload(application), old)


@pytest.mark.parametrize("action", ["rotate_secret_now", "rotate_secret_with_grace"])
def test_application_rotate_action_public_app_warns_without_secret_page(admin_client, action):
    application, _ = make_application(type="spa", name="Player")

    response = run_action(admin_client, action, application)

    assert response.status_code == 302
    assert (messages.WARNING, "No secret to rotate (public applications): Player.") in message_texts(response)
    assert reload(application).client_secret == ""
    assert not PreviousClientSecret.objects.exists()


def test_application_rotate_action_public_app_warning_is_shown_on_changelist(admin_client):
    application, _ = make_application(type="native", name="TV App")

    response = run_action(admin_client, "rotate_secret_now", application, follow=True)

    assert response.status_code == 200
    assert "No secret to rotate (public applications): TV App." in response.content.decode()
    assert not shown_secrets(response)


def test_application_rotate_action_mixed_selection_rotates_only_confidential(admin_client):
    web, old = make_application(type="web", name="Portal")
    spa, _ = make_application(type="spa", name="Player")

    response = run_action(admin_client, "rotate_secret_now", web, spa)

    assert response.status_code == 200
    (new,) = shown_secrets(response)
    assert client_secrets.verify_client_secret(reload(web), new)
    assert not client_secrets.verify_client_secret(reload(web), old)
    assert (messages.WARNING, "No secret to rotate (public applications): Player.") in message_texts(response)
    assert "No secret to rotate (public applications): Player." in response.content.decode()


def test_application_deactivate_action_marks_apps_inactive(admin_client):
    web, _ = make_application(type="web", name="Portal")
    spa, _ = make_application(type="spa", name="Player")
    untouched, _ = make_application(type="m2m", name="Sync")

    response = run_action(admin_client, "deactivate", web, spa)

    assert response.status_code == 302
    assert reload(web).is_active is False
    assert reload(spa).is_active is False
    assert reload(untouched).is_active is True
    assert (messages.SUCCESS, "Deactivated 2 application(s).") in message_texts(response)


def test_application_deactivate_action_ends_the_apps_jwt_access_tokens(admin_client):
    web, _ = make_application(type="web", name="Portal")
    untouched, _ = make_application(type="m2m", name="Sync")

    run_action(admin_client, "deactivate", web)
    run_action(admin_client, "deactivate", web)  # already inactive: nothing more

    assert not_before_entries() == {("", web.client_id, "application_deactivated")}


# -- access --


def test_application_changelist_non_staff_user_redirected_to_login(client):
    client.force_login(UserFactory(is_staff=False))

    response = client.get(CHANGELIST_URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_application_add_post_non_staff_user_redirected_creates_nothing(client):
    client.force_login(UserFactory(is_staff=False))

    response = client.post(add_url("web"), application_data("web"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert not Application.objects.exists()


def test_application_changelist_anonymous_redirected_to_login(client):
    response = client.get(CHANGELIST_URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.fixture
def view_only_client(client):
    """A staff member who may look at applications but not change them."""
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_application"))
    staff_sign_in(client, user)
    return client


def test_application_changelist_staff_without_permission_forbidden(client):
    staff_sign_in(client, UserFactory(is_staff=True))

    response = client.get(CHANGELIST_URL)

    assert response.status_code == 403


def test_application_change_page_view_only_staff_sees_no_form_inputs(view_only_client):
    application, _ = make_application(type="web", name="Portal")

    response = view_only_client.get(change_url(application))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="redirect_uris"' not in html
    assert application.client_secret not in html


def test_application_change_post_view_only_staff_forbidden(view_only_client):
    application, _ = make_application(type="web", name="Portal")

    response = view_only_client.post(change_url(application), {"name": "Hijacked"})

    assert response.status_code == 403
    assert reload(application).name == "Portal"


def test_application_changelist_view_only_staff_not_offered_secret_or_deactivate_actions(view_only_client):
    make_application(type="web", name="Portal")

    response = view_only_client.get(CHANGELIST_URL)

    action_form = response.context["action_form"]
    offered = {value for value, _ in action_form.fields["action"].choices} if action_form else set()
    assert not offered & {"rotate_secret_now", "rotate_secret_with_grace", "deactivate"}


def test_application_rotate_action_view_only_staff_rotates_nothing(view_only_client):
    application, old = make_application(type="web", name="Portal")

    response = run_action(view_only_client, "rotate_secret_now", application)

    assert not shown_secrets(response)
    assert client_secrets.verify_client_secret(reload(application), old)


def test_application_deactivate_action_view_only_staff_keeps_app_active(view_only_client):
    application, _ = make_application(type="web", name="Portal")

    run_action(view_only_client, "deactivate", application)

    assert reload(application).is_active is True


def test_application_add_chooser_view_only_staff_forbidden(view_only_client):
    response = view_only_client.get(ADD_URL)

    assert response.status_code == 403


def test_application_add_form_view_only_staff_forbidden(view_only_client):
    response = view_only_client.post(add_url("web"), application_data("web"))

    assert response.status_code == 403
    assert not Application.objects.exists()


# -- API resources and scopes --


def _resource_data(**overrides) -> dict:
    data = {
        "name": "Billing API",
        "identifier": "https://api.example.com/billing",
        "access_token_format": "opaque",
        "signing_alg": "ES256",
        "scopes-TOTAL_FORMS": "2",
        "scopes-INITIAL_FORMS": "0",
        "scopes-MIN_NUM_FORMS": "0",
        "scopes-MAX_NUM_FORMS": "1000",
        "scopes-0-name": "invoices:read",
        "scopes-0-description": "Read your invoices",
        "scopes-1-name": "invoices:write",
        "scopes-1-description": "Change your invoices",
    }
    data.update(overrides)
    return data


def test_api_resource_add_page_has_scope_inline(admin_client):
    response = admin_client.get(RESOURCE_ADD_URL)

    assert response.status_code == 200
    (inline,) = response.context["inline_admin_formsets"]
    assert inline.formset.prefix == "scopes"
    assert 'name="scopes-0-name"' in response.content.decode()


def test_api_resource_add_with_scope_inline_creates_scopes(admin_client):
    response = admin_client.post(RESOURCE_ADD_URL, _resource_data())

    assert response.status_code == 302
    resource = ApiResource.objects.get(identifier="https://api.example.com/billing")
    assert resource.name == "Billing API"
    assert {(s.name, s.description) for s in resource.scopes.all()} == {
        ("invoices:read", "Read your invoices"),
        ("invoices:write", "Change your invoices"),
    }


def test_api_resource_add_identifier_with_fragment_shows_error_creates_nothing(admin_client):
    response = admin_client.post(RESOURCE_ADD_URL, _resource_data(identifier="https://api.example.com/#billing"))

    assert response.status_code == 200
    assert any("fragment" in error for error in field_errors(response, "identifier"))
    assert not ApiResource.objects.exclude(identifier=BUILT_IN_RESOURCE).exists()
    assert not Scope.objects.filter(name__startswith="invoices").exists()


def test_api_resource_add_scope_name_with_space_shows_inline_error_creates_nothing(admin_client):
    response = admin_client.post(RESOURCE_ADD_URL, _resource_data(**{"scopes-1-name": "invoices write"}))

    assert response.status_code == 200
    (inline,) = response.context["inline_admin_formsets"]
    assert inline.formset.forms[1].errors["name"]
    assert not ApiResource.objects.exclude(identifier=BUILT_IN_RESOURCE).exists()


def test_api_resource_add_scope_name_taken_by_standard_scope_shows_error(admin_client):
    response = admin_client.post(RESOURCE_ADD_URL, _resource_data(**{"scopes-0-name": "openid"}))

    assert response.status_code == 200
    (inline,) = response.context["inline_admin_formsets"]
    assert inline.formset.forms[0].errors["name"]
    assert not ApiResource.objects.exclude(identifier=BUILT_IN_RESOURCE).exists()


def test_api_resource_changelist_shows_scope_names(admin_client):
    resource = ApiResourceFactory(name="Streaming API", identifier="https://api.example.com/streaming")
    ScopeFactory(name="stream:live", resource=resource)
    ScopeFactory(name="events:read", resource=resource)

    response = admin_client.get(RESOURCE_CHANGELIST_URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Streaming API" in html
    assert "events:read, stream:live" in html


def test_api_resource_changelist_search_by_scope_name_finds_resource(admin_client):
    streaming = ApiResourceFactory(name="Streaming API")
    ScopeFactory(name="stream:live", resource=streaming)
    ApiResourceFactory(name="Billing API")

    response = admin_client.get(RESOURCE_CHANGELIST_URL + "?q=stream:live")

    assert list(response.context["cl"].result_list) == [streaming]


def test_scope_changelist_lists_standard_scopes(admin_client):
    response = admin_client.get(SCOPE_CHANGELIST_URL)

    assert response.status_code == 200
    names = {scope.name for scope in response.context["cl"].result_list}
    assert {"openid", "profile", "email", "phone", "offline_access"} <= names
    html = response.content.decode()
    assert "standard (OpenID Connect)" in html
    assert "Sign you in with your account" in html


def test_scope_changelist_resource_empty_filter_lists_only_standard_scopes(admin_client):
    ScopeFactory(name="invoices:read")

    standard = admin_client.get(SCOPE_CHANGELIST_URL + "?resource__isempty=1")
    custom = admin_client.get(SCOPE_CHANGELIST_URL + "?resource__isempty=0")

    assert {s.name for s in standard.context["cl"].result_list} == {
        "openid",
        "profile",
        "email",
        "phone",
        "offline_access",
        "roles",
        "organization",
        "organization:read",
        "organization:write",
    }
    assert sorted(s.name for s in custom.context["cl"].result_list) == [
        "invoices:read",
        "management:read",
        "management:write",
    ]


def test_application_delete_from_admin_goes_through_the_service(admin_client, monkeypatch):
    application, _ = make_application(
        type="spa",
        name="Doomed SPA",
        allowed_origins="https://doomed.example.com",
        redirect_uris="https://doomed.example.com/cb",
    )
    calls = []
    real = services.application_delete

    def spy(**kwargs):
        calls.append(kwargs["application"].name)
        return real(**kwargs)

    monkeypatch.setattr(services, "application_delete", spy)
    url = reverse("admin:applications_application_delete", args=[application.pk])
    response = admin_client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert calls == ["Doomed SPA"]
    assert not Application.objects.filter(pk=application.pk).exists()

    second, _ = make_application(type="web", name="Bulk doomed")
    admin_client.post(CHANGELIST_URL, {"action": "delete_selected", "_selected_action": [second.pk], "post": "yes"})
    assert calls == ["Doomed SPA", "Bulk doomed"]


def test_api_resource_in_use_cannot_be_deleted_from_admin(admin_client):
    scope = ScopeFactory(name="billing:read")
    make_application(type="m2m", name="Billing job", allowed_scopes=[scope])
    url = reverse("admin:applications_apiresource_delete", args=[scope.resource.pk])

    response = admin_client.post(url, {"post": "yes"}, follow=True)

    assert response.status_code == 200
    assert "Not deleted: In use by applications Billing job" in response.content.decode()
    assert ApiResource.objects.filter(pk=scope.resource.pk).exists()


def test_role_gating_an_app_cannot_be_deleted_from_admin(admin_client):
    role = RoleFactory(name="billing:staff")
    make_application(type="web", name="Billing portal", required_roles=[role])
    response = admin_client.post(
        reverse("admin:identity_role_changelist"),
        {"action": "delete_selected", "_selected_action": [role.pk], "post": "yes"},
        follow=True,
    )
    assert "Not deleted" in response.content.decode()
    assert Role.objects.filter(pk=role.pk).exists()


def test_application_change_offers_its_own_providers_as_sign_in_methods(admin_client):
    application, _ = make_application(type="web", name="Portal")
    provider = make_provider(application, type="github")
    page = admin_client.get(change_url(application))
    assert f'value="{provider.pk}"' in page.content.decode()
    data = page_form_data(page)
    data["auth_methods"] = [str(provider.pk)]

    response = admin_client.post(change_url(application), data)

    assert response.status_code == 302
    assert reload(application).auth_methods == [str(provider.pk)]
