"""Webhook secrets and signatures, per the Standard Webhooks specification (standardwebhooks package).

Every attempt is signed afresh: receivers' verifiers refuse a `webhook-timestamp` older than five
minutes, so a retry an hour later carries a new timestamp and signature but the same `webhook-id`
(the event's public id), which is what receivers dedupe on. The body is serialized once per attempt
and exactly those bytes are signed and sent: a receiver verifies the bytes it got, not a re-encoding.
During a rotation's overlap the delivery carries one `v1,…` signature per live secret, so a receiver
that has either secret verifies it.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook as StandardWebhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
USER_AGENT = "Latchkey-Webhooks/1"


def new_signing_secret() -> str:
    """A new secret in the form every Standard Webhooks library accepts: `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def event_body(event) -> bytes:
    """The JSON a receiver gets: the event's id, type, time, application and payload, compact."""
    application = event.application
    document = {
        "id": event.public_id,
        "type": event.type,
        "timestamp": event.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "application": {"client_id": application.client_id} if application is not None else None,
        "data": event.payload,
    }
    # ASCII-only JSON, so the str the signer hashes and the bytes on the wire are the same.
    return json.dumps(document, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def signature_header(*, secrets_: list[str], message_id: str, timestamp: datetime, body: bytes) -> str:
    """`v1,<base64>` per secret, space-separated (the spec's list of signatures)."""
    data = body.decode("ascii")
    return " ".join(StandardWebhook(secret).sign(message_id, timestamp, data) for secret in secrets_)


def signed_request(*, event, webhook, now: datetime) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one attempt to deliver `event` to `webhook`, signed at `now`."""
    body = event_body(event)
    timestamp = now.astimezone(UTC)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": event.public_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature_header(
            secrets_=webhook.signing_secrets(now=now), message_id=event.public_id, timestamp=timestamp, body=body
        ),
    }
    return body, headers
