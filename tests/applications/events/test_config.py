"""Webhooks in `manage.py config export | import`: never a secret, matched by (application, url),
a fresh secret printed once for each created, idempotent, and shown by the dry run."""

from __future__ import annotations

import pytest
import yaml

from applications.events.models import Webhook
from identity.models import AuditEvent
from tests.applications.events.factories import URL, make_webhook
from tests.applications.factories import make_application
from tests.applications.test_config_commands import export, export_document, import_error, import_file

pytestmark = pytest.mark.django_db


def printed_secrets(out: str) -> dict[str, str]:
    return {
        line.split(" of ", 2)[1].split(" ", 2)[1]: line.rpartition(": ")[2]
        for line in out.splitlines()
        if line.startswith("signing secret of webhook ")
    }


def test_config_export_lists_webhooks_without_secrets():
    app = make_application(name="Billing")[0]
    _, app_secret = make_webhook(app, event_types=["consent.granted", "user.signed_in"], description="CRM")
    _, wide_secret = make_webhook(None, url="https://hr.example.com/hook", event_types=["user.created"], enabled=False)
    text = export()
    document = yaml.safe_load(text)
    billing = next(a for a in document["applications"] if a["name"] == "Billing")
    assert billing["webhooks"] == [
        {"url": URL, "event_types": ["user.signed_in", "consent.granted"], "description": "CRM", "enabled": True}
    ]
    assert document["webhooks"] == [
        {"url": "https://hr.example.com/hook", "event_types": ["user.created"], "description": "", "enabled": False}
    ]
    assert app_secret not in text and wide_secret not in text and "secret" not in text


def test_config_export_without_deployment_webhooks_has_no_webhooks_section():
    make_webhook(make_application()[0])
    assert "webhooks" not in export_document()


def test_config_round_trip_into_empty_database_creates_webhooks_with_fresh_secrets(tmp_path):
    app = make_application(name="Billing")[0]
    _, old_app_secret = make_webhook(app)
    _, old_wide_secret = make_webhook(None, url="https://hr.example.com/hook", event_types=["user.created"])
    first = export()
    Webhook.objects.all().delete()

    out = import_file(tmp_path, first)

    assert export() == first
    secrets = printed_secrets(out)
    assert set(secrets) == {URL, "https://hr.example.com/hook"}
    assert Webhook.objects.get(application=app).signing_secrets() == [secrets[URL]]
    wide = Webhook.objects.get(application=None)
    assert wide.signing_secrets() == [secrets["https://hr.example.com/hook"]]
    assert old_app_secret not in secrets.values() and old_wide_secret not in secrets.values()
    assert "not shown again" in out
    for row in AuditEvent.objects.filter(target_type="webhook"):
        assert all(s not in str(row.changes) for s in secrets.values())


def test_config_import_same_file_twice_changes_nothing(tmp_path):
    app = make_application(name="Billing")[0]
    make_webhook(app)
    make_webhook(None, url="https://hr.example.com/hook", event_types=["user.created"])
    document = export_document()
    document["applications"][0]["webhooks"][0]["description"] = "changed"
    document["webhooks"].append({"url": "https://audit.example.com/in", "event_types": ["user.deleted"]})
    import_file(tmp_path, document)
    secrets = {w.pk: w.secret_encrypted for w in Webhook.objects.all()}
    audit_rows = AuditEvent.objects.count()

    out = import_file(tmp_path, document)

    assert out.splitlines()[-1].startswith("Nothing to change")
    assert {w.pk: w.secret_encrypted for w in Webhook.objects.all()} == secrets
    assert AuditEvent.objects.count() == audit_rows
    assert "signing secret" not in out


def test_config_import_updates_existing_webhook_matched_by_url_and_keeps_its_secret(tmp_path):
    app = make_application(name="Billing")[0]
    webhook, secret = make_webhook(app)
    document = export_document()
    document["applications"][0]["webhooks"][0].update(event_types=["consent.revoked"], enabled=False)

    dry = import_file(tmp_path, document, "--dry-run")
    assert "Dry run" in dry and "webhooks" in dry and "consent.revoked" in dry
    webhook.refresh_from_db()
    assert webhook.event_types == ["user.signed_in"]

    out = import_file(tmp_path, document)
    webhook.refresh_from_db()
    assert webhook.event_types == ["consent.revoked"] and webhook.enabled is False
    assert webhook.signing_secrets() == [secret] and Webhook.objects.count() == 1
    assert "signing secret" not in out


def test_config_import_dry_run_of_new_webhook_creates_nothing_and_prints_no_secret(tmp_path):
    make_application(name="Billing")
    document = export_document()
    document["applications"][0]["webhooks"] = [{"url": URL, "event_types": ["user.signed_in"]}]
    document["webhooks"] = [{"url": "https://hr.example.com/hook", "event_types": ["user.created"]}]
    out = import_file(tmp_path, document, "--dry-run")
    assert "a new signing secret would be issued" in out and "whsec_" not in out
    assert "create     webhook https://hr.example.com/hook" in out
    assert not Webhook.objects.exists()


def test_config_import_bad_webhook_is_named_and_nothing_changes(tmp_path):
    make_application(name="Billing")
    document = export_document()
    document["applications"][0]["webhooks"] = [
        {"url": URL, "event_types": ["user.signed_in"]},
        {"url": "https://10.0.0.1/x", "event_types": ["user.teleported"]},
    ]
    message, lines = import_error(tmp_path, document)
    assert "nothing was changed" in message
    assert "webhooks.1.url" in lines[0] and "webhooks.1.event_types" in lines[0]
    assert not Webhook.objects.exists()


def test_config_import_same_url_twice_is_refused(tmp_path):
    make_application(name="Billing")
    document = export_document()
    document["applications"][0]["webhooks"] = [
        {"url": URL, "event_types": ["user.signed_in"]},
        {"url": URL, "event_types": ["consent.granted"]},
    ]
    _, lines = import_error(tmp_path, document)
    assert "listed twice" in lines[0]
    document = {"version": 1, "webhooks": [{"url": URL, "event_types": ["user.created"]}] * 2}
    message, _ = import_error(tmp_path, document)
    assert "appears twice" in message


def test_app_webhooks_lists_them_as_json_without_secrets():
    import json

    from tests.applications.test_config_commands import run

    app = make_application(name="Billing")[0]
    webhook, secret = make_webhook(app, description="CRM")
    make_webhook(None, url="https://hr.example.com/hook", event_types=["user.created"])
    out, _ = run("app", "webhooks", app.client_id, "--json")
    assert json.loads(out) == [
        {
            "id": webhook.pk,
            "url": URL,
            "description": "CRM",
            "event_types": ["user.signed_in"],
            "enabled": True,
            "disabled_reason": "",
            "last_delivery_state": None,
            "last_delivery_status_code": None,
        }
    ]
    assert secret not in out
    text, _ = run("app", "webhooks", app.client_id)
    assert URL in text and "enabled" in text
