"""Where a branded end-user page's forms may lead: the form-action sources of its application.

config.security's Content-Security-Policy asks `request_form_action_sources` (named in
LATCHKEY_PAGE_FORM_ACTION_SOURCES) for the application the page is for (branding.selectors).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.http import HttpRequest

from applications.models import Application
from branding.selectors import request_application

_HOST = re.compile(r"^[A-Za-z0-9.-]+$")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")


def request_form_action_sources(request: HttpRequest) -> list[str]:
    from identity.federation import sign_in

    sources = form_action_sources(request_application(request))
    if getattr(request, sign_in.SIGN_IN_PAGE_ATTRIBUTE, False):
        # The sign-in page's "Continue with …" buttons 302 to their providers.
        sources += [s for s in sign_in.form_action_sources(request_application(request)) if s not in sources]
    # The account page's Connect buttons 302 to theirs.
    connectable = getattr(request, sign_in.CONNECT_PROVIDERS_ATTRIBUTE, ())
    sources += [s for s in sign_in.provider_origins(connectable) if s not in sources]
    return sources


def form_action_sources(application: Application | None) -> list[str]:
    """Where a form on the page may lead once its redirects are followed: the app's registered URIs.

    Chromium checks form-action on every redirect that follows a form submission (CSP Level 3
    §6.4.1 "form-action" pre-navigation check), so with 'self' alone the consent form's 302 to the
    app's redirect URI, the sign-in form's chain through /oauth/authorize to it, and the sign-out
    confirmation's 302 to a post-logout URI would all be blocked.
    """
    if application is None:
        return []
    sources: list[str] = []
    for uri in application.redirect_uri_list + application.post_logout_redirect_uri_list:
        source = _source_of(uri, native=application.rule.custom_schemes)
        if source and source not in sources:
            sources.append(source)
    return sources


def _source_of(uri: str, *, native: bool) -> str | None:
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname or ""
    if scheme in ("http", "https"):
        if ":" in host:
            # CSP host sources cannot name an IPv6 literal ([::1]); only the scheme can be allowed.
            return f"{scheme}:"
        if not _HOST.match(host):
            return None
        if native and scheme == "http" and host == "127.0.0.1":
            return "http://127.0.0.1:*"  # RFC 8252 §7.3: a native app's loopback port varies per run
        return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"
    # A native app's private-use scheme (RFC 8252 §7.1): the scheme is the whole source.
    return f"{scheme}:" if native and _SCHEME.match(scheme) else None
