"""`manage.py config export | import` and `app show --json`: configuration as code.

Tests run the commands as an operator would and check what they see (the document, the diff, the
one-line errors) and what the database holds afterwards.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
import yaml
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError

from applications.models import ApiResource, Application, Scope
from applications.secrets import verify_client_secret
from branding.models import Branding
from identity.models import Role
from tests.applications.factories import make_application
from tests.applications.test_commands import db_counts
from tests.identity.factories import RoleFactory

pytestmark = pytest.mark.django_db


def run(*args: str, stdin: str | None = None) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    extra = {"stdin": StringIO(stdin)} if stdin is not None else {}
    call_command(*args, stdout=out, stderr=err, **extra)
    return out.getvalue(), err.getvalue()


def export(*args: str) -> str:
    return run("config", "export", *args)[0]


def export_document() -> dict:
    return yaml.safe_load(export())


def import_file(tmp_path, document: dict | str, *args: str, name: str = "config.yaml") -> str:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document, sort_keys=False))
    return run("config", "import", str(path), *args)[0]


def import_error(tmp_path, document: dict | str, *args: str) -> tuple[str, list[str]]:
    """Run an import that must fail; return its one-line message and the per-item lines on stderr."""
    path = tmp_path / "bad.yaml"
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document, sort_keys=False))
    err = StringIO()
    with pytest.raises(CommandError) as exc_info:
        call_command("config", "import", str(path), *args, stdout=StringIO(), stderr=err)
    message = str(exc_info.value)
    assert "\n" not in message
    return message, err.getvalue().splitlines()


def state() -> dict:
    """Everything an import could change, including when each application was last written."""
    return {
        "counts": db_counts(),
        "apps": sorted(Application.objects.values_list("client_id", "name", "updated")),
        "resources": sorted(ApiResource.objects.values_list("identifier", "name")),
        "scopes": sorted(Scope.objects.values_list("name", "description", "resource_id")),
        "roles": sorted(Role.objects.values_list("name", "description")),
        "role_scopes": sorted(Role.scopes.through.objects.values_list("role_id", "scope_id")),
        "branding": sorted(Branding.objects.values_list("application_id", "primary_color")),
    }


def scopes(*names: str) -> list[Scope]:
    return list(Scope.objects.filter(name__in=names))


@pytest.fixture
def demo(settings):
    settings.DEBUG = True
    run("seed_demo")


def entry_of(document: dict, name: str) -> dict:
    return next(app for app in document["applications"] if app["name"] == name)


# ---------------------------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------------------------


def test_config_name_is_ours_and_shadows_no_other_command():
    assert get_commands()["config"] == "applications"


def test_config_export_describes_resources_roles_and_applications_without_secrets():
    run("resource", "create", "--identifier", "https://api.example.com/billing", "--name", "Billing API",
        "--scope", "invoices:read=Read your invoices")  # fmt: skip
    RoleFactory(name="billing:service").scopes.set(scopes("invoices:read"))
    viewer = RoleFactory(name="billing:viewer")
    web, web_secret = make_application(
        type="web",
        name="Billing Portal",
        allowed_scopes=scopes("openid", "invoices:read"),
        required_roles=[viewer],
        branding={"primary_color": "#1a73e8"},
        pkce_required=True,
        access_token_ttl=600,
    )
    sync, sync_secret = make_application(
        type="m2m", name="Invoice Sync", m2m_roles=[Role.objects.get(name="billing:service")]
    )

    text = export()
    document = yaml.safe_load(text)

    assert list(document) == ["version", "api_resources", "roles", "applications"]
    assert document["version"] == 1
    billing = next(r for r in document["api_resources"] if r["identifier"] == "https://api.example.com/billing")
    assert billing == {
        "identifier": "https://api.example.com/billing",
        "name": "Billing API",
        "access_token_format": "opaque",
        "access_token_ttl": None,
        "signing_alg": "ES256",
        "introspecting_client": None,
        "scopes": [{"name": "invoices:read", "description": "Read your invoices"}],
    }
    assert document["roles"] == [
        {"name": "billing:service", "description": "A role for tests", "scopes": ["invoices:read"]},
        {"name": "billing:viewer", "description": "A role for tests", "scopes": []},
    ]
    portal = entry_of(document, "Billing Portal")
    assert portal == {
        "client_id": web.client_id,
        "name": "Billing Portal",
        "type": "web",
        "description": "",
        "redirect_uris": ["https://web.example.com/callback"],
        "post_logout_redirect_uris": [],
        "cors_origins": [],
        "allowed_scopes": ["invoices:read", "openid"],
        "access_token_ttl": 600,
        "refresh_token_ttl": 2592000,
        "id_token_ttl": 3600,
        "id_token_signed_response_alg": None,
        "refresh_token_rotation": True,
        "pkce_required": True,
        "auth_methods": [],
        "access_control": {"required_roles": ["billing:viewer"]},
        "organization_access": None,
        "m2m_roles": [],
        "trusted": False,
        "is_active": True,
        "branding": {"logo_url": "", "primary_color": "#1A73E8", "secondary_color": ""},
    }
    assert entry_of(document, "Invoice Sync")["m2m_roles"] == ["billing:service"]
    for secret_or_hash in (web_secret, sync_secret, *Application.objects.values_list("client_secret", flat=True)):
        assert secret_or_hash not in text
    assert "client_secret" not in text


def test_config_export_is_sorted_by_key_whatever_the_creation_order():
    for name in ("Zulu", "Alpha", "Mike"):
        make_application(type="spa", name=name)
    RoleFactory(name="zeta:role")
    RoleFactory(name="alpha:role")

    document = export_document()

    client_ids = [app["client_id"] for app in document["applications"]]
    assert client_ids == sorted(client_ids)
    assert [role["name"] for role in document["roles"]] == ["alpha:role", "zeta:role"]
    identifiers = [r["identifier"] for r in document["api_resources"]]
    assert identifiers == sorted(identifiers)
    assert export() == export()


def test_config_export_json_holds_the_same_document_as_yaml(demo):
    assert json.loads(export("--format", "json")) == export_document()


def test_config_export_output_writes_the_file_and_says_what_it_holds(demo, tmp_path):
    target = tmp_path / "latchkey.yaml"

    out = export("--output", str(target))

    assert yaml.safe_load(target.read_text()) == export_document()
    assert out.strip() == f"Wrote {target}: 5 applications, 2 API resources, 2 roles."


def test_config_export_output_to_an_unwritable_place_is_a_one_line_error(tmp_path):
    with pytest.raises(CommandError) as exc_info:
        export("--output", str(tmp_path / "missing-dir" / "x.yaml"))

    assert str(exc_info.value).startswith(f"Cannot write {tmp_path / 'missing-dir' / 'x.yaml'}")


def test_app_show_json_prints_the_applications_export_entry(demo):
    spa = Application.objects.get(name="Demo Streaming SPA")

    shown = json.loads(run("app", "show", spa.client_id, "--json")[0])

    assert shown == entry_of(export_document(), "Demo Streaming SPA")
    assert shown["access_control"] == {"required_roles": ["streaming:subscriber"]}
    assert "client_secret" not in shown and "id" not in shown


# ---------------------------------------------------------------------------------------------
# import: round trip and idempotence
# ---------------------------------------------------------------------------------------------


def test_config_import_into_an_empty_database_recreates_the_same_configuration(demo, tmp_path):
    first = export()
    confidential = set(Application.objects.filter(type__in=["web", "m2m"]).values_list("client_id", flat=True))
    Application.objects.all().delete()
    Role.objects.all().delete()
    ApiResource.objects.all().delete()
    assert export_document()["applications"] == []

    out = import_file(tmp_path, first)

    assert export() == first
    assert "Imported" in out and "9 created, 0 updated, 0 unchanged" in out
    printed = {}
    for line in out.splitlines():
        if line.startswith("client_secret of "):
            head, _, secret = line.rpartition(": ")
            printed[head.rsplit("(", 1)[1].rstrip(")")] = secret
    assert set(printed) == confidential
    for client_id, secret in printed.items():
        assert verify_client_secret(Application.objects.get(client_id=client_id), secret)
    assert "Store the new client secrets now: they are not shown again." in out


def test_config_import_of_the_same_file_twice_changes_nothing_the_second_time(demo, tmp_path):
    document = export_document()
    entry_of(document, "Demo TV App")["name"] = "Living Room"
    import_file(tmp_path, document)
    before = state()

    out = import_file(tmp_path, document)

    assert state() == before
    assert out.splitlines()[-1] == (
        f"Nothing to change: the configuration already matches {tmp_path / 'config.yaml'} (9 unchanged)."
    )
    assert all(line.startswith("unchanged") for line in out.splitlines()[:-1])


def test_config_import_value_stored_differently_counts_as_unchanged(tmp_path):
    application, _ = make_application(type="web", name="Portal", branding={"primary_color": "#ABCDEF"})
    before = state()
    document = {
        "version": 1,
        "applications": [
            {"client_id": application.client_id, "branding": {"primary_color": "#abcdef"}},
        ],
    }

    out = import_file(tmp_path, document)

    assert state() == before
    assert out.splitlines()[0] == f"unchanged  application {application.client_id} (Portal)"


def test_config_id_token_signing_algorithm_round_trips_and_reimports_unchanged(tmp_path):
    chosen, _ = make_application(type="web", name="Fast Signer", algorithm="ES256")
    default, _ = make_application(type="spa", name="Default Signer")
    first = export()
    document = yaml.safe_load(first)
    assert entry_of(document, "Fast Signer")["id_token_signed_response_alg"] == "ES256"
    assert entry_of(document, "Default Signer")["id_token_signed_response_alg"] is None
    Application.objects.all().delete()

    import_file(tmp_path, first)

    assert export() == first
    assert Application.objects.get(client_id=chosen.client_id).algorithm == "ES256"
    assert Application.objects.get(client_id=default.client_id).algorithm == ""
    before = state()
    assert import_file(tmp_path, first).startswith("unchanged")
    assert state() == before


def test_config_import_dry_run_shows_an_id_token_signing_algorithm_change_then_applies_it(tmp_path):
    application, _ = make_application(type="web", name="Portal")
    document = {
        "version": 1,
        "applications": [{"client_id": application.client_id, "id_token_signed_response_alg": "ES256"}],
    }
    before = state()

    dry = import_file(tmp_path, document, "--dry-run").splitlines()

    assert state() == before
    assert dry[:2] == [
        f"update     application {application.client_id} (Portal)",
        '             id_token_signed_response_alg: null → "ES256"',
    ]
    assert import_file(tmp_path, document).splitlines()[:2] == dry[:2]
    application.refresh_from_db()
    assert application.algorithm == "ES256"
    document["applications"][0]["id_token_signed_response_alg"] = None
    assert '             id_token_signed_response_alg: "ES256" → null' in import_file(tmp_path, document).splitlines()
    application.refresh_from_db()
    assert application.algorithm == ""


def test_config_import_hs256_is_refused_on_its_field(tmp_path):
    document = {
        "version": 1,
        "applications": [
            {"client_id": "hs1", "name": "HMAC", "type": "web", "redirect_uris": ["https://hmac.example.com/cb"],
             "id_token_signed_response_alg": "HS256"},
        ],
    }  # fmt: skip

    _, lines = import_error(tmp_path, document)

    assert lines == [
        "application 'hs1': id_token_signed_response_alg: 'HS256' is not an ID token signing algorithm Latchkey "
        "offers; choose RS256 or ES256, or leave it blank for the deployment's LATCHKEY_SIGNING_ALGORITHM."
    ]
    assert not Application.objects.exists()


# ---------------------------------------------------------------------------------------------
# import: dry run and the diff
# ---------------------------------------------------------------------------------------------


def changed_demo(document: dict) -> dict:
    portal = entry_of(document, "Demo Web Portal")
    portal["name"] = "Account Portal"
    portal["redirect_uris"].append("https://accounts.example.com/callback")
    portal["access_token_ttl"] = 900
    portal["branding"] = {"logo_url": "", "primary_color": "#112233", "secondary_color": ""}
    streaming = next(r for r in document["api_resources"] if r["identifier"] == "https://api.example.com/streaming")
    streaming["scopes"].append({"name": "stream:record", "description": "Record streams"})
    document["roles"].append({"name": "streaming:family", "description": "Family plan", "scopes": ["stream:live"]})
    document["applications"].append(
        {
            "client_id": "recorder-service",
            "name": "Recorder",
            "type": "m2m",
            "allowed_scopes": ["stream:record"],
            "m2m_roles": ["streaming:family"],
        }
    )
    return document


def test_config_import_dry_run_prints_the_diff_and_changes_nothing(demo, tmp_path):
    document = changed_demo(export_document())
    portal_id = Application.objects.get(name="Demo Web Portal").client_id
    before = state()

    lines = import_file(tmp_path, document, "--dry-run").splitlines()

    assert state() == before
    assert f"update     application {portal_id} (Account Portal)" in lines
    assert '             name: "Demo Web Portal" → "Account Portal"' in lines
    assert (
        '             redirect_uris: ["http://127.0.0.1:5000/callback"] → '
        '["http://127.0.0.1:5000/callback", "https://accounts.example.com/callback"]'
    ) in lines
    assert "             access_token_ttl: 3600 → 900" in lines
    assert (
        '             branding: null → {"logo_url": "", "primary_color": "#112233", "secondary_color": ""}'
    ) in lines
    assert "update     api resource https://api.example.com/streaming" in lines
    assert '             scopes.stream:record: (none) → "Record streams"' in lines
    assert "create     role streaming:family" in lines
    assert "create     application recorder-service (Recorder)  (a new client secret would be issued)" in lines
    assert "unchanged  role latchkey:admin" in lines
    assert lines[-1] == "Dry run, nothing was changed: 2 to create, 2 to update, 7 unchanged."
    assert not any("client_secret" in line for line in lines)


def test_config_import_applies_what_the_dry_run_showed(demo, tmp_path):
    document = changed_demo(export_document())
    dry = import_file(tmp_path, document, "--dry-run").splitlines()[:-1]

    out = import_file(tmp_path, document).splitlines()

    assert out[: len(dry)] == [line.replace("  (a new client secret would be issued)", "") for line in dry]
    assert out[len(dry)] == f"Imported {tmp_path / 'config.yaml'}: 2 created, 2 updated, 7 unchanged."
    portal = Application.objects.get(name="Account Portal")
    assert portal.redirect_uri_list == ["http://127.0.0.1:5000/callback", "https://accounts.example.com/callback"]
    assert portal.access_token_ttl == 900
    assert portal.branding.primary_color == "#112233"
    recorder = Application.objects.get(client_id="recorder-service")
    assert list(recorder.m2m_roles.values_list("name", flat=True)) == ["streaming:family"]
    assert Scope.objects.get(name="stream:record").resource.identifier == "https://api.example.com/streaming"
    assert out[-2].startswith("client_secret of Recorder (recorder-service): ")
    assert verify_client_secret(recorder, out[-2].rpartition(": ")[2])


# ---------------------------------------------------------------------------------------------
# import: what is left alone
# ---------------------------------------------------------------------------------------------


def test_config_import_leaves_objects_and_fields_absent_from_the_file(tmp_path):
    kept, _ = make_application(type="web", name="Not In File", trusted=True)
    changed, _ = make_application(type="spa", name="Browser", access_token_ttl=600, trusted=True)
    role = RoleFactory(name="team:kept")
    document = {"version": 1, "applications": [{"client_id": changed.client_id, "name": "Browser App"}]}

    out = import_file(tmp_path, document)

    changed.refresh_from_db()
    assert (changed.name, changed.access_token_ttl, changed.trusted) == ("Browser App", 600, True)
    assert Application.objects.get(pk=kept.pk).name == "Not In File"
    assert Role.objects.filter(pk=role.pk).exists()
    assert out.splitlines() == [
        f"update     application {changed.client_id} (Browser App)",
        '             name: "Browser" → "Browser App"',
        f"Imported {tmp_path / 'config.yaml'}: 0 created, 1 updated, 0 unchanged.",
    ]


def test_config_import_from_standard_input_reads_json(tmp_path):
    document = {"version": 1, "roles": [{"name": "ops:oncall", "description": "Carries the pager"}]}

    out, _ = run("config", "import", "-", stdin=json.dumps(document))

    assert Role.objects.get(name="ops:oncall").description == "Carries the pager"
    assert "create     role ops:oncall" in out
    assert "Imported standard input: 1 created, 0 updated, 0 unchanged." in out


# ---------------------------------------------------------------------------------------------
# import: errors, all or nothing
# ---------------------------------------------------------------------------------------------


def test_config_import_with_errors_changes_nothing_and_names_each_bad_item(demo, tmp_path):
    document = changed_demo(export_document())  # valid changes, which must not be applied either
    document["applications"].append(
        {"client_id": "bad-web", "name": "Bad Web", "type": "web", "redirect_uris": ["http://example.com/cb"]}
    )
    document["applications"].append(
        {"client_id": "bad-scopes", "name": "Bad Scopes", "type": "m2m", "allowed_scopes": ["nope:read"]}
    )
    tv = entry_of(document, "Demo TV App")
    tv["type"] = "web"
    before = state()

    message, lines = import_error(tmp_path, document)

    assert state() == before
    assert message == f"{tmp_path / 'bad.yaml'}: 3 errors; nothing was changed."
    assert len(lines) == 3
    assert lines[0].startswith(f"application {tv['client_id']!r}: type: The type of an application cannot change")
    assert lines[1].startswith("application 'bad-web': redirect_uris: 'http://example.com/cb' uses http")
    assert lines[2] == (
        "application 'bad-scopes': allowed_scopes: Unknown scope(s): nope:read. Define them on an API resource first."
    )


def test_config_import_dry_run_reports_the_same_errors(demo, tmp_path):
    document = export_document()
    entry_of(document, "Demo Streaming SPA")["cors_origins"] = []
    before = state()

    message, lines = import_error(tmp_path, document, "--dry-run")

    assert state() == before
    assert "1 error; nothing was changed." in message
    assert lines[0].startswith(f"application {entry_of(document, 'Demo Streaming SPA')['client_id']!r}: cors_origins:")


def test_config_import_unknown_field_in_an_entry_is_named(tmp_path):
    document = {"version": 1, "applications": [{"client_id": "x1", "name": "X", "type": "spa", "redirect_uri": []}]}

    _, lines = import_error(tmp_path, document)

    assert lines == ["application 'x1': redirect_uri: Unknown field."]


def test_config_import_client_id_with_a_space_is_refused(tmp_path):
    document = {
        "version": 1,
        "applications": [{"client_id": "my app", "name": "X", "type": "m2m", "allowed_scopes": ["management:read"]}],
    }

    _, lines = import_error(tmp_path, document)

    assert lines == ["application 'my app': client_id: A client_id uses visible ASCII characters only (no spaces)."]
    assert not Application.objects.exists()


@pytest.mark.parametrize("scopes", [None, []])
def test_config_import_m2m_app_without_any_scope_is_refused(tmp_path, scopes):
    entry = {"client_id": "sync", "name": "Sync", "type": "m2m"}
    if scopes is not None:
        entry["allowed_scopes"] = scopes

    _, lines = import_error(tmp_path, {"version": 1, "applications": [entry]})

    assert lines == [
        "application 'sync': allowed_scopes: A machine-to-machine app needs at least one scope: allow one, "
        "or give it a role that has scopes."
    ]
    assert not Application.objects.exists()


def test_config_import_cannot_change_an_existing_scopes_description(demo, tmp_path):
    document = export_document()
    streaming = next(r for r in document["api_resources"] if r["identifier"] == "https://api.example.com/streaming")
    streaming["scopes"][0]["description"] = "Read every event"

    _, lines = import_error(tmp_path, document)

    assert lines == [
        "api resource 'https://api.example.com/streaming': scopes: events:read: its description cannot be changed "
        "by import ('See the events you follow' here, 'Read every event' in the file); change it in the admin "
        "console under Scopes."
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("version: 1\napplications: [\n", "not valid YAML"),
        ('{"version": 1,', "not valid JSON"),
        ("- just\n- a list\n", "expected a mapping"),
        ("version: 2\n", "expected version: 1"),
        ("applications: []\n", "expected version: 1"),
        ("version: 1\nusers: []\n", "unknown top-level key(s): users."),
        ("version: 1\nroles: {a: b}\n", "roles must be a list of mappings."),
        ("version: 1\napplications:\n- name: No Client Id\n", "applications[0]: client_id: give a non-empty string"),
        ("version: 1\nroles:\n- name: a:b\n- name: a:b\n", "roles: name 'a:b' appears twice."),
    ],
)
def test_config_import_unreadable_document_is_a_one_line_error(tmp_path, text, problem):
    before = state()

    message, _ = import_error(tmp_path, text)

    assert state() == before
    assert message.startswith(f"{tmp_path / 'bad.yaml'}: ")
    assert problem in message


def test_config_import_missing_file_is_a_one_line_error(tmp_path):
    with pytest.raises(CommandError) as exc_info:
        run("config", "import", str(tmp_path / "nope.yaml"))

    assert str(exc_info.value) == f"Cannot read {tmp_path / 'nope.yaml'}: No such file or directory."


def test_config_import_without_file_is_an_argument_error():
    with pytest.raises(CommandError) as exc_info:
        run("config", "import")

    assert "FILE" in str(exc_info.value)


def test_config_import_scope_without_a_name_on_an_existing_resource_is_named(demo, tmp_path):
    document = {
        "version": 1,
        "api_resources": [{"identifier": "https://api.example.com/streaming", "scopes": [{"description": "Oops"}]}],
    }

    _, lines = import_error(tmp_path, document)

    assert lines == ["api resource 'https://api.example.com/streaming': scopes.0.name: This field is required."]


def test_config_export_query_count_does_not_grow_with_the_number_of_applications(demo, django_assert_max_num_queries):
    for number in range(10):
        make_application(type="spa", name=f"Extra {number}", branding={"primary_color": "#123456"})

    # 11: the applications' webhooks (one prefetch) and the deployment-wide webhooks are two more;
    # 13: the organisation roles and the organisations (their JIT roles: one prefetch when there are some).
    with django_assert_max_num_queries(13):
        document = export_document()

    assert len(document["applications"]) == 15


def test_config_import_updates_roles_and_renames_resources_through_the_services(demo, tmp_path):
    document = {
        "version": 1,
        "api_resources": [{"identifier": "https://api.example.com/streaming", "name": "Streaming"}],
        "roles": [{"name": "streaming:subscriber", "scopes": ["stream:live", "events:read"]}],
    }

    lines = import_file(tmp_path, document).splitlines()

    assert lines[:4] == [
        "update     api resource https://api.example.com/streaming",
        '             name: "Streaming API" → "Streaming"',
        "update     role streaming:subscriber",
        '             scopes: [] → ["events:read", "stream:live"]',
    ]
    role = Role.objects.get(name="streaming:subscriber")
    assert sorted(role.scopes.values_list("name", flat=True)) == ["events:read", "stream:live"]
    assert role.description == "Pays for the streaming service."  # absent from the entry: left alone
    assert ApiResource.objects.get(identifier="https://api.example.com/streaming").name == "Streaming"


def test_config_import_with_an_error_lists_no_changes_as_if_made(demo, tmp_path):
    document = changed_demo(export_document())
    document["roles"].append({"name": "Not A Valid Role Name"})
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(document))
    out = StringIO()

    with pytest.raises(CommandError):
        call_command("config", "import", str(path), stdout=out, stderr=StringIO())

    assert out.getvalue() == ""


def test_config_import_resource_with_introspecting_client_from_the_same_file_and_export_round_trip(tmp_path):
    document = {
        "version": 1,
        "api_resources": [
            {"identifier": "https://api.myapp.com", "name": "My API", "access_token_format": "jwt",
             "access_token_ttl": 300, "signing_alg": "ES256", "introspecting_client": "my-api-server",
             "scopes": [{"name": "my:read", "description": "Read"}]},
        ],
        "applications": [
            {"client_id": "my-api-server", "name": "My API server", "type": "m2m", "allowed_scopes": ["my:read"]},
        ],
    }  # fmt: skip

    import_file(tmp_path, document)

    resource = ApiResource.objects.get(identifier="https://api.myapp.com")
    assert (resource.access_token_format, resource.access_token_ttl) == ("jwt", 300)
    assert resource.introspecting_client.client_id == "my-api-server"
    exported = next(r for r in export_document()["api_resources"] if r["identifier"] == "https://api.myapp.com")
    assert exported["introspecting_client"] == "my-api-server"
    assert "unchanged  api resource https://api.myapp.com" in import_file(tmp_path, document)
