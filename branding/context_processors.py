"""`brand` in every template: the application of the authorization request in progress, or the default."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from branding.selectors import request_application
from branding.services import branding_for


def brand(request: HttpRequest) -> dict:
    # Lazy: templates that never show a brand (the admin) cost no query.
    return {"brand": SimpleLazyObject(lambda: branding_for(request_application(request), _organization(request)))}


def _organization(request: HttpRequest):
    """The organisation whose context the page is shown in (the authorization's current one), if any."""
    return getattr(request, "latchkey_organization", None)
