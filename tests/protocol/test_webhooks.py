"""Issue 17's "done when", as an operator and a receiver meet it: a webhook added through the management
API of a running server, a person signing in to that application with Authlib, the worker delivering, and
a real receiver verifying the signed `user.signed_in` with the Standard Webhooks library. Then the
receiver and the worker are down while more people sign in; when both are back, everything that
happened meanwhile arrives, once per event after deduplication by `webhook-id`."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from django.core.management import call_command
from django.utils import timezone

from applications.events.models import Delivery
from applications.usage import counters
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory
from tests.protocol.conftest import Browser

pytestmark = pytest.mark.django_db(transaction=True)

REDIRECT_URI = "https://rp.example.com/callback"


def sign_in_to(server, application, secret, browser: Browser) -> dict:
    """The authorization code flow of a web app, with Authlib; returns the token response."""
    client = OAuth2Session(application.client_id, secret, scope="openid email", redirect_uri=REDIRECT_URI)
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    response = browser.authorize(url)
    assert response.status_code == 302, response.text[:500]
    return client.fetch_token(server.url("/oauth/token"), authorization_response=response.headers["Location"])


def run_worker() -> None:
    call_command("events", "worker", "--once")


def test_webhook_added_by_api_receives_signed_sign_ins_and_catches_up_after_an_outage(
    server, management_token, receiver, settings
):
    from applications.models import Scope

    application, secret = make_application(
        type="web", redirect_uris=REDIRECT_URI, allowed_scopes=Scope.objects.filter(name__in=["openid", "email"])
    )
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {management_token}"
    created = api.post(
        server.url(f"/api/applications/{application.pk}/webhooks"),
        json={"url": receiver.url(), "event_types": ["user.signed_in"]},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    receiver.secrets = [created.json()["secret"]]
    shown = api.get(server.url(f"/api/applications/{application.pk}/webhooks/{created.json()['id']}"), timeout=10)
    assert shown.status_code == 200 and "secret" not in shown.json()  # shown once, at creation

    ada = UserFactory(email="ada@example.com", email_verified=True)
    ada_browser = Browser(server)
    ada_browser.sign_in(ada.email)
    sign_in_to(server, application, secret, ada_browser)
    run_worker()

    assert len(receiver.requests) == 1
    delivered = receiver.requests[0]
    assert delivered.error == "" and delivered.verified is not None  # the standardwebhooks verifier accepted it
    assert delivered.verified["type"] == "user.signed_in"
    assert delivered.verified["application"] == {"client_id": application.client_id}
    assert delivered.verified["data"]["user_id"] == str(ada.public_id)
    assert delivered.verified["data"]["client_id"] == application.client_id
    assert "ada@example.com" not in delivered.body.decode()  # ids, never a profile

    # The receiver is down (answers 503) and the worker is not running while three more sign-ins happen:
    # Ada again (single sign-on) and two new people.
    receiver.default_status = 503
    sign_in_to(server, application, secret, ada_browser)
    for email in ("grace@example.com", "edsger@example.com"):
        person = UserFactory(email=email, email_verified=True)
        browser = Browser(server)
        browser.sign_in(person.email)
        sign_in_to(server, application, secret, browser)
    run_worker()  # one failed attempt each: the receiver is still down
    assert len(receiver.requests) == 4 and all(not r.error for r in receiver.requests)  # signed, but refused
    assert Delivery.objects.filter(state=Delivery.State.PENDING, attempts=1).count() == 3

    # Both are back; the retries fall due (time passes: the backoff's first step is seconds).
    receiver.default_status = 204
    Delivery.objects.filter(state=Delivery.State.PENDING).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    run_worker()

    assert Delivery.objects.filter(state=Delivery.State.SUCCEEDED).count() == 4
    received = {}
    for request in receiver.requests:
        assert request.verified is not None, request.error
        received.setdefault(request.headers["webhook-id"], request.verified)  # the receiver's dedupe
    assert len(received) == 4
    assert sorted(event["data"]["user_id"] for event in received.values()).count(str(ada.public_id)) == 2

    # The same sign-ins are counted as usage of the application.
    counters.flush()
    usage = api.get(server.url(f"/api/applications/{application.pk}/usage"), timeout=10).json()
    assert usage["totals"]["sign_ins"] == 4
    assert usage["totals"]["tokens"]["authorization_code"] == 4
    assert usage["monthly_active_users"] == 3
