"""Our seam into allauth.socialaccount: whose credentials, which application, how far we trust the answer.

- `list_apps` builds UNSAVED SocialApp objects from the Provider rows of the application being
  signed in to (the secret decrypted in memory only; allauth's plain-text SocialApp table stays empty).
- Which application: when a sign-in starts, the one of the pending authorization request in `next`
  (branding.selectors); allauth then stashes its per-login state in the session under a random state
  id, and `generate_state_param` (called with that state dict just before it is stored) adds the
  application's id and the Provider's pk to it. At the callback the `state` parameter names that
  stash, so the credentials are the ones this very login started with, never a "current app" kept in
  the session (two tabs may be signing in to two apps).
- Every request allauth makes to a provider goes through the outbound-request guard
  (identity.federation.http.GuardedSession, from `get_requests_session`).
- Linking and verification follow identity.federation.claims (the trust table); errors from the
  upstream show our branded page (templates/socialaccount/authentication_error.html), never a 500.
"""

from __future__ import annotations

import hashlib

from allauth.account.models import EmailAddress
from allauth.core import context
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.internal import statekit
from allauth.socialaccount.models import SocialApp
from allauth.utils import get_request_param
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import render
from django.urls import reverse

from applications.models import Application
from branding.selectors import request_application
from identity import services
from identity.constants import REGISTRATION_OPEN
from identity.federation import claims
from identity.federation import services as federation_services
from identity.federation.http import GuardedSession, UpstreamUnavailable
from identity.federation.models import Provider

# Keys we add to allauth's per-login state (statekit), read back at the callback and on sign-in.
STATE_APPLICATION = "latchkey_application_id"
STATE_PROVIDER = "latchkey_provider_id"

ALLAUTH_PROVIDER = {
    Provider.Type.GOOGLE: "google",
    Provider.Type.GITHUB: "github",
    Provider.Type.MICROSOFT: "microsoft",
    Provider.Type.APPLE: "apple",
    Provider.Type.DISCORD: "discord",
    Provider.Type.OIDC: "openid_connect",
}
_MEMO = "_latchkey_federation_login"
# Set when our own view starts a login (sign_in.start_login: `direct_sign_in` on /login, Connect on the
# account page) rather than allauth's login view: the Provider row the login uses.
DIRECT_PROVIDER_ATTRIBUTE = "latchkey_direct_provider"


def allauth_provider_id(provider: Provider) -> str:
    """allauth's name for the provider: the type, or for generic OIDC one derived from the issuer, so the
    same upstream account (issuer + sub) is the same connected identity in every application."""
    if provider.type != Provider.Type.OIDC:
        return ALLAUTH_PROVIDER[provider.type]
    return "oidc-" + hashlib.sha256(provider.issuer.encode()).hexdigest()[:16]


def login_url(provider: Provider) -> str:
    """Where the sign-in page's "Continue with …" button POSTs (allauth's provider login view)."""
    if provider.type == Provider.Type.OIDC:
        return reverse("openid_connect_login", kwargs={"provider_id": allauth_provider_id(provider)})
    return reverse(f"{ALLAUTH_PROVIDER[provider.type]}_login")


def social_app(provider: Provider) -> SocialApp:
    """An unsaved SocialApp for `provider` (never saved: its secret would be stored in plain text)."""
    app = SocialApp(
        provider=ALLAUTH_PROVIDER[provider.type],
        name=provider.label[:40],
        client_id=provider.client_id,
        secret=provider.client_secret(),
    )
    if provider.type == Provider.Type.OIDC:
        from identity.federation import policies

        app.provider_id = allauth_provider_id(provider)
        app.settings = {
            "server_url": provider.issuer,
            "uid_field": policies.claim_mapping(provider)["sub"],
            "oauth_pkce_enabled": True,  # RFC 9700 §2.1.1; an issuer that requires PKCE (as Latchkey does) gets it
        }
    elif provider.type == Provider.Type.APPLE:
        # allauth signs Apple's client secret: key id as `secret`, team id as `key`, the .p8 in settings.
        app.secret, app.key = provider.key_id, provider.team_id
        app.settings = {"certificate_key": provider.private_key()}
    return app


def stashed_state(request: HttpRequest) -> dict | None:
    """The state allauth stashed for the login this callback finishes (without consuming it)."""
    state_id = get_request_param(request, "state")
    if not state_id:
        return None
    entry = statekit.get_states(request).get(state_id)
    return entry[0] if entry else None


def login_providers(request: HttpRequest) -> list[Provider]:
    """The enabled providers this request may use: the one our view starts a login with, those of the
    login's stashed state at a callback, else those of the application in `next`. Memoised on the request."""
    memo = getattr(request, _MEMO, None)
    if memo is not None:
        return memo
    state = stashed_state(request)
    started = getattr(request, DIRECT_PROVIDER_ATTRIBUTE, None)
    if started is not None:
        rows = [started]
    elif state is not None and STATE_APPLICATION in state:
        rows = Provider.objects.filter(
            application_id=state[STATE_APPLICATION], pk=state.get(STATE_PROVIDER), enabled=True
        )
    else:
        application = request_application(request)
        rows = Provider.objects.filter(application=application, enabled=True) if application else []
    memo = list(rows)
    setattr(request, _MEMO, memo)
    return memo


