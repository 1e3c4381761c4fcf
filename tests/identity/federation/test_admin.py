"""The sign-in providers inline on the application's admin page: saved through the services, secrets write-only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from identity.federation.models import Provider
from identity.models import AuditEvent
from tests.applications.factories import make_application
from tests.applications.test_admin import page_form_data
from tests.identity.federation.factories import SECRET, make_provider

pytestmark = pytest.mark.django_db


def change_url(application) -> str:
    return reverse("admin:applications_application_change", args=[application.pk])


def new_provider_form(data: dict, index: int, **values: str) -> dict:
    data["providers-TOTAL_FORMS"] = str(index + 1)
    row = {"type": "", "client_id": "", "client_secret": "", "team_id": "", "key_id": "", "private_key": ""}
    row |= {"issuer": "", "display_name": "", "claim_mapping": "{}", "enabled": "on", **values}
    data.update({f"providers-{index}-{key}": value for key, value in row.items() if value is not None})
    return data


def test_adding_a_provider_in_the_inline_encrypts_and_audits_it(admin_client):
    application, _ = make_application(name="Portal")
    data = new_provider_form(
        page_form_data(admin_client.get(change_url(application))),
        0,
        type="github",
        client_id="Iv1",
        client_secret=SECRET,
    )
    response = admin_client.post(change_url(application), data)
    assert response.status_code == 302, response.context["inline_admin_formsets"][1].formset.errors
    provider = Provider.objects.get()
    assert provider.client_secret() == SECRET and provider.client_id == "Iv1"
    event = AuditEvent.objects.get(action="provider.created")
    assert event.actor_label == response.wsgi_request.user.email
    assert SECRET not in repr(event.changes)


def test_the_change_page_never_renders_a_secret(admin_client):
    application, _ = make_application(name="Portal")
    provider = make_provider(application, type="github")
    html = admin_client.get(change_url(application)).content.decode()
    assert "Set; leave blank to keep it" in html
    assert SECRET not in html and provider.client_secret_encrypted not in html


def test_an_unchanged_resubmit_keeps_the_secret(admin_client):
    application, _ = make_application(name="Portal")
    provider = make_provider(application, type="github")
    data = page_form_data(admin_client.get(change_url(application)))
    data["providers-0-client_id"] = "renamed"
    assert admin_client.post(change_url(application), data).status_code == 302
    provider.refresh_from_db()
    assert provider.client_id == "renamed" and provider.client_secret() == SECRET


def test_policy_errors_show_on_the_inline_and_nothing_is_saved(admin_client):
    application, _ = make_application(name="Portal")
    make_provider(application, type="github")
    data = page_form_data(admin_client.get(change_url(application)))
    data = new_provider_form(data, 1, type="github", client_id="again", client_secret="x")
    response = admin_client.post(change_url(application), data)
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][1].formset.forms[1].errors
    assert "already has a GitHub provider" in str(errors["type"])
    assert Provider.objects.count() == 1


def test_an_oidc_issuer_on_a_private_address_is_refused(admin_client):
    application, _ = make_application(name="Portal")
    data = new_provider_form(
        page_form_data(admin_client.get(change_url(application))),
        0,
        type="oidc",
        client_id="lk",
        client_secret="x",
        issuer="https://10.0.0.8",
    )
    response = admin_client.post(change_url(application), data)
    assert response.status_code == 200
    assert "private address" in str(response.context["inline_admin_formsets"][1].formset.forms[0].errors["issuer"])
    assert not Provider.objects.exists()


def test_deleting_in_the_inline_goes_through_the_service(admin_client):
    application, _ = make_application(name="Portal")
    make_provider(application, type="github")
    data = page_form_data(admin_client.get(change_url(application)))
    data["providers-0-DELETE"] = "on"
    assert admin_client.post(change_url(application), data).status_code == 302
    assert not Provider.objects.exists()
    assert AuditEvent.objects.filter(action="provider.deleted").exists()


def test_deleting_a_provider_the_app_lists_in_auth_methods_is_refused_on_the_page(admin_client):
    application, _ = make_application(name="Portal")
    provider = make_provider(application, type="github")
    type(application).objects.filter(pk=application.pk).update(auth_methods=["password", str(provider.pk)])
    data = page_form_data(admin_client.get(change_url(application)))
    data["providers-0-DELETE"] = "on"

    response = admin_client.post(change_url(application), data)

    assert response.status_code == 200
    assert "remove it from auth_methods first" in response.content.decode()
    assert Provider.objects.filter(pk=provider.pk).exists()
