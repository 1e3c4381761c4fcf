"""The admin console signs in through Latchkey's own sign-in page, and asks staff for a second factor.

Django's admin login is a password form of its own, which would skip second factors, sign-in limits
and sign-in methods (and a staff session also reaches the management API). This site's login page is
our sign-in page (the same view as /login), and, when LATCHKEY_ADMIN_SECOND_FACTOR=required (the
default), a session that has shown only one factor goes on to /account/second-factor (which leads a
person with none through enrolment).
Installed as the default admin site (Django's documented `default_site`, identity.mfa.apps), so every
ModelAdmin registered with `admin.register` lives here.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from identity.mfa.policies import staff_session_allowed


class AdminSite(admin.AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        return staff_session_allowed(request)

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        """Our sign-in page itself (the same view as /login: its limits, methods and second step), coming back
        to the console; signed in as staff, on to the console or to show a second factor."""
        target = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = reverse("admin:index", current_app=self.name)
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff and request.method != "POST":
            if staff_session_allowed(request):
                return HttpResponseRedirect(target)
            return HttpResponseRedirect(f"{reverse('identity:second-factor')}?{urlencode({'next': target})}")
        request.GET = request.GET.copy()
        request.GET["next"] = target  # the sign-in page's `next` (identity.adapter.safe_next)
        from identity.views import SignInView

        return SignInView.as_view()(request)
