"""A provider that cannot be reached when a sign-in starts (OIDC discovery refused or down): our page.

allauth's login view fetches a generic OIDC provider's discovery document before redirecting and
does not catch a failure (its callback does); this turns that failure into the same branded error
page as at the callback, instead of a 500.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from identity.federation.http import UpstreamUnavailable


class UpstreamErrorMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, UpstreamUnavailable):
            return None
        from identity.adapter import safe_next
        from identity.federation.adapter import SocialAccountAdapter, login_providers

        rows = login_providers(request)
        return SocialAccountAdapter(request).error_page(
            request, rows[0] if len(rows) == 1 else None, "unavailable", next_url=safe_next(request)
        )
