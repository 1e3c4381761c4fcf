"""The webhook worker's settings (latchkey.W003)."""

from __future__ import annotations

from django.core import checks

from applications.events import delivery
from config import outbound


@checks.register()
def check_webhook_lease(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """A lease shorter than one attempt can last lets a second worker resend a delivery the first is still sending
    (receivers dedupe by webhook-id, so a warning, not an error)."""
    longest_attempt = sum(outbound.timeouts())
    if delivery.lease_seconds() <= longest_attempt:
        return [
            checks.Warning(
                f"LATCHKEY_WEBHOOK_LEASE_SECONDS ({delivery.lease_seconds()}) must be longer than one attempt can "
                f"last: LATCHKEY_OUTBOUND_CONNECT_TIMEOUT + LATCHKEY_OUTBOUND_READ_TIMEOUT ({longest_attempt:g}).",
                hint="Raise the lease (default 60) or lower the timeouts.",
                id="latchkey.W003",
            )
        ]
    return []
