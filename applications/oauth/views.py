"""The protocol endpoints: django-oauth-toolkit views, subclassed where Latchkey decides more."""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider import views as dot_views
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.models import get_access_token_model
from oauth2_provider.oauth2_validators import is_valid_resource_uri
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.oauth2.rfc6749.errors import CustomOAuth2Error, InvalidRequestFatalError

from applications import policies
from applications.models import Application, Scope
from applications.oauth import claims as oidc_claims
from applications.oauth import well_known
from applications.oauth.authorization import Outcome, decide
from applications.oauth.client_challenge import ClientChallengeMixin
from applications.oauth.device import DeviceTokenMixin
from applications.oauth.id_token_hint import id_token_hint_verify
from applications.oauth.validator import GrantInUse, lock_presented_grant
from applications.usage import hooks as usage_hooks
from consent.services import consent_grant
from identity.auth_time import session_auth_time, session_sign_in_method

log = logging.getLogger(__name__)
AccessToken = get_access_token_model()


class DiscoveryView(View):
    """OpenID Provider metadata and RFC 8414 metadata: one document. Normally answered before this view
    by well_known.WellKnownMiddleware; the view serves the same bytes where that is not installed."""

    def get(self, request, *args, **kwargs) -> HttpResponse:
        return well_known.published_response(well_known.discovery_bytes())


class JwksView(View):
    def get(self, request, *args, **kwargs) -> HttpResponse:
        return well_known.published_response(well_known.jwks_bytes())


