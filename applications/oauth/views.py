"""The protocol endpoints: django-oauth-toolkit views, subclassed where Latchkey decides more."""

from __future__ import annotations

import json
import logging
import re
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider import views as dot_views
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.models import get_access_token_model
from oauth2_provider.oauth2_validators import is_valid_resource_uri
from oauth2_provider.views.mixins import OAuthLibMixin

from applications import policies
from applications.models import Application, Scope
from applications.oauth import claims as oidc_claims
from applications.oauth import keys
from applications.oauth.device import DeviceTokenMixin
from applications.oauth.validator import GrantInUse, lock_presented_grant
from consent.services import consent_grant, consent_new_scopes
from identity.auth_time import session_auth_time

log = logging.getLogger(__name__)
AccessToken = get_access_token_model()

_discovery_memo: dict[str, tuple[float, bytes]] = {}


def _issuer() -> str:
    return settings.LATCHKEY_ISSUER


def discovery_document() -> dict:
    issuer = _issuer()
    scopes = sorted(Scope.objects.values_list("name", flat=True))
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}{reverse('oauth:authorize')}",
        "token_endpoint": f"{issuer}{reverse('oauth:token')}",
        "userinfo_endpoint": f"{issuer}{reverse('oauth:userinfo')}",
        "jwks_uri": f"{issuer}{reverse('oauth:jwks')}",
        "revocation_endpoint": f"{issuer}{reverse('oauth:revoke')}",
        "introspection_endpoint": f"{issuer}{reverse('oauth:introspect')}",
        "end_session_endpoint": f"{issuer}{reverse('oauth:logout')}",
        "device_authorization_endpoint": f"{issuer}{reverse('oauth:device-authorization')}",
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code",
        ],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": oidc_claims.SUPPORTED_CLAIMS,
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": True,
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }


def _discovery_bytes() -> bytes:
    ttl = keys.cache_seconds()
    cached = _discovery_memo.get("doc")
    if cached is None or time.monotonic() - cached[0] >= ttl:
        try:
            document = discovery_document()
        except keys.UNREACHABLE_ERRORS as error:
            if cached is None:
                raise
            log.warning("discovery not rebuilt (%s): serving the last good copy", type(error).__name__)
            return cached[1]
        cached = (time.monotonic(), json.dumps(document, separators=(",", ":")).encode())
        _discovery_memo["doc"] = cached
    return cached[1]


class DiscoveryView(View):
    """OpenID Provider metadata and RFC 8414 metadata: one document, served from memory."""

    def get(self, request, *args, **kwargs) -> HttpResponse:
        response = HttpResponse(_discovery_bytes(), content_type="application/json")
        response["Cache-Control"] = f"public, max-age={keys.cache_seconds()}"
        response["Access-Control-Allow-Origin"] = "*"
        return response


class JwksView(View):
    def get(self, request, *args, **kwargs) -> HttpResponse:
        response = HttpResponse(keys.current().jwks_json, content_type="application/json")
        response["Cache-Control"] = f"public, max-age={keys.cache_seconds()}"
        response["Access-Control-Allow-Origin"] = "*"
        return response


