"""Providers made through identity.federation.services, so test data obeys the same rules as real data."""

from __future__ import annotations

from identity.federation import services
from identity.federation.models import Provider

SECRET = "upstream-client-secret-7f3a9c"
APPLE_KEY = "-----BEGIN PRIVATE KEY-----\nMIGTAgEAMBMGByqGSM49-apple-test-key\n-----END PRIVATE KEY-----"


def make_provider(application, *, type: str = "github", **fields) -> Provider:
    values = {"type": type, "client_id": f"{type}-client-id"}
    if type == "apple":
        values |= {"team_id": "TEAM123456", "key_id": "KEY1234567", "private_key": APPLE_KEY}
    else:
        values["client_secret"] = SECRET
    if type == "oidc":
        values |= {"issuer": "https://idp.example.com", "display_name": "Example SSO"}
    return services.provider_create(actor=None, application=application, fields={**values, **fields})
