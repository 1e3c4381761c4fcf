"""The Application's one field list (applications.schema.FIELDS): every surface shows exactly it.

The API, `config export`, `app show` (text and --json), `app list --json`, `app create --json`,
the audit snapshot, the API's write serializer and the admin form all derive from the list; a
field added to it appears everywhere, and nothing else does.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
import yaml
from django.core.management import call_command

from applications import schema, selectors
from applications.api.serializers import ApplicationSerializer, ApplicationWriteSerializer
from applications.models import Application
from identity.models import AuditEvent
from tests.applications.factories import ScopeFactory, make_application
from tests.identity.factories import RoleFactory, UserFactory
from tests.identity.organizations.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

ALL = [field.name for field in schema.FIELDS]
CONFIG = [field.name for field in schema.FIELDS if field.config]
AUDITED = [field.name for field in schema.FIELDS if field.audited]
WRITABLE = [field.name for field in schema.FIELDS if field.writable]


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def application() -> Application:
    """An application with a non-empty value in every field, so no surface can hide one as empty."""
    app, _ = make_application(
        type="web",
        name="Every Field",
        description="All of them",
        post_logout_redirect_uris="https://web.example.com/bye",
        allowed_origins="https://web.example.com",
        allowed_scopes=[ScopeFactory(name="things:read")],
        required_roles=[RoleFactory(name="staff:all")],
        organization_access={"organizations": [OrganizationFactory(slug="acme").slug], "roles": []},
        algorithm="ES256",
        pkce_required=True,
        trusted=True,
        auth_methods=["password"],
        owner=UserFactory(email="owner@example.com"),
        branding={"primary_color": "#112233"},
    )
    return app


def test_field_names_are_unique_and_every_config_field_is_writable_or_the_key():
    assert len(ALL) == len(set(ALL))
    assert set(CONFIG) - set(WRITABLE) == {"client_id"}  # the entry's key, kept on import


def test_api_read_shows_exactly_the_field_list(writer, application):
    body = writer.get(f"/api/applications/{application.pk}").json()

    assert list(body) == ALL
    assert set(ApplicationSerializer().fields) == set(ALL)  # and documents exactly it (OpenAPI)


def test_api_write_parses_exactly_the_writable_fields():
    assert list(ApplicationWriteSerializer().fields) == WRITABLE


def test_api_create_and_rotation_show_the_field_list_plus_the_secret_once(writer):
    created = writer.post(
        "/api/applications",
        {"name": "Portal", "type": "web", "redirect_uris": ["https://portal.example.com/cb"]},
        format="json",
    ).json()
    rotated = writer.post(f"/api/applications/{created['id']}/regenerate-secret", {}, format="json").json()

    assert list(created) == [*ALL, "client_secret"]
    assert list(rotated) == [*ALL, "client_secret", "previous_secret_expires_at"]


def test_config_export_and_app_show_json_hold_exactly_the_config_fields(application):
    (entry,) = [e for e in yaml.safe_load(run("config", "export"))["applications"] if e["name"] == "Every Field"]
    shown = json.loads(run("app", "show", application.client_id, "--json"))

    assert list(entry) == CONFIG  # in the list's order: the file's key order
    assert shown == entry
    empty = [name for name in CONFIG if entry[name] in (None, "", [], {})]
    assert empty == ["m2m_roles"]  # only machine-to-machine apps hold roles


def test_app_show_text_and_json_listings_show_exactly_the_field_list(application):
    lines = run("app", "show", application.client_id).splitlines()
    (listed,) = [a for a in json.loads(run("app", "list", "--json")) if a["name"] == "Every Field"]

    assert [line.split(":", 1)[0] for line in lines] == ALL
    assert list(listed) == ALL
    assert listed == selectors.application_as_dict(application)


def test_app_create_json_shows_the_field_list_plus_the_secret_once():
    created = json.loads(
        run("app", "create", "--name", "Cli", "--type", "web", "--redirect-uri", "https://cli.example.com/cb", "--json")
    )

    assert list(created) == [*ALL, "client_secret"]


def test_audit_snapshot_holds_exactly_the_audited_fields(application):
    assert list(selectors.application_state(application)) == AUDITED
    (event,) = AuditEvent.objects.filter(action="application.created", target_label="Every Field")
    assert set(event.changes) == set(AUDITED)  # every value is set, so each is a change from nothing


def test_admin_form_edits_the_model_fields_behind_the_list(admin_client, application):
    form = admin_client.get(f"/admin/applications/application/{application.pk}/change/").context["adminform"].form

    behind = {model_field for field in schema.FIELDS for model_field in field.edited_model_fields}
    # Once the app exists its type is shown read-only; a web app holds no m2m roles (policies.TYPE_RULES).
    assert set(form.fields) == behind - {"type", "m2m_roles"}


def test_a_column_added_to_the_list_appears_on_every_surface(monkeypatch, writer, application, tmp_path):
    """What "adding a field" takes: the column (here one the toolkit's model already has) and one entry."""
    added = schema.ApplicationField("skip_authorization", column="skip_authorization")
    monkeypatch.setattr(schema, "FIELDS", (*schema.FIELDS, added))
    url = f"/api/applications/{application.pk}"

    assert writer.get(url).json()["skip_authorization"] is False
    changed = writer.patch(url, {"skip_authorization": True}, format="json")
    assert changed.status_code == 200, changed.json()
    assert changed.json()["skip_authorization"] is True
    assert writer.patch(url, {"skip_authorization": "maybe"}, format="json").json()["fields"] == {
        "skip_authorization": ["Must be a valid boolean."]
    }
    (event,) = AuditEvent.objects.filter(action="application.updated", target_id=str(application.pk))
    assert event.changes == {"skip_authorization": {"old": False, "new": True}}
    assert "skip_authorization: True" in run("app", "show", application.client_id).splitlines()

    document = yaml.safe_load(run("config", "export"))
    (entry,) = [e for e in document["applications"] if e["name"] == "Every Field"]
    assert entry["skip_authorization"] is True
    entry["skip_authorization"] = False
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(document))
    run("config", "import", str(path))
    assert Application.objects.get(pk=application.pk).skip_authorization is False