def _with_params(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


MAX_STATE_LENGTH = 1024
MAX_NONCE_LENGTH = 255  # the Grant column
CODE_CHALLENGE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")  # RFC 7636 §4.2


def parameter_problem(params, credentials: dict) -> str | None:
    """What oauthlib lets through but Latchkey refuses at the authorization endpoint."""
    if len(credentials.get("state") or "") > MAX_STATE_LENGTH:
        return f"state is longer than {MAX_STATE_LENGTH} characters."
    if len(params.get("nonce") or "") > MAX_NONCE_LENGTH:
        return f"nonce is longer than {MAX_NONCE_LENGTH} characters."
    challenge = credentials.get("code_challenge")
    if challenge:
        if credentials.get("code_challenge_method") != "S256":
            return "code_challenge_method must be S256."
        if not CODE_CHALLENGE.match(challenge):
            return "code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636)."
    return None


class AuthorizeView(dot_views.AuthorizationView):
    """GET /oauth/authorize: validate, then sign-in, access control and consent, in that order.

    The request is validated before the login check, so an unknown client or a mismatched
    redirect URI shows an error page and never redirects (RFC 6749 §4.1.2.1).
    """

    template_name = "oauth/authorize.html"

    def dispatch(self, request, *args, **kwargs):
        self.oauth2_data = {}
        # Skips LoginRequiredMixin: sign-in is decided after the request is validated.
        return View.dispatch(self, request, *args, **kwargs)

    # --- errors --------------------------------------------------------------------------
    def error_response(self, error, application, **kwargs):
        redirect, response = OAuthLibMixin.error_response(self, error, **kwargs)
        if redirect and application is None:
            # oauthlib only redirects once client_id and redirect_uri are valid for each other.
            application = Application.objects.filter(client_id=self.request.GET.get("client_id", "")).first()
        if redirect:
            return self.redirect(_with_params(response["url"], {"iss": _issuer()}), application)
        oauth_error = response["error"]
        if application is not None:
            self.request.latchkey_application = application
        return render(
            self.request,
            "oauth/error.html",
            {"error": oauth_error.error, "description": oauth_error.description, "application": application},
            status=oauth_error.status_code,
        )

    def _error_redirect(self, credentials: dict, application: Application, error: str, description: str):
        uri = _with_params(
            credentials["redirect_uri"],
            {"error": error, "error_description": description, "state": credentials.get("state"), "iss": _issuer()},
        )
        return self.redirect(uri, application)

    # --- the flow --------------------------------------------------------------------------
    def get(self, request, *args, **kwargs):
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        application = Application.objects.select_related("branding").get(client_id=credentials["client_id"])
        request.latchkey_application = application  # the pages below are branded for it (branding.selectors)

        if problem := parameter_problem(request.GET, credentials):
            if len(credentials.get("state") or "") > MAX_STATE_LENGTH:
                credentials = {**credentials, "state": None}  # never echo an oversized state
            return self._error_redirect(credentials, application, "invalid_request", problem)
        # RFC 8707 resource indicators, as django-oauth-toolkit 3.4.1's GET would take them (this GET
        # replaces it): each an absolute URI, kept as a list for the code.
        resources = request.GET.getlist("resource")
        if invalid := next((r for r in resources if not is_valid_resource_uri(r)), None):
            return self._error_redirect(
                credentials,
                application,
                "invalid_target",
                f"The resource '{invalid}' is not a valid resource indicator: it must be an absolute URI "
                "with a scheme and host.",
            )
        if resources:
            credentials["resource"] = resources
        prompt = set(request.GET.get("prompt", "").split())
        user = request.user
        if not (user.is_authenticated and user.is_active):
            if "none" in prompt:
                return self._error_redirect(credentials, application, "login_required", "The user is not signed in.")
            return redirect_to_login(request.get_full_path())

        max_age = request.GET.get("max_age")
        if max_age is not None and (not max_age.isdigit() or len(max_age) > 9):
            return self._error_redirect(credentials, application, "invalid_request", "max_age must be whole seconds.")
        auth_time = session_auth_time(request)
        too_old = max_age is not None and (
            auth_time is None or timezone.now().timestamp() - auth_time.timestamp() > int(max_age)
        )
        if "login" in prompt or too_old:
            if "none" in prompt:
                return self._error_redirect(credentials, application, "login_required", "Sign-in is too old.")
            remaining = [(k, v) for k, v in parse_qsl(urlsplit(request.get_full_path()).query) if k != "prompt"]
            if "login" in prompt:
                remaining.append(("prompt", " ".join(sorted(prompt - {"login"}))))
                remaining = [(k, v) for k, v in remaining if not (k == "prompt" and not v)]
            return redirect_to_login(f"{request.path}?{urlencode(remaining)}")

        if not policies.access_allowed(user, application):
            if "none" in prompt:
                return self._error_redirect(
                    credentials, application, "access_denied", "The user may not use this application."
                )
            return render(request, "oauth/no_access.html", {"application": application}, status=403)

        new_scopes = consent_new_scopes(user=user, application=application, scopes=scopes)
        if "consent" not in prompt and (application.trusted or not new_scopes):
            try:
                uri, headers, body, status = self.create_authorization_response(
                    request=request, scopes=" ".join(scopes), credentials=credentials, allow=True
                )
            except OAuthToolkitError as error:
                return self.error_response(error, application)
            return self.redirect(uri, application)
        if "none" in prompt:
            return self._error_redirect(credentials, application, "consent_required", "The user has not consented.")

        descriptions = dict(Scope.objects.filter(name__in=scopes).values_list("name", "description"))
        # Not oauthlib's `request` from the credentials: templates read Django's request (user, path).
        kwargs.update({key: value for key, value in credentials.items() if key != "request"})
        kwargs["resource"] = " ".join(resources)  # the consent form's hidden field (django-oauth-toolkit's format)
        kwargs["application"] = application
        kwargs["scopes"] = scopes
        kwargs["scope_items"] = [(scope, descriptions.get(scope, scope), scope in new_scopes) for scope in scopes]
        self.oauth2_data = kwargs
        kwargs["form"] = self.get_form(self.get_form_class())
        return self.render_to_response(self.get_context_data(**kwargs))

    def post(self, request, *args, **kwargs):
        if not (request.user.is_authenticated and request.user.is_active):
            return redirect_to_login(reverse("oauth:authorize"))
        return super().post(request, *args, **kwargs)

    def create_authorization_response(self, request, scopes, credentials, allow):
        application = None
        if allow:
            application = Application.objects.get(client_id=credentials["client_id"])
            if not policies.access_allowed(request.user, application):
                allow = False
            credentials = {**credentials, "auth_time": session_auth_time(request)}
        response = super().create_authorization_response(request, scopes, credentials, allow)
        if allow and request.method == "POST":
            # The user pressed Allow on the consent page: remember it (oauthlib accepted the request).
            consent_grant(user=request.user, application=application, scopes=scopes.split())
        return response


def _token_error(error: str, description: str) -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=400)
    response["Cache-Control"] = "no-store"
    return response


