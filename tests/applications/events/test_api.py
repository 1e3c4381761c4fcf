"""/api/applications/{id}/webhooks and /api/webhooks: CRUD, field errors, 404 across applications,
the secret once, rotation, ping, deliveries and redelivery; /api/events/types."""

from __future__ import annotations

import pytest

from applications.events.catalogue import EVENT_TYPES, SUBSCRIBABLE
from applications.events.models import Delivery, Event, Webhook
from identity.models import AuditEvent
from tests.applications.events.factories import URL, make_delivery, make_webhook
from tests.applications.factories import make_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def app():
    return make_application()[0]


def url(app, webhook=None, tail: str = "") -> str:
    base = f"/api/applications/{app.pk}/webhooks" if app is not None else "/api/webhooks"
    if webhook is not None:
        base += f"/{webhook if isinstance(webhook, int | str) else webhook.pk}"
    return base + tail


def test_webhook_create_returns_secret_once_and_never_in_get(writer, app):
    response = writer.post(url(app), {"url": URL, "event_types": ["consent.granted", "user.signed_in"]})
    assert response.status_code == 201, response.json()
    body = response.json()
    secret = body["secret"]
    assert secret.startswith("whsec_")
    assert body["application"] == app.client_id and body["enabled"] is True and body["last_delivery"] is None
    assert body["event_types"] == ["user.signed_in", "consent.granted"]  # catalogue order
    assert response["Location"].endswith(url(app, body["id"]))
    assert response["Cache-Control"] == "no-store"
    webhook = Webhook.objects.get()
    assert webhook.signing_secrets() == [secret]
    assert secret not in webhook.secret_encrypted

    for read in (writer.get(url(app)), writer.get(url(app, webhook))):
        assert read.status_code == 200
        assert secret not in read.content.decode() and "secret" not in read.content.decode().replace(
            "previous_secret_expires_at", ""
        )
    audit_row = AuditEvent.objects.get(action="webhook.created")
    assert audit_row.target_type == "webhook" and audit_row.target_label == URL
    assert audit_row.changes["secret"] == {"old": "[hidden]", "new": "[hidden]"}
    assert secret not in str(audit_row.changes)


def test_webhook_list_shows_only_this_applications_webhooks(reader, app):
    other = make_application()[0]
    mine, _ = make_webhook(app)
    make_webhook(other)
    make_webhook(None)
    response = reader.get(url(app))
    assert response.status_code == 200
    assert [w["id"] for w in response.json()["results"]] == [mine.pk]
    deployment = reader.get(url(None)).json()["results"]
    assert [w["application"] for w in deployment] == [None]


def test_webhook_list_shows_last_delivery_within_query_budget(reader, app, django_assert_max_num_queries):
    for number in range(5):
        webhook, _ = make_webhook(app, url=f"{URL}/{number}")
        make_delivery(webhook)
    with django_assert_max_num_queries(8):
        response = reader.get(url(app))
    assert response.status_code == 200
    assert {w["last_delivery"]["state"] for w in response.json()["results"]} == {"failed"}
    assert {w["last_delivery"]["status_code"] for w in response.json()["results"]} == {500}


@pytest.mark.parametrize(
    ("bad_url", "says"),
    [
        ("http://hooks.example.com/x", "https"),
        ("https://user:pw@hooks.example.com/x", "user name or password"),
        ("https://127.0.0.1/x", "loopback"),
        ("https://10.0.0.1/x", "private"),
        ("https://169.254.169.254/latest/meta-data", "metadata"),
        ("https://[::ffff:127.0.0.1]/x", "loopback"),
        ("not a url", ""),
        ("https://localhost/x", "loopback"),
        ("", ""),
    ],
)
def test_webhook_create_bad_url_is_a_field_error(writer, app, settings, bad_url, says):
    settings.LATCHKEY_OUTBOUND_ALLOW_PRIVATE = False  # production
    response = writer.post(url(app), {"url": bad_url, "event_types": ["user.signed_in"]})
    assert response.status_code == 400, response.content
    body = response.json()
    assert list(body["fields"]) == ["url"]
    assert says in " ".join(body["fields"]["url"])
    assert not Webhook.objects.exists()


def test_webhook_create_http_allowed_in_development(writer, app, settings):
    settings.LATCHKEY_OUTBOUND_ALLOW_PRIVATE = True
    response = writer.post(url(app), {"url": "http://localhost:8001/hook", "event_types": ["user.signed_in"]})
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize(
    ("types", "says"),
    [
        (["user.teleported"], "'user.teleported'"),
        (["webhook.ping"], "'webhook.ping'"),
        ([], "at least one"),
        ("user.signed_in", "list"),
    ],
)
def test_webhook_create_bad_event_types_is_a_field_error(writer, app, types, says):
    response = writer.post(url(app), {"url": URL, "event_types": types})
    assert response.status_code == 400
    assert says in " ".join(response.json()["fields"]["event_types"])


