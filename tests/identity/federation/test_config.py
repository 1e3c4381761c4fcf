"""Sign-in providers in `config export/import`: exported without secrets, imported by the same rules."""

from __future__ import annotations

import pytest

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
