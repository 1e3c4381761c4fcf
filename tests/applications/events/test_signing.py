from __future__ import annotations

import base64
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from applications.events import signing
from applications.events.models import SECRET_ENCRYPTION_PURPOSE
from config import encryption
from tests.applications.events.factories import make_event, make_receiving_webhook
from tests.applications.factories import make_application


def test_new_signing_secret_is_whsec_and_32_random_bytes():
    first, second = signing.new_signing_secret(), signing.new_signing_secret()

    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


@pytest.mark.django_db
def test_signed_request_body_and_headers_verify_with_standardwebhooks():
    application, _ = make_application(type="web")
    webhook, secret = make_receiving_webhook(url="https://hooks.example.com/in", application=application)
    event = make_event(application=application)

    body, headers = signing.signed_request(event=event, webhook=webhook, now=timezone.now())

    assert StandardWebhook(secret).verify(body, headers) == {
        "id": event.public_id,
        "type": "user.signed_in",
        "timestamp": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "application": {"client_id": application.client_id},
        "data": {"user_id": "usr_1", "client_id": application.client_id, "method": "password"},
    }
    assert headers["webhook-id"] == event.public_id
    assert headers["Content-Type"] == "application/json"
    assert b" " not in body  # compact: the bytes signed are the bytes sent, nothing re-encoded


@pytest.mark.django_db
def test_signed_request_deployment_event_has_null_application():
    webhook, secret = make_receiving_webhook(url="https://hooks.example.com/in")
    event = make_event()

    body, headers = signing.signed_request(event=event, webhook=webhook, now=timezone.now())

    assert json.loads(body)["application"] is None
    assert StandardWebhook(secret).verify(body, headers)["type"] == "user.created"


@pytest.mark.django_db
def test_signed_request_rotation_overlap_carries_both_signatures_each_verifying():
    webhook, new_secret = make_receiving_webhook(url="https://hooks.example.com/in")
    old_secret = signing.new_signing_secret()
    webhook.previous_secret_encrypted = encryption.encrypt(old_secret.encode(), purpose=SECRET_ENCRYPTION_PURPOSE)
    webhook.previous_secret_expires_at = timezone.now() + timedelta(hours=1)
    webhook.save()

    body, headers = signing.signed_request(event=make_event(), webhook=webhook, now=timezone.now())

    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    for secret in (old_secret, new_secret):
        assert StandardWebhook(secret).verify(body, headers)["type"] == "user.created"
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(signing.new_signing_secret()).verify(body, headers)


@pytest.mark.django_db
def test_signed_request_after_overlap_signs_with_the_new_secret_only():
    webhook, _ = make_receiving_webhook(url="https://hooks.example.com/in")
    old_secret = signing.new_signing_secret()
    webhook.previous_secret_encrypted = encryption.encrypt(old_secret.encode(), purpose=SECRET_ENCRYPTION_PURPOSE)
    webhook.previous_secret_expires_at = timezone.now() - timedelta(seconds=1)
    webhook.save()

    body, headers = signing.signed_request(event=make_event(), webhook=webhook, now=timezone.now())

    assert len(headers["webhook-signature"].split(" ")) == 1
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(old_secret).verify(body, headers)


@pytest.mark.django_db
def test_signed_request_each_attempt_new_timestamp_same_id():
    webhook, secret = make_receiving_webhook(url="https://hooks.example.com/in")
    event = make_event()
    an_hour_ago = timezone.now() - timedelta(hours=1)

    _, first = signing.signed_request(event=event, webhook=webhook, now=an_hour_ago)
    body, second = signing.signed_request(event=event, webhook=webhook, now=timezone.now())

    assert first["webhook-id"] == second["webhook-id"] == event.public_id
    assert int(second["webhook-timestamp"]) - int(first["webhook-timestamp"]) == pytest.approx(3600, abs=2)
    with pytest.raises(WebhookVerificationError, match="too old"):
        StandardWebhook(secret).verify(body, {**second, "webhook-timestamp": first["webhook-timestamp"]})


@pytest.mark.django_db
def test_readme_receiver_example_verifies_a_signed_request_and_refuses_a_tampered_one():
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    section = readme.split("## Events and webhooks: delivery", 1)[1]
    example = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL).group(1)
    webhook, secret = make_receiving_webhook(url="https://hooks.example.com/in")
    namespace: dict = {}
    exec(example.replace("whsec_…", secret), namespace)  # noqa: S102 (our own README)
    body, headers = signing.signed_request(event=make_event(), webhook=webhook, now=timezone.now())

    assert namespace["receive"](body, headers)["type"] == "user.created"
    assert namespace["receive"](body.replace(b"usr_1", b"usr_2"), headers) is None