def test_webhook_create_unknown_field_and_non_json_are_400(writer, app):
    response = writer.post(url(app), {"url": URL, "event_types": ["user.signed_in"], "secret": "mine"})
    assert response.status_code == 400 and response.json()["fields"] == {"secret": ["Unknown field."]}
    response = writer.post(url(app), "[1, 2]", content_type="application/json")
    assert response.status_code == 400


def test_webhook_of_another_application_is_404(writer, app):
    other = make_application()[0]
    webhook, _ = make_webhook(other)
    delivery = make_delivery(webhook)
    deployment, _ = make_webhook(None)
    for method, tail in [
        ("get", ""),
        ("patch", ""),
        ("put", ""),
        ("delete", ""),
        ("post", "/rotate-secret"),
        ("post", "/ping"),
        ("get", "/deliveries"),
        ("post", f"/deliveries/{delivery.pk}/redeliver"),
    ]:
        response = getattr(writer, method)(url(app, webhook, tail), {})
        assert response.status_code == 404, (method, tail, response.content)
        assert getattr(writer, method)(url(app, deployment, tail), {}).status_code == 404
        assert getattr(writer, method)(url(None, webhook, tail), {}).status_code == 404
    assert writer.get(url(app, "abc")).status_code == 404
    assert writer.get("/api/applications/abc/webhooks").status_code == 404
    assert writer.get("/api/applications/999999/webhooks").status_code == 404
    assert Webhook.objects.filter(pk=webhook.pk).exists()


def test_webhook_put_replaces_and_patch_changes(writer, app):
    webhook, _ = make_webhook(app, description="old")
    response = writer.put(url(app, webhook), {"url": URL + "/v2", "event_types": ["consent.revoked"]})
    assert response.status_code == 200, response.json()
    assert response.json()["description"] == "" and response.json()["event_types"] == ["consent.revoked"]
    response = writer.patch(url(app, webhook), {"enabled": False})
    assert response.status_code == 200 and response.json()["enabled"] is False
    assert response.json()["url"] == URL + "/v2"
    assert writer.patch(url(app, webhook), {"url": "https://127.0.0.1/"}).status_code == 400
    audit_row = AuditEvent.objects.filter(action="webhook.updated").order_by("pk").first()
    assert audit_row.changes["url"] == {"old": URL, "new": URL + "/v2"}


def test_webhook_patch_reenabling_clears_failures(writer, app):
    webhook, _ = make_webhook(app)
    Webhook.objects.filter(pk=webhook.pk).update(
        enabled=False, disabled_reason="Disabled after 20 consecutive failures.", consecutive_failures=20
    )
    response = writer.patch(url(app, webhook), {"enabled": True})
    assert response.status_code == 200
    assert response.json()["disabled_reason"] == "" and response.json()["consecutive_failures"] == 0


def test_webhook_if_match_stale_is_412(writer, app):
    webhook, _ = make_webhook(app)
    response = writer.patch(url(app, webhook), {"description": "x"}, HTTP_IF_MATCH='"stale"')
    assert response.status_code == 412


def test_webhook_delete_removes_it_and_its_deliveries(writer, app):
    webhook, _ = make_webhook(app)
    make_delivery(webhook)
    assert writer.delete(url(app, webhook)).status_code == 204
    assert not Webhook.objects.exists() and not Delivery.objects.exists()
    assert AuditEvent.objects.filter(action="webhook.deleted", target_label=URL).exists()


def test_webhook_rotate_secret_returns_new_secret_and_keeps_previous_for_overlap(writer, app):
    webhook, old = make_webhook(app)
    response = writer.post(url(app, webhook, "/rotate-secret"), {"overlap_seconds": 3600})
    assert response.status_code == 200, response.json()
    new = response.json()["secret"]
    assert new != old and response.json()["previous_secret_expires_at"]
    webhook.refresh_from_db()
    assert webhook.signing_secrets() == [new, old]
    audit_row = AuditEvent.objects.get(action="webhook.secret_rotated")
    assert new not in str(audit_row.changes) and old not in str(audit_row.changes)
    assert "secret" not in writer.get(url(app, webhook)).json()


@pytest.mark.parametrize("overlap", [-1, 7 * 24 * 3600 + 1, "soon"])
def test_webhook_rotate_secret_bad_overlap_is_a_field_error(writer, app, overlap):
    webhook, old = make_webhook(app)
    response = writer.post(url(app, webhook, "/rotate-secret"), {"overlap_seconds": overlap})
    assert response.status_code == 400 and list(response.json()["fields"]) == ["overlap_seconds"]
    webhook.refresh_from_db()
    assert webhook.signing_secrets() == [old]


