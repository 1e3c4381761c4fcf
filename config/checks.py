"""System checks for Latchkey's deployment-wide invariants (latchkey.E001–E005, W001).

Checks of one app's settings live in that app and are registered from its AppConfig.ready:
the signing algorithm (E006) in applications.checks, the default brand (E007) in branding.checks.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from oauth2_provider.settings import oauth2_settings

CLIENT_SECRET_HASHER_PATH = "applications.secrets.ClientSecretHasher"


@checks.register(checks.Tags.security)
def check_client_secret_hasher(app_configs, **kwargs) -> list[checks.CheckMessage]:
    messages = []
    hashers = list(settings.PASSWORD_HASHERS)
    if oauth2_settings.CLIENT_SECRET_HASHER != "latchkey_hmac_sha256" or CLIENT_SECRET_HASHER_PATH not in hashers:
        messages.append(
            checks.Error(
                "Client secrets must use Latchkey's fast HMAC-SHA256 hasher.",
                hint=f"Set OAUTH2_PROVIDER['CLIENT_SECRET_HASHER'] = 'latchkey_hmac_sha256' and list "
                f"{CLIENT_SECRET_HASHER_PATH!r} in PASSWORD_HASHERS.",
                id="latchkey.E001",
            )
        )
    elif hashers[0] == CLIENT_SECRET_HASHER_PATH:
        messages.append(
            checks.Error(
                "The client-secret hasher is first in PASSWORD_HASHERS, so user passwords would get a fast hash.",
                hint="List it after the password hashers (PBKDF2 first).",
                id="latchkey.E002",
            )
        )
    return messages


@checks.register(checks.Tags.security)
def check_issuer(app_configs, **kwargs) -> list[checks.CheckMessage]:
    issuer = getattr(settings, "LATCHKEY_ISSUER", "")
    parts = urlsplit(issuer)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        return [
            checks.Error(
                f"LATCHKEY_ISSUER={issuer!r} is not an absolute http(s) URL without query or fragment.",
                hint="Set LATCHKEY_ISSUER to the public base URL, e.g. https://id.example.com.",
                id="latchkey.E003",
            )
        ]
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1") and not settings.DEBUG:
        return [
            checks.Error(
                f"LATCHKEY_ISSUER={issuer!r} uses http on a public host.",
                hint="OpenID Connect requires an https issuer outside development.",
                id="latchkey.E004",
            )
        ]
    return []


@checks.register(checks.Tags.models)
def check_application_model(app_configs, **kwargs) -> list[checks.CheckMessage]:
    if getattr(settings, "OAUTH2_PROVIDER_APPLICATION_MODEL", None) != "applications.Application":
        return [
            checks.Error(
                "OAUTH2_PROVIDER_APPLICATION_MODEL must be 'applications.Application'.",
                id="latchkey.E005",
            )
        ]
    return []


@checks.register(checks.Tags.security)
def check_outbound_private(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """The guard's development setting (config.outbound) lets operator-supplied URLs reach the internal network."""
    if getattr(settings, "LATCHKEY_OUTBOUND_ALLOW_PRIVATE", False) and not settings.DEBUG:
        return [
            checks.Warning(
                "LATCHKEY_OUTBOUND_ALLOW_PRIVATE is on outside development: provider URLs may reach http, "
                "loopback and private addresses.",
                hint="Unset it in production; it exists for a local upstream provider on 127.0.0.1.",
                id="latchkey.W001",
            )
        ]
    return []