def _with_params(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


MAX_STATE_LENGTH = 1024
MAX_NONCE_LENGTH = 255  # the Grant column


MAX_AGE = re.compile(r"[0-9]{1,9}")


def request_problem(params, credentials: dict) -> str | None:
    """What oauthlib lets through but Latchkey answers with an error page (no redirect)."""
    if policies.redirect_uri_required((params.get("scope") or "").split()) and not params.get("redirect_uri"):
        return "redirect_uri is required in an OpenID Connect request."
    if len(credentials.get("state") or "") > MAX_STATE_LENGTH:
        return f"state is longer than {MAX_STATE_LENGTH} characters."
    return None


def parameter_problem(params, credentials: dict) -> str | None:
    """What oauthlib lets through but Latchkey refuses at the authorization endpoint (error at the redirect URI)."""
    max_age = params.get("max_age")
    if max_age is not None and not MAX_AGE.fullmatch(max_age):
        return "max_age must be whole seconds."
    if len(params.get("nonce") or "") > MAX_NONCE_LENGTH:
        return f"nonce is longer than {MAX_NONCE_LENGTH} characters."
    challenge = credentials.get("code_challenge")
    if challenge:
        if credentials.get("code_challenge_method") != "S256":
            return "code_challenge_method must be S256."
        if not policies.PKCE_VALUE.fullmatch(challenge):
            return "code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636)."
    return None


def request_params(request) -> QueryDict:
    """An authorization request's parameters: the query of a GET, the form body of a POST."""
    return request.POST if request.method == "POST" else request.GET


def sign_in_target(params: QueryDict) -> str:
    """The same authorization request, to come back to after signing in; that sign-in satisfies prompt=login."""
    pairs = []
    for key, values in params.lists():
        for value in values:
            if key == "prompt":
                value = " ".join(p for p in value.split() if p != "login")
                if not value:
                    continue
            pairs.append((key, value))
    return f"{reverse('oauth:authorize')}?{urlencode(pairs)}"


@method_decorator(csrf_exempt, name="dispatch")
class AuthorizeView(dot_views.AuthorizationView):
    """GET/POST /oauth/authorize: validate the request, then answer with the authorization decision.

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
            application = Application.objects.filter(
                client_id=request_params(self.request).get("client_id", "")
            ).first()
        if redirect:
            return self.redirect(_with_params(response["url"], {"iss": settings.LATCHKEY_ISSUER}), application)
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
            {
                "error": error,
                "error_description": description,
                "state": credentials.get("state"),
                "iss": settings.LATCHKEY_ISSUER,
            },
        )
        return self.redirect(uri, application)

    # --- the flow --------------------------------------------------------------------------
    def get(self, request, *args, **kwargs):
        return self.authorize(request, request.GET, **kwargs)

    def authorize(self, request, params: QueryDict, **kwargs):
        """Validate the request (oauthlib, then Latchkey's own checks), ask `decide`, answer with its Decision."""
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        application = Application.objects.select_related("branding").get(client_id=credentials["client_id"])
        request.latchkey_application = application  # the pages below are branded for it (branding.selectors)

        if problem := request_problem(params, credentials):
            # An error page, not a redirect: OIDC names no default redirect URI, and a client cannot
            # match an error redirect to its request without the state it sent.
            return self.error_response(
                FatalClientError(error=InvalidRequestFatalError(description=problem)), application
            )
        if problem := parameter_problem(params, credentials):
            return self._error_redirect(credentials, application, "invalid_request", problem)
        # RFC 8707 resource indicators, as django-oauth-toolkit 3.4.1's GET would take them (this GET
        # replaces it): each an absolute URI, kept as a list for the code.
        resources = params.getlist("resource")
        if invalid := next((r for r in resources if not is_valid_resource_uri(r)), None):
            return self._error_redirect(
                credentials,
                application,
                "invalid_target",
                f"The resource '{invalid}' is not a valid resource indicator: it must be an absolute URI "
                "with a scheme and host.",
            )
        if refused := policies.resource_error(application, resources):
            return self._error_redirect(credentials, application, "invalid_target", refused)
        if resources:
            credentials["resource"] = resources

        hint_subject = None
        if hint := params.get("id_token_hint"):
            # OIDC Core §3.1.2.1: an ID token this server issued to this client, expired or not.
            verified = id_token_hint_verify(hint=hint, request=request)
            if verified is None or verified.audience != application.client_id:
                return self._error_redirect(
                    credentials,
                    application,
                    "invalid_request",
                    "id_token_hint is not an ID token issued to this client.",
                )
            hint_subject = verified.subject

        max_age = params.get("max_age")
        decision = decide(
            user=request.user,
            session_auth_time=session_auth_time(request),
            sign_in=session_sign_in_method(request),
            application=application,
            scopes=scopes,
            prompt=params.get("prompt", "").split(),
            max_age=int(max_age) if max_age is not None else None,
            hint_subject=hint_subject,
            now=timezone.now(),
            organization=params.get("organization") or None,
            acr_values=params.get("acr_values", "").split(),
        )
        here = request.get_full_path() if request.method == "GET" else sign_in_target(params)
        if decision.scopes is not None:
            scopes = list(decision.scopes)
        if decision.organization is not None:
            request.latchkey_organization = decision.organization  # its branding on the pages below
            credentials["latchkey_organization_id"] = decision.organization.public_id
        match decision.outcome:
            case Outcome.ISSUE:
                try:
                    uri, headers, body, status = self.create_authorization_response(
                        request=request, scopes=" ".join(scopes), credentials=credentials, allow=True
                    )
                except OAuthToolkitError as error:
                    return self.error_response(error, application)
                return self.redirect(uri, application)
            case Outcome.SIGN_IN:
                return redirect_to_login(sign_in_target(params))
            case Outcome.SECOND_FACTOR:
                return redirect(f"{reverse('identity:second-factor')}?{urlencode({'next': sign_in_target(params)})}")
            case Outcome.ERROR:
                return self._error_redirect(credentials, application, decision.error, decision.description)
            case Outcome.NO_ACCESS:
                context = {"application": application, "authorization_request_path": here}
                return render(request, "oauth/no_access.html", context, status=403)
            case Outcome.CHOOSE_ORGANIZATION:
                context = {
                    "application": application,
                    "organizations": decision.organizations,
                    # The same request comes back by POST with the choice (OIDC Core §3.1.2.1 allows POST).
                    "request_fields": [(k, v) for k, values in params.lists() if k != "organization" for v in values],
                    "authorization_request_path": here,
                }
                return render(request, "oauth/choose_organization.html", context)
        descriptions = dict(Scope.objects.filter(name__in=scopes).values_list("name", "description"))
        # Not oauthlib's `request` from the credentials: templates read Django's request (user, path).
        kwargs.update({key: value for key, value in credentials.items() if key != "request"})
        kwargs["resource"] = " ".join(resources)  # the consent form's hidden field (django-oauth-toolkit's format)
        kwargs["application"] = application
        kwargs["scopes"] = scopes
        kwargs["scope_items"] = [
            (scope, descriptions.get(scope, scope), scope in decision.new_scopes) for scope in scopes
        ]
        kwargs["authorization_request_path"] = here  # "Not you?" signs out and comes back here
        kwargs["organization"] = decision.organization  # the consent form carries the choice on
        self.oauth2_data = kwargs
        kwargs["form"] = self.get_form(self.get_form_class())
        return self.render_to_response(self.get_context_data(**kwargs))

    def post(self, request, *args, **kwargs):
        """An authorization request by POST (OIDC Core §3.1.2.1): the same as GET, parameters from the body.

        It never records consent or grants on the strength of an `allow` field: only the consent
        form, at AuthorizeConsentView with its CSRF token, does.
        """
        return self.authorize(request, request.POST, **kwargs)

    def create_authorization_response(self, request, scopes, credentials, allow):
        credentials = {
            **credentials,
            "auth_time": session_auth_time(request),
            "latchkey_amr": oidc_claims.amr_for(session_sign_in_method(request)),
            "latchkey_sign_in": session_sign_in_method(request),
        }
        return super().create_authorization_response(request, scopes, credentials, allow)


@method_decorator(csrf_protect, name="dispatch")
class AuthorizeConsentView(AuthorizeView):
    """POST /oauth/authorize/consent: the consent page's Allow or Deny, the one place that records consent.

    django-oauth-toolkit's form handling (AllowForm, form_valid) re-validates the request with
    oauthlib from the form's hidden fields; the decision is asked again, so access is checked at
    the moment of Allow.
    """

    http_method_names = ["post"]

    def dispatch(self, request, *args, **kwargs):
        self.oauth2_data = {}
        if not (request.user.is_authenticated and request.user.is_active):
            # Signed out meanwhile (another tab): sign in, then back to the authorization request.
            return redirect_to_login(sign_in_target(_form_request_params(request.POST)))
        return View.dispatch(self, request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        return dot_views.AuthorizationView.post(self, request, *args, **kwargs)

    def form_valid(self, form):
        if not Application.objects.filter(client_id=form.cleaned_data["client_id"]).exists():
            return self.form_invalid(form)  # django-oauth-toolkit 3.4.1 would raise DoesNotExist (a 500)
        return super().form_valid(form)

    def form_invalid(self, form):
        return render(
            self.request,
            "oauth/error.html",
            {"error": "invalid_request", "description": "The consent form is malformed."},
            status=400,
        )

    def create_authorization_response(self, request, scopes, credentials, allow):
        application = Application.objects.get(client_id=credentials["client_id"])
        # The form's hidden fields are the client's input once more: its redirect URI is checked
        # before any answer goes there, and its resources by the same rule as at GET (RFC 8707).
        if not application.redirect_uri_allowed(credentials.get("redirect_uri") or ""):
            raise OAuthToolkitError(error=InvalidRequestFatalError(description="Mismatching redirect URI."))
        if refused := policies.resource_error(application, credentials.get("resource") or []):
            raise OAuthToolkitError(
                error=CustomOAuth2Error(error="invalid_target", description=refused, state=credentials.get("state")),
                redirect_uri=credentials["redirect_uri"],
            )
        if allow:
            decision = decide(
                user=request.user,
                session_auth_time=session_auth_time(request),
                sign_in=session_sign_in_method(request),
                application=application,
                scopes=scopes.split(),
                prompt={"consent"},  # the user is answering the consent question now
                max_age=None,
                hint_subject=None,
                now=timezone.now(),
                # The form's choice is input again: decide checks the user is still a member of it.
                organization=request.POST.get("organization") or None,
            )
            allow = decision.outcome is Outcome.CONSENT
            if allow:
                scopes = " ".join(decision.scopes)
                if decision.organization is not None:
                    credentials = {**credentials, "latchkey_organization_id": decision.organization.public_id}
        response = super().create_authorization_response(request, scopes, credentials, allow)
        if allow:
            # The user pressed Allow and oauthlib accepted the request: remember it.
            consent_grant(user=request.user, application=application, scopes=scopes.split())
        return response


def _form_request_params(form: QueryDict) -> QueryDict:
    """The authorization request a consent form carries (its `resource` field joins the RFC 8707 list)."""
    params = QueryDict(mutable=True)
    for key, value in form.items():
        if key in ("allow", "deny", "csrfmiddlewaretoken") or not value:
            continue
        if key == "resource":
            params.setlist(key, value.split())
        else:
            params[key] = value
    return params


def _token_error(error: str, description: str) -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=400)
    response["Cache-Control"] = "no-store"
    return response


FORM_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")  # Django reads both into POST


def token_request_problem(request) -> str | None:
    """What oauthlib answers wrongly or lets through at the token endpoint: an invalid_request."""
    if request.content_type not in FORM_MEDIA_TYPES:
        # RFC 6749 §3.2; oauthlib would read no parameters and say unsupported_grant_type.
        return "The token request must be a form: Content-Type application/x-www-form-urlencoded."
    if not request.POST.get("grant_type"):
        return "Missing grant_type parameter."
    if request.POST.get("grant_type") == "authorization_code":
        if "code" in request.POST and not request.POST["code"]:
            return "Missing code parameter."  # an empty code is no code
        verifier = request.POST.get("code_verifier")
        if verifier:  # an empty one is a missing one (validator.get_code_challenge)
            return policies.code_verifier_error(verifier)
    return None


@method_decorator(csrf_exempt, name="dispatch")
class TokenView(ClientChallengeMixin, DeviceTokenMixin, dot_views.TokenView):
    """POST /oauth/token. Code and refresh exchanges run in one transaction, so their row locks hold."""

    def post(self, request, *args, **kwargs):
        with usage_hooks.token_request() as usage:
            response = self._token_response(request, *args, **kwargs)
        usage.count(grant_type=request.POST.get("grant_type"), status=response.status_code, body=response.content)
        return response

    def _token_response(self, request, *args, **kwargs):
        if problem := token_request_problem(request):
            return _token_error("invalid_request", problem)
        # RFC 6749 §3.2: parameters MUST NOT repeat (RFC 8707's `resource` is the one that may; its alias
        # `audience` names one API, as at Auth0).
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
    """OIDC Core §5.3. Personal data: no answer is cached, and no access token rides in the URI."""

    def dispatch(self, request, *args, **kwargs):
        if "access_token" in request.GET:
            # RFC 9700 §2.5, RFC 6750 §2.3: a token in the URI ends up in logs and Referer headers.
            # django-oauth-toolkit 3.4.1 refuses it on protected resources, not on userinfo. A
            # malformed request: 400 invalid_request with the Bearer challenge (RFC 6750 §3.1).
            description = "Send the access token in the Authorization header, not in the URI."
            response = JsonResponse({"error": "invalid_request", "error_description": description}, status=400)
            response["WWW-Authenticate"] = f'Bearer error="invalid_request", error_description="{description}"'
        else:
            response = super().dispatch(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response