def test_webhook_ping_creates_one_delivery_for_that_webhook_only(writer, app):
    webhook, _ = make_webhook(app)
    neighbour, _ = make_webhook(app, url=URL + "/all", event_types=SUBSCRIBABLE)
    deployment, _ = make_webhook(None, event_types=SUBSCRIBABLE)
    response = writer.post(url(app, webhook, "/ping"))
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["event_type"] == "webhook.ping" and body["state"] == "pending" and body["attempts"] == 0
    event = Event.objects.get(type="webhook.ping")
    assert event.public_id == body["event_id"] and event.application == app
    assert event.payload == {"webhook_id": webhook.pk} and event.dispatched_at is not None
    assert list(Delivery.objects.values_list("webhook_id", flat=True)) == [webhook.pk]
    assert not neighbour.deliveries.exists() and not deployment.deliveries.exists()


def test_webhook_ping_deployment_wide_has_no_application(writer):
    webhook, _ = make_webhook(None)
    response = writer.post(url(None, webhook, "/ping"))
    assert response.status_code == 202
    assert Event.objects.get(type="webhook.ping").application is None


def test_webhook_ping_disabled_is_a_field_error(writer, app):
    webhook, _ = make_webhook(app, enabled=False)
    response = writer.post(url(app, webhook, "/ping"))
    assert response.status_code == 400 and "enabled" in response.json()["fields"]
    assert not Delivery.objects.exists()


def test_webhook_deliveries_lists_latest_first_with_attempt_log(reader, app, django_assert_max_num_queries):
    webhook, _ = make_webhook(app)
    first = make_delivery(webhook, attempts=2)
    for _ in range(4):
        make_delivery(webhook)
    latest = make_delivery(webhook, state=Delivery.State.SUCCEEDED, attempts=1)
    with django_assert_max_num_queries(10):
        response = reader.get(url(app, webhook, "/deliveries"))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 6
    assert body["results"][0]["id"] == latest.pk and body["results"][-1]["id"] == first.pk
    row = body["results"][-1]
    assert row["event_type"] == "user.signed_in" and row["event_id"] == first.event.public_id
    assert row["state"] == "failed" and row["attempts"] == 2 and row["last_status_code"] == 500
    assert row["next_attempt_at"] and len(row["attempt_log"]) == 2
    assert row["attempt_log"][0]["status_code"] == 500 and row["attempt_log"][0]["latency_ms"] == 12
    assert reader.get(url(app, webhook, "/deliveries?page=99")).status_code == 400


def test_delivery_redeliver_resets_it_and_keeps_event_and_log(writer, app):
    webhook, _ = make_webhook(app)
    delivery = make_delivery(webhook, attempts=3)
    response = writer.post(url(app, webhook, f"/deliveries/{delivery.pk}/redeliver"))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["state"] == "pending" and body["attempts"] == 0 and body["event_id"] == delivery.event.public_id
    assert len(body["attempt_log"]) == 3
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.PENDING and delivery.completed_at is None
    assert AuditEvent.objects.filter(action="webhook.redelivered", target_id=str(webhook.pk)).exists()


def test_delivery_redeliver_of_another_webhook_is_404(writer, app):
    webhook, _ = make_webhook(app)
    other, _ = make_webhook(app, url=URL + "/other")
    delivery = make_delivery(other)
    assert writer.post(url(app, webhook, f"/deliveries/{delivery.pk}/redeliver")).status_code == 404
    assert writer.post(url(app, webhook, "/deliveries/x/redeliver")).status_code == 404


def test_webhook_reader_token_cannot_write(reader, app):
    webhook, _ = make_webhook(app)
    assert reader.post(url(app), {"url": URL, "event_types": ["user.signed_in"]}).status_code == 403
    assert reader.post(url(app, webhook, "/rotate-secret"), {}).status_code == 403
    assert reader.post(url(app, webhook, "/ping")).status_code == 403


def test_webhook_api_without_token_is_401(client, app):
    assert client.get(url(app)).status_code == 401
    assert client.get("/api/events/types").status_code == 401


def test_event_types_lists_the_catalogue(reader):
    response = reader.get("/api/events/types")
    assert response.status_code == 200
    types = {t["name"]: t for t in response.json()}
    assert set(types) == set(EVENT_TYPES)
    assert types["user.signed_in"]["required"] == ["user_id", "client_id", "method"]
    assert types["webhook.ping"]["subscribable"] is False and types["user.created"]["application"] is False


def test_deployment_webhook_crud(writer):
    response = writer.post(url(None), {"url": URL, "event_types": ["user.created"], "description": "HR"})
    assert response.status_code == 201 and response.json()["application"] is None
    webhook_id = response.json()["id"]
    assert writer.patch(url(None, webhook_id), {"description": "HR sync"}).json()["description"] == "HR sync"
    assert writer.delete(url(None, webhook_id)).status_code == 204


def test_webhook_second_with_the_same_url_is_409_but_another_app_may(writer, app):
    make_webhook(app)
    response = writer.post(url(app), {"url": URL, "event_types": ["user.signed_in"]})
    assert response.status_code == 409 and list(response.json()["fields"]) == ["url"]
    other = make_application()[0]
    assert writer.post(url(other), {"url": URL, "event_types": ["user.signed_in"]}).status_code == 201
    assert writer.post(url(None), {"url": URL, "event_types": ["user.created"]}).status_code == 201
