"""`{% page_brand as brand %}`: the brand of the application a view rendered the page for.

A context processor sees only the request, so the `brand` it provides is resolved from the request
(branding.selectors). When the view passes `application` in the template context (error, no-access,
device and sign-out pages), that application decides instead, and it is recorded on the request so
the Content-Security-Policy (branding.page_policy) allows the same application's redirect targets.
"""

from __future__ import annotations

from django import template

from applications.models import Application
from branding.services import ResolvedBrand, branding_for

register = template.Library()


@register.simple_tag(takes_context=True)
def page_brand(context: template.Context) -> ResolvedBrand:
    application = context.get("application")
    if isinstance(application, Application):
        request = getattr(context, "request", None)  # Django's, whatever a view put under "request"
        if request is not None:
            request.latchkey_application = application
        # In an organisation's context (the authorization's current one), its logo and colours win.
        return branding_for(application, getattr(request, "latchkey_organization", None))
    brand = context.get("brand")
    return brand if brand is not None else branding_for(None)
