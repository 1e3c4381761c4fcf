from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from allauth.account import views as account_views
from allauth.account.adapter import get_adapter
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_POST, require_safe

from applications import policies
from branding.selectors import request_application
from identity import sign_in_limits
from identity.adapter import safe_next
from identity.federation import selectors as federation_selectors
from identity.federation import services as federation_services
from identity.federation import sign_in as federation_sign_in
from identity.mfa import selectors as mfa_selectors
from identity.organizations import sign_in as organization_sign_in
from identity.user_sessions import selectors as session_selectors


class SignInView(account_views.LoginView):
    """The sign-in page, branded and limited to the sign-in methods of the app in `next`.

    allauth's login flow (throttling, email-verification stage, `user_logged_in`) behind our page.
    `next` is followed only to this host (identity.adapter); anything else lands on LOGIN_REDIRECT_URL.
    """

    template_name = "identity/login.html"

    def setup(self, request, *args, **kwargs) -> None:
        super().setup(request, *args, **kwargs)
        self.application = request_application(request)
        # Read only when the page uses it (the app's providers cost a query).
        self.methods = SimpleLazyObject(lambda: policies.sign_in_methods(self.application))
        setattr(request, federation_sign_in.SIGN_IN_PAGE_ATTRIBUTE, True)

    def get(self, request, *args, **kwargs) -> HttpResponse:
        """`direct_sign_in` in the authorization request (`next`) goes straight to that provider; so does an
        organisation that signs in with its own provider (the one `next` names, or the person's)."""
        next_url = safe_next(request)
        direct = federation_sign_in.direct_sign_in_redirect(request, self.application, next_url)
        if direct is None and (route := self._organization_route(next_url=next_url)) is not None:
            direct = federation_sign_in.start_login(request, route, process="login", next_url=next_url)
        return direct or super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs) -> HttpResponse:
        # An address at a domain an organisation routes to its own provider signs in there, not here. By
        # domain only: the answer is the same whether or not such an account exists (no enumeration).
        if (route := self._organization_route(email=request.POST.get("username", ""))) is not None:
            return federation_sign_in.start_login(request, route, process="login", next_url=safe_next(request))
        if not policies.password_sign_in_allowed(self.application):
            # The app the user is signing in for does not accept passwords: check nothing, sign in no one.
            return self.render_to_response(self.get_context_data(refused=True), status=403)
        email = request.POST.get("username", "")
        if (wait := sign_in_limits.refused_for(request, email)) is not None:
            # Too many failures: refused before the password is checked, the same for every address.
            response = self.render_to_response(self.get_context_data(retry_minutes=-(-wait // 60)), status=429)
            response["Retry-After"] = str(wait)
            return response
        response = super().post(request, *args, **kwargs)
        if email and not request.user.is_authenticated:
            sign_in_limits.failed(request, email)
        return response

    def _organization_route(self, *, next_url: str = "", email: str = ""):
        if self.application is None:
            return None
        requested = parse_qs(urlsplit(next_url).query).get("organization", [""])[0] if next_url else ""
        return organization_sign_in.sign_in_route(
            user=self.request.user if next_url else None,
            application=self.application,
            requested=requested or None,
            email=email,
        )

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        context["application"] = self.application
        context["sign_in_methods"] = self.methods
        context["password_allowed"] = policies.password_sign_in_allowed(self.application)
        context["next"] = safe_next(self.request)
        context["providers"] = federation_sign_in.buttons(self.application)
        context["registration_open"] = get_adapter(self.request).is_open_for_signup(self.request)
        return context


class PasswordResetView(account_views.PasswordResetView):
    """allauth's reset request, which would follow `next` at once: it says "check your email" first.

    `next` rides along to the done page (its "back to sign in" link) and inside the emailed link.
    """

    def get_success_url(self) -> str:
        return self.passthrough_next_url(reverse("account_reset_password_done"))


class SignOutView(auth_views.LogoutView):
    """POST only; a local `next` (e.g. the authorization request, to switch account) is followed."""

    template_name = "identity/logged_out.html"


@require_safe
@login_required
def account(request: HttpRequest) -> HttpResponse:
    """The signed-in user's home: who they are, their connected identities, their authorised apps, sign out."""
    return render(request, "identity/account.html", account_context(request))


def account_context(request: HttpRequest, **extra) -> dict:
    """The account page: connected identities, and Connect buttons for the providers of the apps the person
    consented to (or of the app named by `client_id`, e.g. a link from that app)."""
    client_id = request.GET.get("client_id", "")[:100]
    connectable = federation_selectors.connectable_providers(request.user, client_id=client_id)
    setattr(request, federation_sign_in.CONNECT_PROVIDERS_ATTRIBUTE, connectable)  # the page's CSP form-action
    return {
        "account": request.user,
        "identities": federation_selectors.connected_identities(request.user),
        "factors": mfa_selectors.second_factors_of(request.user),
        "sessions": session_selectors.sessions_of(request.user, current_key=request.session.session_key),
        "connectable": connectable,
        "client_id": client_id,
        **extra,
    }


@require_POST
@login_required
def identity_connect(request: HttpRequest, provider_id: int) -> HttpResponse:
    """Start connecting another identity (allauth's connect flow, bound to the provider's application like a
    sign-in); it comes back to the account page. Only a provider the page offers (404 otherwise)."""
    client_id = request.POST.get("client_id", "")[:100]
    offered = federation_selectors.connectable_providers(request.user, client_id=client_id)
    row = next((row for row in offered if row.pk == provider_id), None)
    if row is None:
        raise Http404
    return federation_sign_in.start_login(request, row, process="connect", next_url=reverse("identity:account"))


@require_POST
@login_required
def identity_disconnect(request: HttpRequest, account_id: int) -> HttpResponse:
    """Remove a connected identity (never the last way to sign in: the page then says why, 409)."""
    try:
        federation_services.identity_disconnect(actor=request.user, user=request.user, account_id=account_id)
    except ValidationError as error:
        if error.code == "not_found":
            raise Http404 from error
        context = account_context(request, identity_error=error.messages[0])
        return render(request, "identity/account.html", context, status=409)
    return redirect("identity:account")


def not_offered(request: HttpRequest) -> HttpResponse:
    """A library page we do not offer: a 404 like any unknown path."""
    raise Http404