@method_decorator(csrf_exempt, name="dispatch")
class TokenView(DeviceTokenMixin, dot_views.TokenView):
    """POST /oauth/token. Code and refresh exchanges run in one transaction, so their row locks hold."""

    def post(self, request, *args, **kwargs):
        # RFC 6749 §3.2: parameters MUST NOT repeat (RFC 8707's `resource` is the one that may).
        repeated = sorted(k for k in request.POST if k != "resource" and len(request.POST.getlist(k)) > 1)
        if repeated:
            return _token_error("invalid_request", f"Repeated parameter(s): {', '.join(repeated)}.")
        grant_type = request.POST.get("grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            return super().post(request, *args, **kwargs)
        try:
            with transaction.atomic(), lock_presented_grant(grant_type, request.POST):
                return super().post(request, *args, **kwargs)
        except GrantInUse:
            return _token_error("invalid_grant", "This grant is being redeemed by another request.")

    @method_decorator(sensitive_post_parameters("client_secret", "code", "code_verifier", "refresh_token"))
    def authorization_flow_token_response(self, request, *args, **kwargs) -> HttpResponse:
        # django-oauth-toolkit 3.4.1 re-reads the new access token to send `app_authorized`; nothing
        # here listens to it, and the token endpoint is the hot path.
        url, headers, body, status = self.create_token_response(request)
        response = HttpResponse(content=body, status=status)
        for key, value in headers.items():
            response[key] = value
        return response


class UserInfoView(dot_views.UserInfoView):
    pass
