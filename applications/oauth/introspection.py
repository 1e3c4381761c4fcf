"""POST /oauth/introspect (RFC 7662) and POST /oauth/revoke (RFC 7009).

Both run through oauthlib's endpoints with validators derived from LatchkeyValidator, so the
calling client authenticates exactly as at the token endpoint (client_secret_basic or
client_secret_post, grace-period secrets included) and an inactive client gets invalid_client.
Each client only ever sees or revokes tokens issued to itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider import views as dot_views
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from oauth2_provider.oauth2_backends import OAuthLibCore
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.oauth2.rfc6749 import errors

from applications import policies
from applications.models import ApiResource
from applications.oauth import access_tokens, memo, store
from applications.oauth.client_challenge import ClientChallengeMixin
from applications.oauth.validator import LatchkeyValidator, token_checksum
from applications.services import refresh_family_revoke, tokens_revoked
from identity.organizations import sign_in as organization_sign_in
from identity.organizations.constants import ORGANIZATION_SCOPE

if TYPE_CHECKING:
    from django.http import HttpRequest

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()

ACCESS_TOKEN = "access_token"
REFRESH_TOKEN = "refresh_token"
REVOKED_BY_CLIENT = "revoked_by_client"  # the tokens.revoked reason of /oauth/revoke
# Parameters that must appear once; oauthlib silently keeps the last of a repeated one.
SINGLE_PARAMETERS = ("token", "token_type_hint", "client_id", "client_secret")
SENSITIVE_PARAMETERS = ("token", "client_secret")  # hidden from Django's error reports


def introspected_resources(client) -> frozenset[str]:
    """The API resources whose tokens this client may introspect as their resource server (kept per process)."""
    return memo.remembered(
        ("introspected-resources", client.pk),
        lambda: frozenset(ApiResource.objects.filter(introspecting_client=client).values_list("identifier", flat=True)),
    )


def _lookup_order(token_type_hint: str | None) -> tuple[str, str]:
    """The hint only picks which table is searched first (RFC 7662 §2.1, RFC 7009 §2.1)."""
    if token_type_hint == REFRESH_TOKEN:
        return REFRESH_TOKEN, ACCESS_TOKEN
    return ACCESS_TOKEN, REFRESH_TOKEN


def _timestamp(moment) -> int:
    return int(moment.timestamp())


class IntrospectionValidator(LatchkeyValidator):
    """Only confidential clients introspect, and only their own tokens."""

    def client_authentication_required(self, request, *args, **kwargs) -> bool:
        return True  # no client_id-only path: a public client cannot keep a secret

    def authenticate_client(self, request, *args, **kwargs) -> bool:
        return super().authenticate_client(request, *args, **kwargs) and request.client.is_confidential

    def introspect_token(self, token, token_type_hint, request, *args, **kwargs) -> dict | None:
        """The claims of an active token issued to the caller; None (`active: false`) for anything else.

        A foreign token looks exactly like an unknown one, so introspection cannot be used to probe
        other clients' tokens.
        """
        client = request.client
        if access_tokens.looks_like_jwt(token):
            return self._jwt_claims(token, client)  # our opaque values have no dots: only a JWT is tried
        checksum = token_checksum(token)
        foreign = None
        for kind in _lookup_order(token_type_hint):
            if kind == ACCESS_TOKEN:
                access_token = store.access_token_by_checksum(checksum)
                if access_token is not None and access_token.application_id == client.pk:
                    return self._access_token_claims(access_token, client)
                foreign = access_token
            else:
                refresh_token = store.live_refresh_token_of_client(checksum, client.pk)
                if refresh_token is not None:
                    return self._refresh_token_claims(refresh_token, client)
        # Another client's access token is shown only to the resource server of its audience (its
        # `introspecting_client`), user tokens included; to anyone else it looks like an unknown token.
        if foreign is not None and set(foreign.resource or []) & introspected_resources(client):
            return self._access_token_claims(foreign, foreign.application)
        return None

    def _jwt_claims(self, token: str, client) -> dict | None:
        """A JWT access token (RFC 9068) of the caller's, or for an API the caller serves.

        The signature, issuer, expiry and the not-before store (access_tokens.verified_claims), then
        what an opaque token is asked: its client still active, its user too, and for a user's token
        its row (which per-token revocation deletes). A client-credentials JWT has no row.
        """
        claims = access_tokens.verified_claims(token)
        if claims is None:
            return None
        audiences = access_tokens.audiences_of(claims)
        if claims.get("client_id") != client.client_id and not set(audiences) & introspected_resources(client):
            return None
        issued_to = store.application_by_client_id(claims.get("client_id") or "")
        if issued_to is None or not issued_to.is_active:
            return None
        answer = {
            "scope": claims.get("scope", ""),
            "client_id": claims.get("client_id"),
            "token_type": "Bearer",
            "exp": claims["exp"],
            "iat": claims["iat"],
            "iss": claims["iss"],
            "sub": claims.get("sub"),
            "aud": audiences,
        }
        if organization_id := claims.get("organization_id"):
            answer["organization_id"] = organization_id
        if claims.get("sub") == claims.get("client_id"):
            return answer  # client credentials: no user, no row
        if not AccessToken.objects.filter(token_checksum=token_checksum(token), user__is_active=True).exists():
            return None
        return answer

    def _access_token_claims(self, access_token, client) -> dict | None:
        if access_token.is_expired() or not client.is_active:
            return None
        user = access_token.user
        if user is not None and not user.is_active:
            return None
        # `updated`, not `created`: with rotation off the row is re-issued in place on refresh.
        claims = self._claims(access_token.scope, client, user, "Bearer", access_token.expires, access_token.updated)
        if access_token.resource:
            claims["aud"] = access_token.resource  # RFC 8707 resource indicators
        if user is not None and ORGANIZATION_SCOPE in access_token.scope.split():
            if organization_id := organization_sign_in.token_organization_id(access_token):
                claims["organization_id"] = str(organization_id)
        return claims

    def _refresh_token_claims(self, refresh_token, client) -> dict | None:
        # A refresh token without its access token is an orphan the token endpoint rejects
        # (django-oauth-toolkit 3.4.1 validate_refresh_token); its scope lives on that access token.
        access_token = refresh_token.access_token
        if access_token is None or not client.is_active or not refresh_token.user.is_active:
            return None
        expires = policies.refresh_token_expires_at(client, refresh_token.created)
        if expires <= timezone.now():
            return None
        claims = self._claims(
            access_token.scope, client, refresh_token.user, REFRESH_TOKEN, expires, refresh_token.created
        )
        if ORGANIZATION_SCOPE in access_token.scope.split():
            if organization_id := organization_sign_in.family_organization_id(refresh_token.token_family):
                claims["organization_id"] = str(organization_id)
        return claims

    @staticmethod
    def _claims(scope: str, client, user, token_type: str, expires, issued) -> dict:
        # No username or email: `sub` identifies the user, and personal data stays behind the
        # scopes the user consented to (userinfo), not in every introspection response.
        claims = {
            "scope": scope,
            "client_id": client.client_id,
            "token_type": token_type,
            "exp": _timestamp(expires),
            "iat": _timestamp(issued),
            "iss": settings.LATCHKEY_ISSUER,
        }
        if user is not None:
            claims["sub"] = str(user.public_id)
        return claims


class RevocationValidator(LatchkeyValidator):
    def revoke_token(self, token, token_type_hint, request, *args, **kwargs) -> None:
        """Revoke a token of the caller's and the whole grant behind it (RFC 7009 §2.1).

        Replaces django-oauth-toolkit 3.4.1's revoke_token, which revokes only the presented row
        and its bound partner. Revoking a refresh token SHOULD invalidate every access token of
        the same grant; a rotating client's grant is its refresh-token family, so the family goes.
        Revoking an access token also revokes its refresh token (the RFC's MAY), or the client
        could mint a new one at once; that refresh token's family goes with it. Another client's
        token is treated like an unknown one: 200 and nothing happens.
        """
        client = request.client
        if client is None or client.pk is None:
            return
        checksum = token_checksum(token)
        refresh_tokens: list = []
        for kind in _lookup_order(token_type_hint):
            if kind == ACCESS_TOKEN:
                access_token = (
                    AccessToken.objects.select_related("refresh_token__user")
                    .filter(token_checksum=checksum, application=client)
                    .first()
                )
                if access_token is not None:
                    try:
                        refresh_tokens = [access_token.refresh_token]
                    except ObjectDoesNotExist:
                        access_token.revoke()  # no refresh token: nothing else belongs to this grant
                        return
                    break
            else:
                # Several rows may share a checksum (django-oauth-toolkit's unique key includes `revoked`).
                refresh_tokens = list(
                    RefreshToken.objects.select_related("user").filter(token_checksum=checksum, application=client)
                )
                if refresh_tokens:
                    break
        # One `tokens.revoked` per family that still held a live token (services.refresh_family_revoke).
        families = {rt.token_family: rt.user for rt in refresh_tokens if rt.token_family}
        for family, user in families.items():
            refresh_family_revoke(family=family, user=user, application=client, reason=REVOKED_BY_CLIENT)
        for refresh_token in refresh_tokens:
            if not refresh_token.token_family:
                with transaction.atomic():
                    refresh_token.revoke()
                    if refresh_token.revoked is None:  # it was live when read
                        tokens_revoked(user=refresh_token.user, application=client, reason=REVOKED_BY_CLIENT)


class IntrospectionCore(OAuthLibCore):
    def create_introspect_response(self, request: HttpRequest) -> tuple[dict, str, int]:
        """django-oauth-toolkit 3.4.1 wraps every oauthlib endpoint but introspection; this mirrors its revocation."""
        uri, http_method, body, headers = self._extract_params(request)
        return self.server.create_introspect_response(uri, http_method, body, headers)


def _duplicate_parameter_response(request: HttpRequest) -> HttpResponse | None:
    repeated = [name for name in SINGLE_PARAMETERS if len(request.POST.getlist(name)) > 1]
    if not repeated:
        return None
    error = errors.InvalidRequestError(description=f"Duplicate parameter: {repeated[0]}.")
    response = JsonResponse(dict(error.twotuples), status=error.status_code)
    response["Cache-Control"] = "no-store"
    return response


def _to_response(headers: dict, body: str, status: int) -> HttpResponse:
    response = HttpResponse(content=body or "", status=status)
    for name, value in headers.items():
        response[name] = value
    return response


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(sensitive_post_parameters(*SENSITIVE_PARAMETERS), name="post")
class IntrospectView(ClientChallengeMixin, OAuthLibMixin, View):
    """POST /oauth/introspect: a confidential client asks whether one of its tokens is active.

    django-oauth-toolkit's IntrospectTokenView wants a bearer token with an `introspection`
    scope; Latchkey authenticates the calling client like the token endpoint does instead.
    """

    validator_class = IntrospectionValidator
    oauthlib_backend_class = IntrospectionCore

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if duplicate := _duplicate_parameter_response(request):
            return duplicate
        headers, body, status = self.get_oauthlib_core().create_introspect_response(request)
        return _to_response(headers, body, status)


@method_decorator(sensitive_post_parameters(*SENSITIVE_PARAMETERS), name="post")
class RevokeView(ClientChallengeMixin, dot_views.RevokeTokenView):
    """POST /oauth/revoke: any client revokes its own tokens; public clients send only client_id."""

    validator_class = RevocationValidator

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if duplicate := _duplicate_parameter_response(request):
            return duplicate
        return super().post(request, *args, **kwargs)
