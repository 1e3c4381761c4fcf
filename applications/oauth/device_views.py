"""RFC 8628 views: the device authorization endpoint and the signed-in user's /device pages.

Thin: the rules live in applications.oauth.device and the authorization decision
(applications.oauth.authorization).
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from oauth2_provider import views as dot_views

from applications.models import Scope
from applications.oauth import claims as oidc_claims
from applications.oauth import device
from applications.oauth.authorization import Decision, Outcome, decide
from applications.oauth.client_challenge import ClientChallengeMixin
from identity.auth_time import session_auth_time, session_sign_in_method


class DeviceAuthorizationView(ClientChallengeMixin, dot_views.DeviceAuthorizationView):
    """POST /oauth/device (RFC 8628 §3.1): DeviceAuthorizationServer validates and saves the grant."""

    server_class = device.DeviceAuthorizationServer

    def post(self, request, *args, **kwargs) -> HttpResponse:
        headers, body, status = self.create_device_authorization_response(request)
        response = JsonResponse(body if isinstance(body, dict) else json.loads(body), status=status)
        for key, value in headers.items():
            response[key] = value
        response["Cache-Control"] = "no-store"
        return response


def _device_decision(request, application, scopes: list[str]) -> Decision:
    """The authorization decision for the device's request; the user always confirms a typed code (§3.3)."""
    return decide(
        user=request.user,
        session_auth_time=session_auth_time(request),
        sign_in=session_sign_in_method(request),
        application=application,
        scopes=scopes,
        prompt={"consent"},
        max_age=None,
        hint_subject=None,
        now=timezone.now(),
    )


def _refused(request, application, decision: Decision, user_code: str) -> HttpResponse:
    """Sign in again (with a method the app accepts) or show a second factor, back to this code; or the
    no-access page."""
    back = f"{reverse('oauth:device')}?{urlencode({'user_code': user_code[:32]})}"
    if decision.outcome is Outcome.SIGN_IN:
        return redirect_to_login(back)
    if decision.outcome is Outcome.SECOND_FACTOR:
        return redirect(f"{reverse('identity:second-factor')}?{urlencode({'next': back})}")
    return render(request, "oauth/no_access.html", {"application": application}, status=403)


def _pending(request, typed: str) -> tuple[device.PendingDevice, HttpResponse | None]:
    """The device grant the typed code names, or the page to answer with: the code's problem, or 429 once this
    user or address has typed too many codes that name nothing (device.code_guesses_refused)."""
    if (wait := device.code_guesses_refused(request)) is not None:
        minutes = -(-wait // 60)
        problem = (
            f"Too many codes that did not match any device. Try again in {minutes} minute{'s' if minutes > 1 else ''}."
        )
        response = _code_page(request, user_code=typed, problem=problem, status=429)
        response["Retry-After"] = str(wait)
        return device.PendingDevice(problem=problem), response
    pending = device.device_grant_pending(user_code=typed)
    if pending.problem == device.CODE_INVALID:
        device.code_guess_failed(request)
    if pending.problem:
        return pending, _code_page(request, user_code=typed, problem=pending.problem, status=400)
    return pending, None


def _code_page(request, *, user_code: str = "", problem: str | None = None, status: int = 200) -> HttpResponse:
    context = {"user_code": user_code[:32], "problem": problem}
    return render(request, "oauth/device_code.html", context, status=status)


class DeviceCodeView(LoginRequiredMixin, View):
    """GET/POST /device: the signed-in user types the code their device shows (RFC 8628 §3.3)."""

    def get(self, request, *args, **kwargs) -> HttpResponse:
        return _code_page(request, user_code=request.GET.get("user_code", ""))

    def post(self, request, *args, **kwargs) -> HttpResponse:
        typed = request.POST.get("user_code", "")
        pending, refused = _pending(request, typed)
        if refused is not None:
            return refused
        scopes = pending.grant.scope.split()
        decision = _device_decision(request, pending.application, scopes)
        if decision.outcome is not Outcome.CONSENT:
            return _refused(request, pending.application, decision, typed)
        descriptions = dict(Scope.objects.filter(name__in=scopes).values_list("name", "description"))
        context = {
            "application": pending.application,
            "user_code": pending.grant.user_code,
            "display_code": device.user_code_display(pending.grant.user_code),
            "scope_items": [(scope, descriptions.get(scope, scope), scope in decision.new_scopes) for scope in scopes],
        }
        return render(request, "oauth/device_confirm.html", context)


class DeviceConfirmView(LoginRequiredMixin, View):
    """POST /device/confirm: approve or deny the device (RFC 8628 §3.3), once."""

    def get(self, request, *args, **kwargs) -> HttpResponse:
        return redirect("oauth:device")

    def post(self, request, *args, **kwargs) -> HttpResponse:
        typed = request.POST.get("user_code", "")
        action = request.POST.get("action")
        if action not in ("approve", "deny"):
            return _code_page(request, user_code=typed, problem="Choose Allow or Deny.", status=400)
        pending, refused = _pending(request, typed)
        if refused is not None:
            return refused
        approve = action == "approve"
        application = pending.application
        decision = _device_decision(request, application, pending.grant.scope.split())
        if decision.outcome is not Outcome.CONSENT:
            return _refused(request, application, decision, typed)
        decided = device.device_grant_decide(
            grant=pending.grant,
            application=application,
            acting_user=request.user,
            approve=approve,
            auth_time=session_auth_time(request),
            amr=oidc_claims.amr_for(session_sign_in_method(request)),
            sign_in=session_sign_in_method(request),
        )
        if not decided:
            return _code_page(request, user_code=typed, problem=device.CODE_USED, status=400)
        return render(request, "oauth/device_done.html", {"application": application, "approved": approve})
