"""`manage.py app providers | provider-add | provider-remove`: the same services, secrets never printed."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from identity.federation.models import Provider
from tests.applications.factories import make_application
from tests.identity.federation.factories import SECRET, make_provider

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("app", *args, stdout=out)
    return out.getvalue()


def test_providers_lists_without_secrets():
    application, _ = make_application(name="Portal")
    github = make_provider(application, type="github")
    make_provider(application, type="oidc", display_name="Corp SSO")
    text = run("providers", application.client_id)
    assert f"{github.pk}  github" in text and "Corp SSO" in text and SECRET not in text
    listed = json.loads(run("providers", application.client_id, "--json"))
    assert [p["type"] for p in listed] == ["github", "oidc"]
    assert listed[0]["client_secret_set"] is True and SECRET not in json.dumps(listed)


def test_provider_add_reads_the_secret_from_stdin(monkeypatch):
    application, _ = make_application(name="Portal")
    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
    out = run(
        "provider-add",
        application.client_id,
        "--type",
        "github",
        "--provider-client-id",
        "Iv1",
        "--client-secret-stdin",
    )
    assert "Added GitHub sign-in provider" in out and SECRET not in out
    assert Provider.objects.get().client_secret() == SECRET


def test_provider_add_without_a_secret_is_refused_unless_disabled():
    application, _ = make_application(name="Portal")
    with pytest.raises(CommandError, match="client_secret: An enabled provider needs its client secret"):
        run("provider-add", application.client_id, "--type", "discord", "--provider-client-id", "d")
    run("provider-add", application.client_id, "--type", "discord", "--provider-client-id", "d", "--disabled")
    assert Provider.objects.get().enabled is False


def test_provider_remove():
    application, _ = make_application(name="Portal")
    provider = make_provider(application)
    assert "Removed the GitHub sign-in provider" in run("provider-remove", application.client_id, str(provider.pk))
    assert not Provider.objects.exists()
    with pytest.raises(CommandError, match="No sign-in provider"):
        run("provider-remove", application.client_id, str(provider.pk))
