"""The admin console for webhooks and deliveries, driven through real admin URLs as a superuser."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from applications.events.models import Delivery, Event, Webhook
from identity.models import AuditEvent
from tests.applications.events.factories import URL, make_delivery, make_webhook
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db

WEBHOOKS = reverse("admin:events_webhook_changelist")
ADD = reverse("admin:events_webhook_add")
DELIVERIES = reverse("admin:events_delivery_changelist")
SECRET = re.compile(r'data-testid="webhook-secret">([^<]+)<')


def test_webhook_admin_add_shows_the_secret_once(admin_client):
    app = make_application()[0]
    response = admin_client.post(
        ADD,
        {"application": app.pk, "url": URL, "description": "CRM", "event_types": ["user.signed_in"], "enabled": "on"},
    )
    assert response.status_code == 200, response.content
    assert "no-store" in response["Cache-Control"]
    secret = SECRET.search(response.content.decode()).group(1)
    webhook = Webhook.objects.get()
    assert webhook.application == app and webhook.signing_secrets() == [secret]
    page = admin_client.get(reverse("admin:events_webhook_change", args=[webhook.pk])).content.decode()
    assert secret not in page and "Set (encrypted" in page
    row = AuditEvent.objects.get(action="webhook.created")
    assert row.actor_type == "user" and secret not in str(row.changes)


def test_webhook_admin_add_bad_url_shows_field_error(admin_client):
    response = admin_client.post(ADD, {"url": "https://169.254.169.254/", "event_types": ["user.created"]})
    assert response.status_code == 200
    assert "cloud metadata address" in response.content.decode()
    assert not Webhook.objects.exists()


def test_webhook_admin_add_without_event_types_shows_field_error(admin_client):
    response = admin_client.post(ADD, {"url": URL})
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    assert not Webhook.objects.exists()


def test_webhook_admin_changelist_shows_application_and_last_delivery(admin_client, django_assert_max_num_queries):
    app = make_application(name="Billing")[0]
    for number in range(3):
        webhook, _ = make_webhook(app, url=f"{URL}/{number}")
        make_delivery(webhook)
    make_webhook(None)
    with django_assert_max_num_queries(12):
        response = admin_client.get(WEBHOOKS)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Billing" in page and "(deployment-wide)" in page and "failed (HTTP 500)" in page
    filtered = admin_client.get(WEBHOOKS, {"application__id__exact": app.pk})
    assert filtered.status_code == 200 and "(deployment-wide)" not in filtered.content.decode()


def test_webhook_admin_change_goes_through_the_service(admin_client):
    webhook, _ = make_webhook(None)
    url = reverse("admin:events_webhook_change", args=[webhook.pk])
    response = admin_client.post(url, {"url": URL + "/v2", "description": "", "event_types": ["user.deleted"]})
    assert response.status_code == 302, response.content
    webhook.refresh_from_db()
    assert webhook.url == URL + "/v2" and webhook.enabled is False and webhook.event_types == ["user.deleted"]
    assert AuditEvent.objects.get(action="webhook.updated").changes["url"]["new"] == URL + "/v2"


def test_webhook_admin_rotate_action_shows_the_new_secret(admin_client):
    webhook, old = make_webhook(None)
    response = admin_client.post(WEBHOOKS, {"action": "rotate_secret", "_selected_action": [webhook.pk]})
    assert response.status_code == 200
    new = SECRET.search(response.content.decode()).group(1)
    webhook.refresh_from_db()
    assert webhook.signing_secrets() == [new, old]


def test_webhook_admin_ping_and_reenable_actions(admin_client):
    webhook, _ = make_webhook(None)
    Webhook.objects.filter(pk=webhook.pk).update(enabled=False, disabled_reason="failing", consecutive_failures=9)
    response = admin_client.post(WEBHOOKS, {"action": "ping", "_selected_action": [webhook.pk]})
    assert "Not sent" in " ".join(str(m) for m in get_messages(response.wsgi_request))
    admin_client.post(WEBHOOKS, {"action": "reenable", "_selected_action": [webhook.pk]})
    webhook.refresh_from_db()
    assert (webhook.enabled, webhook.disabled_reason, webhook.consecutive_failures) == (True, "", 0)
    admin_client.post(WEBHOOKS, {"action": "ping", "_selected_action": [webhook.pk]})
    assert Delivery.objects.get().event.type == "webhook.ping"


def test_webhook_admin_delete_goes_through_the_service(admin_client):
    webhook, _ = make_webhook(None)
    url = reverse("admin:events_webhook_delete", args=[webhook.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not Webhook.objects.exists() and AuditEvent.objects.filter(action="webhook.deleted").exists()


def test_delivery_admin_shows_attempts_and_redelivers(admin_client):
    webhook, _ = make_webhook(None)
    delivery = make_delivery(webhook, attempts=2)
    listing = admin_client.get(DELIVERIES, {"webhook": webhook.pk})
    assert listing.status_code == 200 and "user.signed_in" in listing.content.decode()
    page = admin_client.get(reverse("admin:events_delivery_change", args=[delivery.pk]))
    assert page.status_code == 200
    assert page.content.decode().count("HTTP 500") >= 2 and delivery.event.public_id in page.content.decode()
    admin_client.post(DELIVERIES, {"action": "redeliver", "_selected_action": [delivery.pk]})
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.PENDING and delivery.attempts == 0
    assert delivery.attempt_log.count() == 2


def test_delivery_admin_redeliver_needs_change_permission_on_webhooks(client):
    from django.contrib.auth.models import Permission

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    client.force_login(viewer)
    webhook, _ = make_webhook(None)
    delivery = make_delivery(webhook)
    response = client.post(DELIVERIES, {"action": "redeliver", "_selected_action": [delivery.pk]})
    delivery.refresh_from_db()
    assert response.status_code in (200, 302) and delivery.state == Delivery.State.FAILED


def test_application_admin_links_its_webhooks(admin_client):
    app = make_application()[0]
    make_webhook(app)
    page = admin_client.get(reverse("admin:applications_application_change", args=[app.pk])).content.decode()
    assert f"?application__id__exact={app.pk}" in page and "Webhooks (1)" in page
    assert not Event.objects.filter(type="webhook.ping").exists()


def test_webhook_admin_add_second_with_the_same_url_shows_field_error(admin_client):
    app = make_application()[0]
    make_webhook(app)
    response = admin_client.post(ADD, {"application": app.pk, "url": URL, "event_types": ["user.signed_in"]})
    assert response.status_code == 200
    assert "already has a webhook for this URL" in response.content.decode()
    assert Webhook.objects.count() == 1
