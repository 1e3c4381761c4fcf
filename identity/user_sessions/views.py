"""The account page's sessions: end one, or all ("sign out everywhere"). POST only, CSRF-protected."""

from __future__ import annotations

from allauth.usersessions.models import UserSession
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from identity.user_sessions import services


@require_POST
@login_required
def session_end(request: HttpRequest, session_id: int) -> HttpResponse:
    """End one session (404 for one that is not the person's); ending this one signs out here."""
    current_key = request.session.session_key
    current = UserSession.objects.filter(pk=session_id, user_id=request.user.pk, session_key=current_key).exists()
    if not services.session_end(actor=request.user, user=request.user, session_id=session_id):
        raise Http404
    if current:
        logout(request)
        return redirect("identity:login")
    return redirect("identity:account")


@require_POST
@login_required
def sessions_end_all(request: HttpRequest) -> HttpResponse:
    services.sessions_end_all(actor=request.user, user=request.user)
    logout(request)  # this session too, tracked or not
    return redirect("identity:login")
