"""System checks for Latchkey's own invariants (latchkey.E00x)."""

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


@checks.register()
def check_signing_algorithm(app_configs, **kwargs) -> list[checks.CheckMessage]:
    from applications.oauth.keys import ALGORITHMS

    algorithm = getattr(settings, "LATCHKEY_SIGNING_ALGORITHM", "RS256")
    if algorithm not in ALGORITHMS:
        return [
            checks.Error(
                f"LATCHKEY_SIGNING_ALGORITHM={algorithm!r} is not a supported signing algorithm.",
                hint=f"Use one of {', '.join(ALGORITHMS)}: it signs the ID tokens of applications that choose none.",
                id="latchkey.E006",
            )
        ]
    return []


@checks.register()
def check_default_brand(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """The default brand lands in every end-user page's <style> block and <img>: only safe values."""
    from branding.models import logo_url_error
    from branding.services import COLOUR

    messages = []
    for name in ("LATCHKEY_BRAND_PRIMARY_COLOR", "LATCHKEY_BRAND_SECONDARY_COLOR"):
        value = getattr(settings, name, "")
        if not isinstance(value, str) or not COLOUR.match(value):
            messages.append(
                checks.Error(
                    f"{name}={value!r} is not a #RRGGBB colour.",
                    hint=f"Set {name} to a colour such as #1D4ED8.",
                    id="latchkey.E007",
                )
            )
    logo = getattr(settings, "LATCHKEY_BRAND_LOGO_URL", "")
    if logo and (problem := logo_url_error(logo)):
        messages.append(
            checks.Error(
                f"LATCHKEY_BRAND_LOGO_URL={logo!r}: {problem}",
                hint="Use an https URL of the logo (the browser loads it), or leave it empty to show the initial.",
                id="latchkey.E007",
            )
        )
    return messages
