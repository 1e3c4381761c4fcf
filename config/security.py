"""Headers for the end-user pages (sign-in, consent, no-access, errors, device, sign-out, account).

A strict Content-Security-Policy: no script (but on the passkey pages, which ask for scripts carrying
the nonce: WebAuthn is a browser API), styles only from the one inline <style>
block that carries the nonce of this request (the brand colours live there as CSS custom
properties, so no style="" attribute and no 'unsafe-inline'), images from here or https, no
framing, no <base>. The admin and the JSON endpoints are left alone: the admin ships its own
scripts, and JSON is never rendered as a page.

Which application a page is for, and so where its forms may lead, is the apps' business: the
function named by LATCHKEY_PAGE_FORM_ACTION_SOURCES (branding.page_policy) answers it, so config/
imports no app.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

END_USER_PATHS = ("/login", "/logout", "/oauth/", "/device", "/account/", "/admin/login/")


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


def allow_scripts(request: HttpRequest) -> str:
    """This page runs scripts carrying its nonce (the passkey pages): returns the nonce for them."""
    request.csp_scripts = True
    return nonce(request)


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
    form_action = ["'self'", *page_form_action_sources(request)]
    scripts = getattr(request, "csp_scripts", False)
    return "; ".join(
        [
            "default-src 'none'",
            # The passkey script asks this server for its challenge (connect-src), nothing else.
            *([f"script-src 'nonce-{nonce(request)}'", "connect-src 'self'"] if scripts else ["script-src 'none'"]),
            f"style-src 'nonce-{nonce(request)}'",
            f"img-src {' '.join(images)}",
            f"form-action {' '.join(form_action)}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )


def page_form_action_sources(request: HttpRequest) -> list[str]:
    """The form-action sources beyond 'self' for this page (LATCHKEY_PAGE_FORM_ACTION_SOURCES)."""
    return import_string(settings.LATCHKEY_PAGE_FORM_ACTION_SOURCES)(request)