def provider_of(sociallogin) -> Provider | None:
    pk = (sociallogin.state or {}).get(STATE_PROVIDER)
    return Provider.objects.filter(pk=pk).first() if pk else None


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def list_apps(self, request: HttpRequest, provider=None, client_id=None) -> list[SocialApp]:
        if request is None:
            return []
        apps = []
        for row in login_providers(request):
            if provider and provider not in (ALLAUTH_PROVIDER[row.type], allauth_provider_id(row)):
                continue
            if client_id and client_id != row.client_id:
                continue
            apps.append(social_app(row))
        if not apps and provider and stashed_state(request) is None and get_request_param(request, "state"):
            # A callback whose state this session never stashed (expired, replayed, another browser):
            # a stand-in app lets allauth reach its own "unknown state" answer, our error page.
            if provider.startswith("oidc-"):
                apps.append(SocialApp(provider="openid_connect", provider_id=provider, name="OpenID Connect"))
            else:
                apps.append(SocialApp(provider=provider, name=provider[:40]))
        return apps

    def generate_state_param(self, state: dict) -> str:
        """Called with the login's state dict just before allauth stores it: bind the application and
        the Provider row this login uses, for the callback (see the module docstring)."""
        request = context.request
        row = getattr(request, DIRECT_PROVIDER_ATTRIBUTE, None)
        if row is None:
            match = request.resolver_match
            wanted = match.kwargs.get("provider_id") if match and match.kwargs else None
            url_name = match.url_name if match else ""
            row = next(
                (
                    r
                    for r in login_providers(request)
                    if allauth_provider_id(r) == wanted or f"{ALLAUTH_PROVIDER[r.type]}_login" == url_name
                ),
                None,
            )
        if row is not None:
            state[STATE_APPLICATION] = row.application_id
            state[STATE_PROVIDER] = row.pk
        return super().generate_state_param(state)

    def get_requests_session(self) -> GuardedSession:
        return GuardedSession()

    # --- accounts ----------------------------------------------------------------------------------

    def is_open_for_signup(self, request: HttpRequest, sociallogin) -> bool:
        """A first sign-in with a provider creates an account only when registration is open."""
        return settings.LATCHKEY_REGISTRATION == REGISTRATION_OPEN

    def can_authenticate_by_email(self, login, email: str) -> bool:
        return False  # linking by email is decided in pre_social_login, by the trust table

    def pre_social_login(self, request: HttpRequest, sociallogin) -> None:
        """A new upstream identity: link it to the account with its email only when the provider is
        trusted to say the email is verified and says so; otherwise the person proves the account first."""
        if (sociallogin.state or {}).get("process") == "connect":
            if sociallogin.is_existing and sociallogin.user.pk != request.user.pk:
                # Someone else's identity: refused and left where it is (allauth would only flash a message).
                raise ImmediateHttpResponse(
                    self.error_page(
                        request, provider_of(sociallogin), "connected_other", next_url=reverse("identity:account")
                    )
                )
            return
        if sociallogin.is_existing:
            return
        provider = provider_of(sociallogin)
        if provider is None:
            raise ImmediateHttpResponse(self.error_page(request, None, "unknown"))
        profile = claims.profile_of(provider, sociallogin)
        if not profile.email:
            raise ImmediateHttpResponse(
                self.error_page(request, provider, "no_email", next_url=sociallogin.state.get("next", ""))
            )
        existing = get_user_model().objects.filter(email__iexact=profile.email).first()
        if existing is None:
            return
        if profile.email_verified and existing.is_active:
            sociallogin.connect(request, existing)
            return
        raise ImmediateHttpResponse(
            self.error_page(
                request, provider, "link_refused", next_url=sociallogin.state.get("next", ""), email=profile.email
            )
        )

    def save_user(self, request: HttpRequest, sociallogin, form=None):
        """A new account from a provider: no password, the profile the provider gave (claims.profile_of),
        and `email_verified` only as a trusted provider asserted it."""
        provider = provider_of(sociallogin)
        if provider is not None:
            profile = claims.profile_of(provider, sociallogin)
            user = sociallogin.user
            user.email, user.email_verified = profile.email, profile.email_verified
            user.name, user.picture = profile.name, profile.picture
            # The account's addresses are the one we read, verified only as trusted: not every address the
            # upstream listed (an unverified or unmapped one must not become ours, let alone verified).
            sociallogin.email_addresses = [
                EmailAddress(email=profile.email, verified=profile.email_verified, primary=True)
            ]
        # The account, its addresses and their events (outbox rows) commit together.
        with transaction.atomic():
            user = super().save_user(request, sociallogin, form=form)
            EmailAddress.objects.filter(user=user).exclude(email__iexact=user.email).delete()
            EmailAddress.objects.filter(user=user).update(verified=user.email_verified, primary=True)
            services.user_registered(user=user, application=provider.application if provider else None)
            federation_services.identity_linked(user=user, account=sociallogin.account, provider=provider)
        return user

    # --- errors ------------------------------------------------------------------------------------

    def on_authentication_error(self, request, provider, error=None, exception=None, extra_context=None) -> None:
        """Denied, bad state, upstream down or refused by the guard: our branded page, with a way back."""
        state = (extra_context or {}).get("state") or {}
        row = Provider.objects.filter(pk=state.get(STATE_PROVIDER)).first() if state else None
        if error == "cancelled":
            code = "cancelled"
        elif isinstance(exception, UpstreamUnavailable):
            code = "unavailable"
        elif state:
            code = "upstream"
        else:
            code = "state"
        raise ImmediateHttpResponse(self.error_page(request, row, code, next_url=state.get("next", "")))

    def error_page(self, request: HttpRequest, provider: Provider | None, code: str, *, next_url: str = "", email=""):
        state_next = next_url or ""
        if provider is not None:
            request.latchkey_application = Application.objects.filter(pk=provider.application_id).first()
        return render(
            request,
            "socialaccount/authentication_error.html",
            {"code": code, "provider": provider, "next": state_next, "email": email},
            status=403
            if code == "link_refused"
            else 409
            if code == "connected_other"
            else 400
            if code in ("state", "cancelled", "no_email")
            else 502,
        )
