"""The sign-in page's side of providers: its "Continue with …" buttons, `direct_sign_in`, its form-action.

`direct_sign_in` (an authorization request parameter, as Logto's): a client sends
`/oauth/authorize?…&direct_sign_in=<provider>` where <provider> is the Provider's id (as in the
management API) or, for every type but generic OIDC, its type (`google`). The authorization request
travels to the sign-in page in `next`; the page then starts that provider's sign-in at once (a 302
to the provider) instead of showing its buttons. An unknown or disabled provider is ignored: the
page shows the usual choices.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from allauth.socialaccount.adapter import get_adapter
from django.http import HttpRequest, HttpResponse

from applications import policies
from identity.federation import selectors
from identity.federation.adapter import (
    DIRECT_PROVIDER_ATTRIBUTE,
    SocialAccountAdapter,
    allauth_provider_id,
    login_url,
)
from identity.federation.http import UpstreamUnavailable
from identity.federation.models import Provider

DIRECT_SIGN_IN_PARAMETER = "direct_sign_in"

# Where each type's authorization endpoint lives: the sign-in page's CSP form-action must allow the
# 302 that follows a "Continue with …" POST (Chromium checks form-action on redirects).
AUTHORIZATION_ORIGINS = {
    Provider.Type.GOOGLE: "https://accounts.google.com",
    Provider.Type.GITHUB: "https://github.com",
    Provider.Type.MICROSOFT: "https://login.microsoftonline.com",
    Provider.Type.APPLE: "https://appleid.apple.com",
    Provider.Type.DISCORD: "https://discord.com",
}


_MEMO = "_latchkey_enabled_providers"
# Set by the sign-in page: its CSP form-action also allows the providers (branding.page_policy).
SIGN_IN_PAGE_ATTRIBUTE = "latchkey_sign_in_page"
# Set by the account page to the providers its Connect buttons lead to (their origins join its form-action).
CONNECT_PROVIDERS_ATTRIBUTE = "latchkey_connect_providers"


def enabled_providers(application) -> list[Provider]:
    """The enabled providers the application accepts (policies.provider_accepted), read once per
    application object (a page asks several times)."""
    if application is None:
        return []
    memo = getattr(application, _MEMO, None)
    if memo is None:
        rows = selectors.enabled_providers_of(application)
        memo = [row for row in rows if policies.provider_accepted(application, row.pk)]
        setattr(application, _MEMO, memo)
    return memo


@dataclass(frozen=True)
class Button:
    provider_id: int
    type: str
    label: str
    login_url: str


def buttons(application) -> list[Button]:
    if application is None:
        return []
    return [
        Button(provider_id=row.pk, type=row.type, label=row.label, login_url=login_url(row))
        for row in enabled_providers(application)
    ]


def form_action_sources(application) -> list[str]:
    """The origins the page's provider buttons lead to."""
    if application is None:
        return []
    return provider_origins(enabled_providers(application))


def provider_origins(rows) -> list[str]:
    """Where the providers' authorization endpoints are (a generic OIDC provider: its issuer's origin,
    where its authorization endpoint is expected to be)."""
    sources = []
    for row in rows:
        if row.type == Provider.Type.OIDC:
            parts = urlsplit(row.issuer)
            source = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
        else:
            source = AUTHORIZATION_ORIGINS[row.type]
        if source and source not in sources:
            sources.append(source)
    return sources


def direct_provider(application, next_url: str) -> Provider | None:
    if application is None or not next_url:
        return None
    wanted = parse_qs(urlsplit(next_url).query).get(DIRECT_SIGN_IN_PARAMETER, [""])[0].strip()
    if not wanted:
        return None
    for row in enabled_providers(application):
        if wanted == str(row.pk) or (row.type != Provider.Type.OIDC and wanted == row.type):
            return row
    return None


def direct_sign_in_redirect(request: HttpRequest, application, next_url: str) -> HttpResponse | None:
    """The redirect to the provider named by `direct_sign_in`, started as its button would (None: none named)."""
    row = direct_provider(application, next_url)
    if row is None:
        return None
    return start_login(request, row, process="login", next_url=next_url)


def start_login(request: HttpRequest, row: Provider, *, process: str, next_url: str) -> HttpResponse:
    """The redirect to `row`'s provider, its login bound to `row` and its application as a button's is
    (adapter.generate_state_param); `process` is allauth's: "login", or "connect" for a signed-in person."""
    setattr(request, DIRECT_PROVIDER_ATTRIBUTE, row)
    try:
        return (
            get_adapter(request)
            .get_provider(request, allauth_provider_id(row))
            .redirect(request, process=process, next_url=next_url)
        )
    except UpstreamUnavailable:
        return SocialAccountAdapter(request).error_page(request, row, "unavailable", next_url=next_url)
