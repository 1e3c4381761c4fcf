"""The audit log: every write says who, what, when and which fields changed; secrets never appear."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from applications import services as application_services
from applications.models import Application
from consent.models import Consent
from identity import services as identity_services
from identity.models import AuditEvent
from tests.applications.factories import ScopeFactory, make_application
from tests.conftest import staff_sign_in
from tests.identity.factories import RoleFactory, UserFactory
from tests.identity.test_admin import page_form_data

pytestmark = pytest.mark.django_db
STRONG = "a long and unusual passphrase 9"


def events(**filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


def everything_logged() -> str:
    return json.dumps(list(AuditEvent.objects.values()), default=str)


# -- who --


def test_api_write_by_machine_token_is_recorded_as_that_client(writer):
    owner = UserFactory(email="platform@example.com")
    Application.objects.filter(pk=writer.application.pk).update(owner=owner)

    response = writer.post(
        "/api/applications", {"name": "Billing", "type": "m2m", "allowed_scopes": ["management:read"]}, format="json"
    )

    assert response.status_code == 201
    (event,) = events(action="application.created", target_label="Billing")
    assert (event.actor_type, event.actor_id, event.actor_label) == (
        "client",
        writer.application.client_id,
        writer.application.name,
    )
    assert (event.target_type, event.target_id, event.target_label) == (
        "application",
        str(response.json()["id"]),
        "Billing",
    )
    assert event.changes["name"] == {"old": None, "new": "Billing"}
    assert event.changes["owner"] == {"old": None, "new": "platform@example.com"}
    assert Application.objects.get(name="Billing").owner == owner


def test_api_write_by_staff_session_is_recorded_as_that_user(admin_user):
    api = APIClient()
    staff_sign_in(api, admin_user)
    role = RoleFactory(name="team:ops", description="Ops")

    response = api.patch(f"/api/roles/{role.pk}", {"description": "Operations"}, format="json")

    assert response.status_code == 200
    (event,) = events(action="role.updated")
    assert (event.actor_type, event.actor_id, event.actor_label) == (
        "user",
        str(admin_user.public_id),
        admin_user.email,
    )
    assert event.changes == {"description": {"old": "Ops", "new": "Operations"}}


def test_command_write_is_recorded_as_system():
    call_command("role", "create", "team:cli", stdout=StringIO())

    (event,) = events(action="role.created")
    assert (event.actor_type, event.actor_id, event.target_label) == ("system", "", "team:cli")


# -- what: changed fields only, secrets never --


def test_update_records_only_the_fields_that_changed(writer):
    application, _ = make_application(type="web", name="Portal")
    AuditEvent.objects.all().delete()

    response = writer.patch(
        f"/api/applications/{application.pk}",
        {"description": "Customer portal", "allowed_scopes": ["openid"], "branding": {"primary_color": "#112233"}},
    )

    assert response.status_code == 200
    (event,) = events(action="application.updated")
    assert set(event.changes) == {"description", "allowed_scopes", "branding"}
    assert event.changes["description"] == {"old": "", "new": "Customer portal"}
    assert event.changes["allowed_scopes"] == {"old": [], "new": ["openid"]}
    assert event.changes["branding"]["new"]["primary_color"] == "#112233"


def test_id_token_signing_algorithm_change_is_recorded_under_its_api_name(writer):
    application, _ = make_application(type="web", name="Portal")
    AuditEvent.objects.all().delete()

    writer.patch(f"/api/applications/{application.pk}", {"id_token_signed_response_alg": "ES256"}, format="json")
    writer.patch(f"/api/applications/{application.pk}", {"id_token_signed_response_alg": None}, format="json")

    assert [e.changes for e in events(action="application.updated")] == [
        {"id_token_signed_response_alg": {"old": None, "new": "ES256"}},
        {"id_token_signed_response_alg": {"old": "ES256", "new": None}},
    ]


def test_write_that_changes_nothing_records_nothing(writer):
    application, _ = make_application(type="web", name="Portal", description="Same")
    AuditEvent.objects.all().delete()

    assert writer.patch(f"/api/applications/{application.pk}", {"description": "Same"}).status_code == 200

    assert events() == []


def test_secrets_are_recorded_as_changed_never_shown(writer):
    created = writer.post(
        "/api/applications", {"name": "Worker", "type": "m2m", "allowed_scopes": ["management:read"]}, format="json"
    ).json()
    rotated = writer.post(f"/api/applications/{created['id']}/regenerate-secret", {"grace_period_seconds": 60}).json()

    (event,) = events(action="application.secret_rotated")
    assert event.changes == {
        "client_secret": {"old": "[hidden]", "new": "[hidden]"},
        "grace_period_seconds": {"old": None, "new": 60},
    }
    logged = everything_logged()
    assert created["client_secret"] not in logged
    assert rotated["client_secret"] not in logged
    hashes = Application.objects.filter(pk=created["id"]).values_list("client_secret", flat=True)
    assert all(h not in logged for h in hashes)


def test_passwords_are_recorded_as_changed_never_shown(writer):
    response = writer.post("/api/users", {"email": "new@example.com", "password": STRONG})
    user_id = response.json()["id"]
    writer.patch(f"/api/users/{user_id}", {"password": STRONG + "!"})

    created, updated = events(target_type="user", target_id=str(user_id))
    assert created.changes["password"] == updated.changes["password"] == {"old": "[hidden]", "new": "[hidden]"}
    logged = everything_logged()
    assert STRONG not in logged
    assert "md5$" not in logged and "pbkdf2" not in logged


def test_delete_records_what_was_deleted(writer):
    application, _ = make_application(type="spa", name="Player")

    assert writer.delete(f"/api/applications/{application.pk}").status_code == 204

    (event,) = events(action="application.deleted")
    assert event.target_label == "Player"
    assert event.changes["name"] == {"old": "Player", "new": None}
    assert event.changes["type"] == {"old": "spa", "new": None}


def test_role_assignment_and_deactivation_are_recorded(writer):
    user = UserFactory(email="bob@example.com")
    RoleFactory(name="team:a")

    writer.post(f"/api/users/{user.pk}/roles", {"role": "team:a"})
    writer.delete(f"/api/users/{user.pk}/roles/team:a")
    writer.post(f"/api/users/{user.pk}/deactivate")

    assigned, unassigned, deactivated = events(target_type="user", target_id=str(user.pk))
    assert assigned.action == "user.role_assigned" and assigned.changes == {"role": {"old": None, "new": "team:a"}}
    assert unassigned.action == "user.role_unassigned"
    assert deactivated.changes == {"is_active": {"old": True, "new": False}}


def test_resources_scopes_and_consents_are_recorded(writer):
    resource = writer.post(
        "/api/resources", {"identifier": "https://api.example.com/x", "name": "X", "scopes": [{"name": "x:read"}]}
    ).json()
    writer.post(f"/api/resources/{resource['id']}/scopes", {"name": "x:write"})
    user = UserFactory()
    application, _ = make_application(type="spa")
    consent = Consent.objects.create(user=user, application=application, scopes=["openid"])
    writer.delete(f"/api/consents/{consent.pk}")

    actions = [e.action for e in events() if e.target_type in {"api_resource", "scope", "consent"}]
    assert actions == ["api_resource.created", "scope.created", "consent.revoked"]
    assert events(action="consent.revoked")[0].changes["scopes"] == {"old": ["openid"], "new": None}


def test_user_revoking_consent_on_account_page_is_the_actor(client):
    user = UserFactory()
    application, _ = make_application(type="spa", name="Player")
    consent = Consent.objects.create(user=user, application=application, scopes=["openid"])
    client.force_login(user)

    assert client.post(reverse("consent:revoke", args=[consent.pk])).status_code == 302

    (event,) = events(action="consent.revoked")
    assert (event.actor_type, event.actor_label) == ("user", user.email)


# -- when: in the same transaction as the write --


def test_record_and_write_roll_back_together(monkeypatch):
    application, _ = make_application(type="web", name="Portal")
    AuditEvent.objects.all().delete()

    def fail() -> None:
        raise RuntimeError("boom after the record was written")

    monkeypatch.setattr(application_services.cors, "origins_invalidate", fail)
    application.description = "changed"
    with pytest.raises(RuntimeError):
        application_services.application_update(actor=None, application=application)

    assert events() == []
    assert Application.objects.get(pk=application.pk).description == ""


def test_refused_write_records_nothing():
    role = RoleFactory(name="team:gate")
    make_application(type="web", required_roles=[role])
    AuditEvent.objects.all().delete()

    with pytest.raises(Exception):
        identity_services.role_delete(actor=None, role=role)

    assert events() == []


# -- /api/audit --


def test_audit_api_lists_newest_first_and_filters(writer, management_api):
    first, _ = make_application(type="web", name="One")
    second, _ = make_application(type="web", name="Two")
    reader = management_api("management:read")

    everything = reader.get("/api/audit").json()
    only_one = reader.get("/api/audit", {"target_type": "application", "target_id": first.pk}).json()

    assert everything["count"] == AuditEvent.objects.count()
    labels = [e["target"]["label"] for e in everything["results"] if e["target"]["type"] == "application"]
    assert labels.index("Two") < labels.index("One")
    assert [e["target"]["label"] for e in only_one["results"]] == ["One"]
    assert only_one["results"][0]["actor"] == {"type": "system", "id": "", "label": "system"}
    assert set(only_one["results"][0]) == {"id", "occurred_at", "action", "actor", "target", "changes"}


def test_audit_api_filters_by_actor_and_time(writer):
    writer.post("/api/roles", {"name": "team:api"})
    RoleFactory(name="team:factory")
    identity_services.role_create(actor=None, name="team:system")

    by_client = writer.get("/api/audit", {"actor_type": "client", "actor_id": writer.application.client_id}).json()
    future = writer.get("/api/audit", {"since": "2999-01-01T00:00:00Z"}).json()

    assert [e["target"]["label"] for e in by_client["results"]] == ["team:api"]
    assert future["count"] == 0


@pytest.mark.parametrize(
    "query",
    [{"since": "yesterday"}, {"actor_type": "robot"}, {"target_type": "planet"}, {"target_id": "a\x00b"}],
)
def test_audit_api_bad_filters_are_400_with_the_field(writer, query):
    response = writer.get("/api/audit", query)
    assert response.status_code == 400
    assert set(response.json()["fields"]) == set(query)


def test_audit_api_needs_a_management_token():
    assert APIClient().get("/api/audit").status_code == 401


def test_audit_api_is_read_only(writer):
    identity_services.role_create(actor=None, name="team:x")
    event = AuditEvent.objects.get(action="role.created")
    assert writer.post("/api/audit", {}).status_code == 405
    assert writer.delete(f"/api/audit/{event.pk}").status_code == 405
    assert writer.get(f"/api/audit/{event.pk}").json()["action"] == "role.created"
    assert writer.get("/api/audit/999999").status_code == 404


def test_audit_api_list_constant_queries(writer, django_assert_num_queries):
    def count_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert writer.get("/api/audit", {"page_size": 200}).status_code == 200
        return len(ctx.captured_queries)

    identity_services.role_create(actor=None, name="team:one")
    few = count_queries()
    for n in range(10):
        identity_services.role_create(actor=None, name=f"team:n{n}")
    assert count_queries() == few <= 4


# -- admin console --


def test_admin_saves_without_a_service_are_recorded(admin_client, admin_user):
    scope = ScopeFactory(name="r:read")
    page = admin_client.get(reverse("admin:identity_role_add"))
    data = page_form_data(page)
    data.update({"name": "team:admin-made", "description": "From the console", "scopes": [str(scope.pk)]})

    assert admin_client.post(reverse("admin:identity_role_add"), data).status_code == 302

    (event,) = events(action="role.created")
    assert (event.actor_type, event.actor_label) == ("user", admin_user.email)
    assert event.changes["scopes"] == {"old": None, "new": ["r:read"]}


def test_admin_password_change_is_recorded_without_the_password(admin_client):
    user = UserFactory()
    url = reverse("admin:auth_user_password_change", args=[user.pk])

    response = admin_client.post(url, {"password1": STRONG, "password2": STRONG})

    assert response.status_code == 302
    (event,) = events(action="user.password_changed")
    assert event.changes == {"password": {"old": "[hidden]", "new": "[hidden]"}}
    assert STRONG not in everything_logged()


def test_admin_shows_the_log_read_only(admin_client):
    identity_services.role_create(actor=None, name="team:shown")
    event = AuditEvent.objects.get()

    changelist = admin_client.get(reverse("admin:identity_auditevent_changelist"))
    assert changelist.status_code == 200
    assert "role.created" in changelist.content.decode()
    assert admin_client.get(reverse("admin:identity_auditevent_add")).status_code == 403
    assert (
        admin_client.post(reverse("admin:identity_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()
