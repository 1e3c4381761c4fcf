"""Headers for the end-user pages (sign-in, consent, no-access, errors, device, sign-out, account).

A strict Content-Security-Policy: no script at all, styles only from the one inline <style>
block that carries the nonce of this request (the brand colours live there as CSS custom
properties, so no style="" attribute and no 'unsafe-inline'), images from here or https, no
framing, no <base>. The admin and the JSON endpoints are left alone: the admin ships its own
scripts, and JSON is never rendered as a page.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from branding.selectors import request_application

if TYPE_CHECKING:
    from applications.models import Application

END_USER_PATHS = ("/login", "/logout", "/oauth/", "/device", "/account/")
_HOST = re.compile(r"^[A-Za-z0-9.-]+$")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")


class PageSecurityMiddleware:
    """Adds CSP and X-Frame-Options to end-user HTML pages; their nonce is made when a page first asks for it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if is_end_user_page(request, response):
            response["Content-Security-Policy"] = page_policy(request)
            response["X-Frame-Options"] = "DENY"
        return response


def nonce(request: HttpRequest) -> str:
    """This request's CSP nonce, made on first use: the JSON endpoints (the token endpoint above all) never need one.

    The page's template asks first (through the context processor), the response's policy later, so both
    carry the same value.
    """
    value = getattr(request, "csp_nonce", None)
    if value is None:
        value = request.csp_nonce = secrets.token_urlsafe(18)
    return value


def csp_nonce(request: HttpRequest) -> dict:
    """Context processor: `csp_nonce` for the page's <style> block, even where a view shadows `request`."""
    return {"csp_nonce": nonce(request)}


def is_end_user_page(request: HttpRequest, response: HttpResponse) -> bool:
    """An HTML page a browser renders; a redirect's body never is (and needs no application lookup)."""
    if 300 <= response.status_code < 400:
        return False
    return request.path.startswith(END_USER_PATHS) and response.get("Content-Type", "").startswith("text/html")


def page_policy(request: HttpRequest) -> str:
    images = ["'self'", "https:"]
    if settings.DEBUG:  # logos served by a developer's machine (branding.models allows loopback http)
        images += ["http://localhost:*", "http://127.0.0.1:*"]
    form_action = ["'self'", *form_action_sources(request_application(request))]
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'none'",
            f"style-src 'nonce-{nonce(request)}'",
            f"img-src {' '.join(images)}",
            f"form-action {' '.join(form_action)}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )


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
