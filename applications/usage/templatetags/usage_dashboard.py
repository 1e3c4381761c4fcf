"""`{% usage_overview %}` on the admin index and `{% usage_application original %}` on an application's page.

Inclusion tags rather than a custom AdminSite: the admin stays Django's and DOT's, and the templates that
extend theirs (templates/admin/index.html, templates/admin/applications/application/change_form.html)
only add a block.
"""

from __future__ import annotations

from django import template

from applications.models import Application
from applications.usage.dashboard import dashboard_application, dashboard_overview, usage_today

register = template.Library()

VIEW_APPLICATIONS = "applications.view_application"


@register.inclusion_tag("usage/admin/overview.html", takes_context=True)
def usage_overview(context: template.Context) -> dict:
    """Numbers of every application: only for staff who may see applications."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm(VIEW_APPLICATIONS):
        return {"dashboard": None}
    return {"dashboard": dashboard_overview(today=usage_today())}


@register.inclusion_tag("usage/admin/application.html")
def usage_application(application: Application) -> dict:
    return {
        "application": application,
        "dashboard": dashboard_application(application=application, today=usage_today()),
    }
