"""The end user's "authorised apps" page: list what they allowed, and take it back."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from consent.models import Consent
from consent.selectors import authorized_apps_for_user
from consent.services import consent_revoke


@require_safe
@login_required
def my_apps(request: HttpRequest) -> HttpResponse:
    return render(request, "consent/my_apps.html", {"apps": authorized_apps_for_user(user=request.user)})


@require_POST
@login_required
def revoke(request: HttpRequest, consent_id: int) -> HttpResponse:
    """Only the signed-in user's own consents are found: any other id is a 404, whoever owns it."""
    consent = get_object_or_404(Consent.objects.select_related("application"), pk=consent_id, user=request.user)
    application = consent.application
    if consent_revoke(actor=request.user, user=request.user, application=application):
        messages.success(request, f"{application.name} can no longer access your account.")
    else:  # a concurrent revoke got there first; the outcome the user asked for holds
        messages.info(request, f"{application.name} had already been removed.")
    return redirect("consent:my-apps")
