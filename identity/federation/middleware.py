"""Failures allauth's provider views do not catch themselves: our branded page, never a 500.

- A provider that cannot be reached when a sign-in starts: allauth's login view fetches a generic
  OIDC provider's discovery document before redirecting and does not catch a failure (its callback does).
- A callback whose provider is gone (disabled or deleted since the sign-in started): allauth finds
  no credentials (SocialApp.DoesNotExist).
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
        from allauth.socialaccount.models import SocialApp

        from identity.adapter import safe_next
        from identity.federation.adapter import SocialAccountAdapter, login_providers

        if isinstance(exception, SocialApp.DoesNotExist):
            return SocialAccountAdapter(request).error_page(request, None, "state", next_url=safe_next(request))
        if not isinstance(exception, UpstreamUnavailable):
            return None
        rows = login_providers(request)
        return SocialAccountAdapter(request).error_page(
            request, rows[0] if len(rows) == 1 else None, "unavailable", next_url=safe_next(request)
        )
