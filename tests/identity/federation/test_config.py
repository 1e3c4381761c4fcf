"""Sign-in providers in `config export/import`: exported without secrets, imported by the same rules."""

from __future__ import annotations

import pytest

from applications.models import Application
from identity.federation.models import Provider
from tests.applications.factories import make_application
from tests.applications.test_config_commands import export, export_document, import_error, import_file
from tests.identity.federation.factories import SECRET, make_provider

pytestmark = pytest.mark.django_db


def test_export_lists_providers_without_secrets():
    application, _ = make_application(name="Portal")
    make_provider(application, type="github")
    make_provider(application, type="apple")
    make_provider(application, type="oidc", claim_mapping={"email": "upn"})
    text = export()
    assert SECRET not in text and "PRIVATE KEY" not in text and "secret_set" not in text
    (entry,) = export_document()["applications"]
    assert entry["providers"] == [
        {
            "type": "apple",
            "client_id": "apple-client-id",
            "team_id": "TEAM123456",
            "key_id": "KEY1234567",
            "enabled": True,
        },
        {"type": "github", "client_id": "github-client-id", "enabled": True},
        {
            "type": "oidc",
            "client_id": "oidc-client-id",
            "issuer": "https://idp.example.com",
            "display_name": "Example SSO",
            "claim_mapping": {"email": "upn"},
            "enabled": True,
        },
    ]


def test_round_trip_changes_nothing_and_keeps_secrets(tmp_path):
    application, _ = make_application(name="Portal")
    make_provider(application, type="github")
    make_provider(application, type="oidc")
    document = export_document()
    out = import_file(tmp_path, document)
    assert "Nothing to change" in out
    assert export_document() == document
    assert Provider.objects.get(type="github").client_secret() == SECRET


def test_import_into_a_fresh_database_needs_disabled_or_a_secret(tmp_path):
    application, _ = make_application(name="Portal")
    make_provider(application, type="github")
    document = export_document()
    Provider.objects.all().delete()
    _, lines = import_error(tmp_path, document)
    assert "providers.0.client_secret: The file carries no secret for this new github provider" in " ".join(lines)
    assert not Provider.objects.exists()

    document["applications"][0]["providers"][0]["enabled"] = False
    import_file(tmp_path, document)
    provider = Provider.objects.get()
    assert provider.enabled is False and not provider.client_secret_set


def test_import_may_carry_a_secret_and_removes_unlisted_providers(tmp_path):
    application, _ = make_application(name="Portal")
    make_provider(application, type="discord")
    document = export_document()
    document["applications"][0]["providers"] = [{"type": "google", "client_id": "g", "client_secret": "from-vault"}]
    out = import_file(tmp_path, document)
    assert "from-vault" not in out
    (provider,) = Provider.objects.all()
    assert provider.type == "google" and provider.client_secret() == "from-vault"


def test_import_refuses_bad_providers_with_field_names(tmp_path):
    make_application(name="Portal")
    document = export_document()
    document["applications"][0]["providers"] = [
        {"type": "myspace", "client_id": "x"},
        {"type": "oidc", "client_id": "x", "issuer": "https://127.0.0.1", "enabled": False},
    ]
    _, lines = import_error(tmp_path, document)
    assert "providers.0.type" in " ".join(lines)
    assert not Provider.objects.exists()


def _list_methods(application, methods: list[str]) -> None:
    from applications import services as application_services

    application.auth_methods = methods
    application_services.application_update(actor=None, application=application)


def _portal_with_listed_providers():
    application, _ = make_application(name="Portal")
    github = make_provider(application, type="github")
    sso = make_provider(application, type="oidc")
    make_provider(application, type="oidc", issuer="https://other.example.com", display_name="Other")
    _list_methods(application, ["password", str(github.pk), str(sso.pk)])
    return application


def test_export_names_listed_providers_by_type_or_oidc_issuer_not_by_id():
    _portal_with_listed_providers()
    (entry,) = export_document()["applications"]
    assert entry["auth_methods"] == ["password", "github", "oidc:https://idp.example.com"]


def test_export_then_import_into_a_fresh_database_accepts_the_same_methods(tmp_path):
    application = _portal_with_listed_providers()
    _list_methods(application, [*application.auth_methods, "mfa"])  # the second-factor requirement travels too
    document = export_document()
    old_ids = set(Provider.objects.values_list("pk", flat=True))
    application.delete()  # as a fresh database: no application, no provider, new ids
    for provider in document["applications"][0]["providers"]:
        provider["client_secret"] = "from-vault"

    out = import_file(tmp_path, document, "--dry-run")
    assert "create" in out and not Application.objects.exists()

    import_file(tmp_path, document)
    imported = Application.objects.get()
    github = Provider.objects.get(type="github")
    sso = Provider.objects.get(issuer="https://idp.example.com")
    assert {github.pk, sso.pk}.isdisjoint(old_ids)
    assert imported.auth_methods == ["password", str(github.pk), str(sso.pk), "mfa"]
    assert export_document()["applications"] == document_without_secrets(document)["applications"]
    assert "Nothing to change" in import_file(tmp_path, document_without_secrets(document))


def document_without_secrets(document: dict) -> dict:
    for provider in document["applications"][0]["providers"]:
        provider.pop("client_secret", None)
    return document


def test_import_replaces_a_listed_provider_by_a_new_one_in_one_go(tmp_path):
    _portal_with_listed_providers()
    document = export_document()
    document["applications"][0]["providers"] = [{"type": "google", "client_id": "g", "client_secret": "from-vault"}]
    document["applications"][0]["auth_methods"] = ["google"]
    import_file(tmp_path, document)
    google = Provider.objects.get()
    assert Application.objects.get().auth_methods == [str(google.pk)]


@pytest.mark.parametrize("reference", ["discord", "oidc:https://unknown.example.com", "facebook"])
def test_an_unknown_reference_fails_naming_the_application_and_the_reference(tmp_path, reference):
    application = _portal_with_listed_providers()
    document = export_document()
    document["applications"][0]["auth_methods"] = ["password", reference]
    for args in ((), ("--dry-run",)):
        _, lines = import_error(tmp_path, document, *args)
        text = " ".join(lines)
        assert f"application {application.client_id!r}: auth_methods:" in text and repr(reference) in text
    application.refresh_from_db()
    assert len(application.auth_methods) == 3


def test_a_legacy_numeric_id_of_this_applications_provider_still_imports(tmp_path):
    application, _ = make_application(name="Portal")
    github = make_provider(application, type="github")
    other, _ = make_application(name="Other")
    foreign = make_provider(other, type="github")
    document = export_document()
    (entry,) = [e for e in document["applications"] if e["client_id"] == application.client_id]
    entry["auth_methods"] = [str(github.pk)]
    import_file(tmp_path, document)
    application.refresh_from_db()
    assert application.auth_methods == [str(github.pk)]

    entry["auth_methods"] = [str(foreign.pk)]
    _, lines = import_error(tmp_path, document)
    assert f"application {application.client_id!r}: auth_methods:" in " ".join(lines)
    application.refresh_from_db()
    assert application.auth_methods == [str(github.pk)]
