"""The pages of second factors that are ours; allauth's own (list, remove, recovery codes) serve the rest.

- /account/second-factor?next=…: where an application that requires a second factor, or the admin
  console, sends a session that has shown only one: on to allauth's reauthentication with a factor the
  person has, or, with none, a page leading them through enrolment; back to `next` afterwards.
- enrolment (TOTP, passkey) as allauth's views, but coming back to `next` (through the recovery codes
  page when the first factor created them);
- passkey sign-in as allauth's, but coming back to the authorization request in `next`, refused for an
  application that does not accept Latchkey's own credentials, and with a page that says what went wrong.
"""

from __future__ import annotations

from allauth.account.models import EmailAddress, Login
from allauth.mfa.models import Authenticator
from allauth.mfa.totp import views as totp_views
from allauth.mfa.webauthn import views as webauthn_views
from allauth.mfa.webauthn.internal import flows as webauthn_flows
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from applications import policies as application_policies
from branding.selectors import request_application
from config.ratelimit import Limit, count
from identity.adapter import safe_next, with_next
from identity.auth_time import session_sign_in_method
from identity.mfa.factors import second_factor_shown
from identity.mfa.selectors import second_factor_blocked, second_factor_types

VERIFICATION_RESEND_SECONDS = 180


@require_safe
@login_required
def second_factor(request: HttpRequest) -> HttpResponse:
    """Show a second factor (the one the person has), or enrol one; then back to `next`."""
    next_url = safe_next(request) or reverse("identity:account")
    if second_factor_shown(session_sign_in_method(request)):
        return HttpResponseRedirect(next_url)
    kinds = second_factor_types(request.user)
    if Authenticator.Type.TOTP in kinds:
        return HttpResponseRedirect(with_next(reverse("mfa_reauthenticate"), request))
    if Authenticator.Type.WEBAUTHN in kinds:
        return HttpResponseRedirect(with_next(reverse("mfa_reauthenticate_webauthn"), request))
    context = {
        "next": safe_next(request),
        "application": request_application(request),
        "blocked": second_factor_blocked(request.user),
    }
    return render(request, "identity/second_factor.html", context)


@require_POST
@login_required
def verification_send(request: HttpRequest) -> HttpResponse:
    """Send the link that verifies the person's address again (a factor waits for it): at most one a few
    minutes, per account; the page says to check the inbox either way."""
    address = EmailAddress.objects.filter(user_id=request.user.pk, verified=False).order_by("-primary").first()
    if (
        address is not None
        and count(Limit("verification-send", 1, VERIFICATION_RESEND_SECONDS), str(request.user.pk)) is None
    ):
        address.send_confirmation(request)
    return render(request, "account/verification_sent.html")


def _continue_url(request: HttpRequest, url: str) -> str:
    """After enrolling: the recovery codes (shown once, carrying `next` on), else `next`, else allauth's page."""
    if not safe_next(request):
        return url
    return with_next(url, request) if url == reverse("mfa_view_recovery_codes") else safe_next(request)


class ActivateTOTPView(totp_views.ActivateTOTPView):
    def get_success_url(self) -> str:
        return _continue_url(self.request, super().get_success_url())


class AddWebAuthnView(webauthn_views.AddWebAuthnView):
    def get_success_url(self) -> str:
        return _continue_url(self.request, super().get_success_url())


class PasskeySignInView(webauthn_views.LoginWebAuthnView):
    """Sign in with a passkey alone. Back to `next` (the authorization request), like the password form."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not application_policies.password_sign_in_allowed(request_application(request)):
            return self._sign_in_page(refused=True, status=403)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form) -> HttpResponse:
        authenticator = form.cleaned_data["credential"]
        login = Login(user=authenticator.user, redirect_url=safe_next(self.request) or None)
        return webauthn_flows.perform_passwordless_login(self.request, authenticator, login)

    def form_invalid(self, form) -> HttpResponse:
        return self._sign_in_page(passkey_error=True, status=400)

    def _sign_in_page(self, *, status: int, **context) -> HttpResponse:
        from identity.views import SignInView

        view = SignInView()
        view.setup(self.request)
        form = view.get_form_class()(request=self.request)  # an empty password form beside the message
        return view.render_to_response(view.get_context_data(form=form, **context), status=status)


activate_totp = ActivateTOTPView.as_view()
add_webauthn = AddWebAuthnView.as_view()
passkey_sign_in = PasskeySignInView.as_view()
