"""GET/POST /oauth/logout: OpenID Connect RP-Initiated Logout 1.0 on django-oauth-toolkit's view.

Where this differs from django-oauth-toolkit 3.4.1's RPInitiatedLogoutView, and why:

- `post_logout_redirect_uri` is matched by the redirect-URI rule, policies.redirect_uri_matches:
  string for string (§3), except that a native app's loopback IP URI may arrive with any port
  (RFC 8252 §7.3), as its redirect URIs may; the toolkit lets any app's loopback port vary.
- `id_token_hint` is checked by applications.oauth.id_token_hint, the authorization endpoint's
  verifier too: signature, issuer and audience, not its database row (§2 accepts expired hints).
- Ending the session revokes the requesting application's tokens for that user only; the
  toolkit revokes the user's tokens of every application.
- An unknown `client_id`, a malformed hint or an unregistered URI gets a 400 page and no
  redirect, never a 500.
- An RP may send the request by POST (§2: the OP MUST support GET and POST), so the view is
  CSRF-exempt; the confirmation form, the one POST that acts for the signed-in user, is checked.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.contrib.auth import get_user_model, logout
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from oauth2_provider.exceptions import (
    ClientIdMissmatch,
    InvalidIDTokenError,
    InvalidOIDCClientError,
    InvalidOIDCRedirectURIError,
    InvalidRequestFatalError,
    LogoutDenied,
    OIDCError,
)
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.models import get_access_token_model, get_id_token_model, get_refresh_token_model
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import RPInitiatedLogoutView
from oauthlib.common import add_params_to_uri

from applications import policies
from applications.models import Application
from applications.oauth.id_token_hint import id_token_hint_verify
from applications.services import user_tokens_revoke

log = logging.getLogger(__name__)
AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
IDToken = get_id_token_model()
User = get_user_model()


@dataclass(frozen=True)
class IdTokenHint:
    """What a verified `id_token_hint` names: the application it was issued to and its user, if still there."""

    application: Application
    user: User | None


def _subject(public_id: uuid.UUID, signed_in: User | AnonymousUser) -> User | None:
    """The user the ID token names (`sub` is the public UUID); the signed-in one is reused, not re-read."""
    if signed_in.is_authenticated and signed_in.public_id == public_id:
        return signed_in
    return User.objects.filter(public_id=public_id).first()


@method_decorator(csrf_exempt, name="dispatch")
class LogoutView(RPInitiatedLogoutView):
    """The end-session endpoint; the confirmation page is templates/oauth2_provider/logout_confirm.html."""

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return self.logout_request(request.GET, **kwargs)

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if "csrfmiddlewaretoken" in request.POST or "allow" in request.POST:
            # The confirmation form: a cross-site POST must not end the user's session for them.
            return csrf_protect(super().post)(request, *args, **kwargs)
        return self.logout_request(request.POST, **kwargs)

    def logout_request(self, params: QueryDict, **kwargs) -> HttpResponse:
        """django-oauth-toolkit 3.4.1's get(), reading the parameters from the query or the form body."""
        id_token_hint = params.get("id_token_hint")
        client_id = params.get("client_id")
        post_logout_redirect_uri = params.get("post_logout_redirect_uri")
        state = params.get("state")
        try:
            application, token_user = self.validate_logout_request(
                id_token_hint=id_token_hint,
                client_id=client_id,
                post_logout_redirect_uri=post_logout_redirect_uri,
            )
        except OIDCError as error:
            return self.error_response(error)

        if not self.must_prompt(token_user):
            return self.do_logout(application, post_logout_redirect_uri, state, token_user)

        self.oidc_data = {
            "id_token_hint": id_token_hint,
            "client_id": client_id,
            "post_logout_redirect_uri": post_logout_redirect_uri,
            "state": state,
        }
        kwargs["form"] = self.get_form(self.get_form_class())
        if application:
            kwargs["application"] = application
        return self.render_to_response(self.get_context_data(**kwargs))

    def form_invalid(self, form) -> HttpResponse:
        return self.error_response(InvalidRequestFatalError("The sign-out request is malformed."))

    # --- validation ------------------------------------------------------------------------
    def validate_logout_request_user(self, id_token_hint: str | None, client_id: str | None) -> IdTokenHint | None:
        if not id_token_hint:
            return None
        hint = id_token_hint_verify(
            hint=id_token_hint,
            request=self.request,
            accept_expired=oauth2_settings.OIDC_RP_INITIATED_LOGOUT_ACCEPT_EXPIRED_TOKENS,
        )
        if hint is None:
            raise InvalidIDTokenError()
        audience = hint.audience
        # §2: when both are given, the client_id must be the one the ID token was issued to.
        if client_id and client_id != audience:
            raise ClientIdMissmatch()
        application = Application.objects.filter(client_id=audience, is_active=True).first()
        if application is None:
            raise InvalidOIDCClientError()
        return IdTokenHint(application=application, user=_subject(hint.subject, self.request.user))

    def get_request_application(self, id_token: IdTokenHint | None, client_id: str | None) -> Application | None:
        # django-oauth-toolkit 3.4.1 raises DoesNotExist (a 500) for an unknown client_id.
        if id_token is not None:
            return id_token.application
        if not client_id:
            return None
        application = None
        if "\x00" not in client_id:  # PostgreSQL rejects NUL in a query parameter
            application = Application.objects.filter(client_id=client_id, is_active=True).first()
        if application is None:
            raise InvalidOIDCClientError()
        return application

    def validate_post_logout_redirect_uri(
        self, application: Application | None, post_logout_redirect_uri: str | None
    ) -> None:
        if not post_logout_redirect_uri:
            return
        if application is None:
            raise InvalidOIDCClientError()
        # The redirect-URI rule first (exact, but a native app's loopback port may vary, RFC 8252 §7.3):
        # the toolkit's checks below parse the URI, which can raise on junk.
        if not policies.redirect_uri_matches(
            application, post_logout_redirect_uri, application.post_logout_redirect_uri_list
        ):
            raise InvalidOIDCRedirectURIError(
                "This URI is not registered as a sign-out redirect URI of the application."
            )
        super().validate_post_logout_redirect_uri(application, post_logout_redirect_uri)

    # --- the logout ------------------------------------------------------------------------
    def do_logout(self, application=None, post_logout_redirect_uri=None, state=None, token_user=None) -> HttpResponse:
        user = token_user or self.request.user
        if application is not None and user.is_authenticated and oauth2_settings.OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS:
            user_tokens_revoke(user=user, application=application, reason="signed_out")
            log.info("RP-initiated logout revoked the tokens of client %s for user %s", application.client_id, user.pk)
        logout(self.request)
        if not post_logout_redirect_uri:
            return render(self.request, "identity/logged_out.html")
        if state:
            post_logout_redirect_uri = add_params_to_uri(post_logout_redirect_uri, [("state", state)])
        return OAuth2ResponseRedirect(post_logout_redirect_uri, application.get_allowed_schemes())

    def error_response(self, error: OIDCError) -> HttpResponse:
        denied = isinstance(error, LogoutDenied)
        return render(
            self.request,
            "oauth/logout_error.html",
            {"error": error.error, "description": error.description, "denied": denied},
            status=200 if denied else error.status_code,
        )
