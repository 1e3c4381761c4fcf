"""Latchkey's django-oauth-toolkit validator (OAUTH2_VALIDATOR_CLASS).

Each override is small and asks `applications.policies`, `applications.secrets` or the keys
module; overrides of private methods name the django-oauth-toolkit version they were read from.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import unquote_plus

from django.db import DatabaseError, transaction
from django.utils import timezone
from jwcrypto import jws, jwt
from oauth2_provider.models import refresh_token_expire_timedelta
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.utils import scope_to_list

from applications import policies
from applications import secrets as client_secrets
from applications.models import Grant
from applications.oauth import access_tokens, client_limits, keys, store
from applications.oauth import claims as oidc_claims
from applications.oauth.cors import CorsRules
from applications.oauth.device import DeviceGrantRules
from applications.services import code_tokens_revoke, refresh_family_revoke
from applications.usage import hooks as usage_hooks
from identity.organizations import sign_in as organization_sign_in
from identity.organizations.constants import ORGANIZATION_SCOPE
from identity.organizations.models import Organization
from identity.organizations.sign_in import token_organization_id
from identity.services import user_signed_in

log = logging.getLogger(__name__)


def token_checksum(token: str) -> str:
    """How tokens are found: django-oauth-toolkit stores only this digest (COMPLIANT_BCP_RFC9700_TOKEN_STORAGE)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _sends_basic(request) -> bool:
    header = request.headers.get("HTTP_AUTHORIZATION") or request.headers.get("Authorization") or ""
    return header.partition(" ")[0].lower() == "basic"


def _basic_credentials(request) -> tuple[str, str] | None:
    header = request.headers.get("HTTP_AUTHORIZATION") or request.headers.get("Authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    # RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    return unquote_plus(client_id), unquote_plus(secret)


def requested_resources(request) -> list[str]:
    """The request's RFC 8707 `resource` parameters (repeatable; oauthlib keeps only the last)."""
    resource = getattr(request, "resource", None)
    if isinstance(resource, str):
        repeated = [v for k, v in (getattr(request, "decoded_body", None) or []) if k == "resource"]
        resource = repeated if len(repeated) > 1 else resource
    if isinstance(resource, list):
        return resource
    return [resource] if isinstance(resource, str) and resource.strip() else []


def _take_audience(request) -> None:
    """`audience` (Auth0's name, Optare's getM2MToken) as an alias of RFC 8707 `resource` for client credentials.

    Both may be given only when they name the same resources; otherwise the token's audience would
    be ambiguous, so the answer is invalid_target.
    """
    audience = getattr(request, "audience", None)  # one value: the token view refuses a repeated one
    if not isinstance(audience, str) or not audience.strip():
        return
    resources = requested_resources(request)
    if resources and set(resources) != {audience}:
        raise errors.CustomOAuth2Error(
            error="invalid_target",
            description="audience and resource name different APIs; send one of them.",
            request=request,
        )
    request.resource = [audience]


class GrantInUse(Exception):
    """Another request holds the code or refresh token being presented."""


@dataclass(frozen=True)
class Presented:
    """What the token view read under its lock: the code's grant, or the refresh token's row."""

    code: str | None = None
    grant: Grant | None = None
    refresh_checksum: str | None = None
    refresh_token: object | None = None  # django-oauth-toolkit's RefreshToken


# Set by the token view for the length of one code or refresh exchange, so the validator reuses the
# rows it locked instead of reading them again (a context variable: each server thread has its own).
_presented: ContextVar[Presented | None] = ContextVar("latchkey_presented", default=None)
# The ID token this thread signed last, with its saved row (finalize_id_token, read by _load_id_token).
_signed_id_token: ContextVar[tuple[str, object] | None] = ContextVar("latchkey_signed_id_token", default=None)


@contextmanager
def lock_presented_grant(grant_type: str, params):
    """Lock the authorization code or refresh token a token request presents (NOWAIT).

    Use inside the token request's transaction. django-oauth-toolkit 3.4.1 reads both unlocked,
    so two concurrent requests could both pass validation: two token sets from one code, or a
    refresh race mistaken for a replay that revokes the winner's new tokens. Here a request that
    arrives while another holds the lock is refused at once (GrantInUse); one that reads the row
    after the winner committed (on PostgreSQL just after, on SQLite, which has no row locks, after
    waiting for the write lock) finds it just used: a lost race (policies.lost_race), not a replay.
    The locked rows are what the validator then reads (`Presented`): the lock's read is the current row.
    """
    try:
        if grant_type == "authorization_code":
            code = params.get("code") or ""
            presented = Presented(code=code, grant=store.grant_by_code(code, lock=True))
        elif grant_type == "refresh_token":
            checksum = token_checksum(params.get("refresh_token") or "")
            # Every row with this checksum is locked; the first is the one judged.
            locked = store.refresh_tokens_by_checksum(checksum, lock=True)
            presented = Presented(refresh_checksum=checksum, refresh_token=locked[0] if locked else None)
        else:
            presented = None
    except DatabaseError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == "55P03":  # lock_not_available
            raise GrantInUse from exc
        raise
    reset = _presented.set(presented)
    try:
        yield
    finally:
        _presented.reset(reset)


def _presented_grant(code: str) -> Grant | None | bool:
    """The grant the token view locked for `code`; False when the view did not lock this code."""
    presented = _presented.get()
    if presented is None or presented.code is None or presented.code != code:
        return False
    return presented.grant


class LatchkeyValidator(DeviceGrantRules, CorsRules, OAuth2Validator):
    # --- clients -------------------------------------------------------------------------
    def authenticate_client(self, request, *args, **kwargs) -> bool:
        """client_secret_basic or client_secret_post, checked against the hashed secrets (grace included).

        A failure is counted (client_limits): past a limit the answer is 429 with Retry-After, not 401."""
        if self._client_authenticated(request):
            return True
        basic = _basic_credentials(request)
        client_limits.authentication_failed(request, basic[0] if basic else request.client_id)
        return False

    def _client_authenticated(self, request) -> bool:
        if _sends_basic(request) and getattr(request, "client_secret", None) is not None:
            # RFC 6749 §2.3: "MUST NOT use more than one authentication method in each request".
            raise errors.InvalidRequestError(
                description="Authenticate with HTTP Basic or with client_secret in the body, not both.",
                request=request,
            )
        basic = _basic_credentials(request)
        if basic is not None:
            client_id, secret = basic
            if request.client_id and request.client_id != client_id:
                return False  # two different client identities in one request
        else:
            client_id, secret = request.client_id, getattr(request, "client_secret", None) or ""
        if not client_id or self._load_application(client_id, request) is None:
            return False
        if not request.client.is_confidential:
            # A public client has no secret; it may only present an empty one.
            return secret == ""
        return client_secrets.verify_client_secret(request.client, secret)

    def _load_application(self, client_id, request):
        """django-oauth-toolkit 3.4.1 reuses a `request.client` it is given (after its usability
        check) and otherwise runs its own lookup: give it the row read by one statement (store). An
        unknown client_id falls through to its lookup and its handling of the miss."""
        if not request.client and isinstance(client_id, str):
            if policies.client_id_error(client_id):
                # Names no client (every client_id is visible ASCII). Not asked of the database:
                # PostgreSQL refuses a NUL byte, which django-oauth-toolkit's lookup turns into a 500.
                return None
            request.client = store.application_by_client_id(client_id)
        client = super()._load_application(client_id, request)
        if client is not None:
            usage_hooks.token_client_loaded(client.pk)  # whose token request this is, for its usage counts
        return client

    def is_pkce_required(self, client_id, request) -> bool:
        client = request.client if request.client else self._load_application(client_id, request)
        if client is None:
            return True
        return policies.pkce_required(client)

    def rotate_refresh_token(self, request) -> bool:
        return request.client.refresh_token_rotation

    # --- authorization codes -------------------------------------------------------------
    def _grant(self, code: str, request) -> Grant | None:
        cached = getattr(request, "latchkey_grant", None)
        if cached is not None and cached.code == code:
            return cached
        locked = _presented_grant(code)
        if locked is not False:
            if request.client is None:
                return locked  # oauthlib's token dispatcher asks for the scopes before the client is authenticated
            grant = locked if locked is not None and locked.application_id == request.client.pk else None
            request.latchkey_grant = grant
            return grant
        if request.client is None:
            return Grant.objects.filter(code=code).first()
        grant = Grant.objects.filter(code=code, application=request.client).first()
        request.latchkey_grant = grant
        return grant

    def validate_code(self, client_id, code, client, request, *args, **kwargs) -> bool:
        """One redemption per code, by a user the application still admits.

        A replay revokes what the first redemption issued (RFC 6749 §4.1.2), unless it comes so
        soon after it that it is a parallel request that lost the race (policies.lost_race).
        """
        locked = _presented_grant(code)
        if locked is not False:  # the row the token view locked (lock_presented_grant), user joined
            grant = locked if locked is not None and locked.application_id == client.pk else None
        else:
            grant = Grant.objects.select_related("user").filter(code=code, application=client).first()
        if grant is None:
            return False
        request.latchkey_grant = grant
        if grant.redeemed_at is not None:
            if policies.lost_race(grant.redeemed_at, now=timezone.now()):
                return False
            log.warning("authorization code replayed; revoking its tokens (client %s)", client.client_id)
            code_tokens_revoke(grant=grant, application=client, reason="code_replayed")
            return False
        if grant.is_expired() or not policies.access_allowed(grant.user, client):
            return False  # or the user lost access (a role, or deactivated) after the code was issued
        if not organization_sign_in.still_admitted(
            user=grant.user, application=client, organization_id=grant.organization_id
        ):
            return False  # removed from the sign-in's organisation since, or the app's rule no longer admits it
        if not grant.code_challenge and request.code_verifier:
            return False  # a verifier for a code issued without a challenge: PKCE downgrade
        request.scopes = grant.scope.split()
        request.user = grant.user
        request.latchkey_auth_time = grant.auth_time
        request.latchkey_amr = grant.amr
        request.latchkey_organization_id = grant.organization_id
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            request.claims = json.loads(grant.claims)
        return True

    def get_code_challenge(self, code, request):
        grant = self._grant(code, request)
        challenge = (grant.code_challenge or None) if grant else None
        if challenge is not None and not request.code_verifier:
            # The code is bound to a verifier this request lacks (RFC 7636 §4.6): the grant does not
            # verify, invalid_grant (oauthlib 3 says invalid_request). An empty one counts as missing.
            raise errors.InvalidGrantError(
                description="This code was issued with a code_challenge: send its code_verifier.", request=request
            )
        return challenge

    def get_code_challenge_method(self, code, request):
        grant = self._grant(code, request)
        return (grant.code_challenge_method or None) if grant else None

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, request=None, *args, **kwargs) -> bool:
        """The code's own redirect URI, or invalid_grant: RFC 6749 §5.2 names "does not match the
        redirection URI used in the authorization request" (oauthlib 3 says invalid_request)."""
        if request is not None:
            grant = self._grant(code, request)
        else:
            grant = Grant.objects.filter(code=code, application=client).first()
        if grant is not None and grant.redirect_uri_allowed(redirect_uri):
            return True
        raise errors.InvalidGrantError(
            description="redirect_uri does not match the one of the authorization request.", request=request
        )

    def get_authorization_code_scopes(self, client_id, code, redirect_uri, request):
        grant = self._grant(code, request)
        return grant.scope.split() if grant else []

    def get_authorization_code_nonce(self, client_id, code, redirect_uri, request):
        grant = self._grant(code, request)
        return (grant.nonce or None) if grant else None

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs) -> None:
        """Mark the code redeemed (not deleted) and remember what it produced."""
        access_token = getattr(request, "latchkey_access_token", None)
        refresh_token = getattr(request, "latchkey_refresh_token", None)
        updated = Grant.objects.filter(code=code, application=request.client, redeemed_at__isnull=True).update(
            redeemed_at=timezone.now(),
            access_token=access_token,
            token_family=refresh_token.token_family if refresh_token else None,
        )
        if not updated:
            raise errors.InvalidGrantError(request=request)

    def save_authorization_code(self, client_id, code, request, *args, **kwargs) -> None:
        # django-oauth-toolkit 3.4.1 creates the row with a fixed field list; the sign-in time and
        # method (passed by the authorize view as credentials) are added to it, in one UPDATE.
        # The code and its `user.signed_in` event (an outbox row) commit together, or neither does.
        with transaction.atomic():
            grant = self._create_authorization_code(request, code)
            sign_in = {
                "auth_time": getattr(request, "auth_time", None),
                "amr": getattr(request, "latchkey_amr", None),
                "organization_id": getattr(request, "latchkey_organization_id", None),
                "sign_in_id": (getattr(request, "latchkey_sign_in", None) or {}).get("id"),
            }
            sign_in = {field: value for field, value in sign_in.items() if value}
            if sign_in:
                Grant.objects.filter(pk=grant.pk).update(**sign_in)
            # Every code issuance (consent's Allow, single sign-on, a trusted app) is a sign-in to the client.
            signed_in_with = getattr(request, "latchkey_sign_in", None)
            user_signed_in(user=request.user, application=request.client, sign_in=signed_in_with)

    # --- tokens ----------------------------------------------------------------------------
    def save_bearer_token(self, token, request, *args, **kwargs):
        # Refresh tokens only for offline_access (OIDC Core §11); the dict is the response body.
        if "offline_access" not in token.get("scope", "").split():
            token.pop("refresh_token", None)
        if access_tokens.is_client_credentials_jwt(request):
            # RFC 9068: the JWT carries everything the API checks, and nothing refers to it. No row.
            return None
        if request.grant_type == "client_credentials" and "refresh_token" not in token:
            # One INSERT is atomic by itself: django-oauth-toolkit 3.4.1 wraps every save in a
            # transaction, whose BEGIN and COMMIT are two more database round trips on the hot path.
            return self._save_bearer_token(token, request, *args, **kwargs)
        if _presented.get() is not None and transaction.get_connection().in_atomic_block:
            # A code or refresh exchange: the token view's transaction already holds every write (a
            # database error in any of them rolls it all back), so django-oauth-toolkit's nested atomic
            # would only add a SAVEPOINT and a RELEASE (two round trips).
            return self._save_bearer_token(token, request, *args, **kwargs)
        return super().save_bearer_token(token, request, *args, **kwargs)

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs) -> bool:
        """Every grant, once the client is known: the resources the request names are ones it may use.

        Checked again on the final list when the token is saved (`_check_and_set_request_resource`);
        here it comes before anything is consumed (a device code's approval is used up on save).
        """
        request.latchkey_validator = self  # the token's audience is settled with it (access_tokens.audience_for)
        if grant_type == "client_credentials":
            _take_audience(request)
        self._check_resources(request, client, requested_resources(request))
        return super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)

    def _check_and_set_request_resource(self, request):
        """RFC 8707 at the token endpoint; then every resource must be one this client may use.

        django-oauth-toolkit 3.4.1 copies any well-formed `resource` into the token; the list it
        settles on (asked, inherited from the code or the refresh token) must pass
        `policies.resource_error`, or the answer is invalid_target.
        """
        if request.grant_type == "authorization_code":
            self._set_code_resources(request)
        else:
            super()._check_and_set_request_resource(request)
        self._check_resources(request, request.client, request.resource)

    @staticmethod
    def _check_resources(request, client, resources: list[str]) -> None:
        """policies.resource_error once per request and list (the grant, the lifetime and the save all ask)."""
        if getattr(request, "latchkey_checked_resources", None) == (client.pk, tuple(resources)):
            return
        terms = access_tokens.scope_terms(request, client) if resources else None
        if error := policies.resource_error(client, resources, terms=terms):
            raise errors.CustomOAuth2Error(error="invalid_target", description=error, request=request)
        request.latchkey_checked_resources = (client.pk, tuple(resources))

    def _set_code_resources(self, request) -> None:
        """RFC 8707 for a code, on the grant already read (and locked).

        django-oauth-toolkit 3.4.1 reads the code's grant once more only to narrow its resources;
        its rules, kept: the request's resources (repeatable) are absolute URIs; with the code's
        resources they must be a subset of them, without any the code's resources are inherited.
        """
        requested = requested_resources(request)
        self._validate_resource_uris(request, requested)
        grant = self._grant(request.code, request)
        granted = (grant.resource or []) if grant is not None else []
        if requested and granted:
            if outside := next((r for r in requested if r not in granted), None):
                raise errors.CustomOAuth2Error(
                    error="invalid_target",
                    description=f"The requested resource '{outside}' is not allowed. Token request cannot "
                    "escalate resource permissions beyond the original authorization grant",
                    request=request,
                )
            request.resource = requested
        elif granted:
            self._validate_resource_uris(request, granted)  # rows written before validation existed
            request.resource = granted
        else:
            request.resource = requested

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        # Remembered for the code's redemption (invalidate_authorization_code), which records it.
        access_token = super()._create_access_token(expires, request, token, source_refresh_token)
        request.latchkey_access_token = access_token
        return access_token

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous_refresh_token):
        # Remembered for the code's redemption, as above (its family).
        refresh_token = super()._create_refresh_token(request, refresh_token_code, access_token, previous_refresh_token)
        request.latchkey_refresh_token = refresh_token
        return refresh_token

    def _load_id_token(self, token):
        # django-oauth-toolkit 3.4.1 verifies and reads again the ID token it has just signed and
        # saved (finalize_id_token), to link the access token to it: that row is known already.
        signed = _signed_id_token.get()
        if signed is not None and signed[0] == token:
            return signed[1]
        return super()._load_id_token(token)

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs) -> bool:
        """django-oauth-toolkit 3.4.1's rules on the row the token view locked, then ours.

        The toolkit reads the token again, then its user and its client one query each; the locked
        row has them (and the family's sign-in time). Its rules, kept: a revoked token presented
        again revokes its whole family (REFRESH_TOKEN_GRACE_PERIOD_SECONDS is 0, so the toolkit's
        grace window never applies); a live token needs its access token, and expires
        REFRESH_TOKEN_EXPIRE_SECONDS after it. Ours: the token must be this client's before
        anything happens (the toolkit checks the client last, so another client presenting a
        stolen, rotated token could revoke a family not its own); a token revoked moments ago
        is a parallel refresh that lost the race, not a replay (policies.lost_race): it revokes
        nothing; the application's refresh lifetime; a user the application still admits
        (policies.access_allowed: active, holding its required roles).
        """
        checksum = token_checksum(refresh_token)
        presented = _presented.get()
        if presented is not None and presented.refresh_checksum == checksum:
            rt = presented.refresh_token
        else:
            found = store.refresh_tokens_by_checksum(checksum)
            rt = found[0] if found else None
        if rt is None or rt.application_id != client.pk:
            return False
        now = timezone.now()
        if rt.revoked is not None:
            if policies.lost_race(rt.revoked, now=now):
                return False
            if oauth2_settings.REFRESH_TOKEN_REUSE_PROTECTION and rt.token_family:
                refresh_family_revoke(
                    family=rt.token_family, user=rt.user, application=client, reason="refresh_token_replayed"
                )
            return False
        if rt.access_token is None:
            return False  # orphaned: its access token was deleted out of band
        expire_after_access = refresh_token_expire_timedelta()
        if expire_after_access and rt.access_token.expires + expire_after_access <= now:
            return False
        if policies.refresh_token_expires_at(client, rt.created) <= now:
            return False
        if not policies.access_allowed(rt.user, client):
            return False
        if not organization_sign_in.still_admitted(
            user=rt.user, application=client, organization_id=rt.family_organization_id
        ):
            return False  # removed from the family's organisation (member_tokens_revoke ends it too)
        rt.application = client  # the same row, checked above
        request.user = rt.user
        request.refresh_token = refresh_token  # hashed at rest: the stored column is blank
        request.refresh_token_instance = rt
        if rt.token_family:
            request.latchkey_auth_time = rt.family_auth_time
            request.latchkey_amr = rt.family_amr
            request.latchkey_organization_id = rt.family_organization_id
        return True

    def get_original_scopes(self, refresh_token, request, *args, **kwargs) -> list[str]:
        """The scopes a refresh may keep: the family's, without organisation scopes the user's roles in its
        organisation no longer grant (a role taken away narrows the next token)."""
        scopes = scope_to_list(super().get_original_scopes(refresh_token, request, *args, **kwargs)) or []
        organization_id = getattr(request, "latchkey_organization_id", None)
        if organization_id is None:
            return organization_sign_in.scopes_for(user=request.user, organization=None, scopes=scopes)
        organization = Organization.objects.filter(public_id=organization_id).first()
        return organization_sign_in.scopes_for(user=request.user, organization=organization, scopes=scopes)

    # --- OpenID Connect --------------------------------------------------------------------
    def validate_jwt_bearer_token(self, token, scopes, request) -> bool:
        """An ID token is for the client, not a credential for userinfo or APIs (OIDC Core §2)."""
        return False

    def validate_silent_login(self, request) -> bool:
        return True  # the authorize view decides with the session (prompt=none → login_required)

    def validate_silent_authorization(self, request) -> bool:
        return True  # the authorize view decides with consent (prompt=none → consent_required)

    def get_oidc_claims(self, token, token_handler, request) -> dict:
        claims = oidc_claims.user_claims(request.user, request.scopes)
        organization_id = getattr(request, "latchkey_organization_id", None)
        claims.update(
            organization_sign_in.organization_claims(
                user=request.user, organization_id=organization_id, scopes=request.scopes
            )
        )
        return claims

    def get_userinfo_claims(self, request) -> dict:
        claims = oidc_claims.user_claims(request.user, request.scopes)
        if ORGANIZATION_SCOPE in request.scopes:
            organization_id = token_organization_id(request.access_token)
            claims.update(
                organization_sign_in.organization_claims(
                    user=request.user, organization_id=organization_id, scopes=request.scopes
                )
            )
        return claims

    def get_discovery_claims(self, request) -> list[str]:
        return list(oidc_claims.SUPPORTED_CLAIMS)

    def get_id_token_dictionary(self, token, token_handler, request):
        claims = self.get_oidc_claims(token, token_handler, request)
        now = timezone.now()
        expires = now + timedelta(seconds=policies.token_lifetime(request.client, "id"))
        claims.update(
            iss=self.get_oidc_issuer_endpoint(request),
            exp=int(expires.timestamp()),
            jti=str(uuid.uuid4()),
        )
        auth_time = getattr(request, "latchkey_auth_time", None)
        if auth_time is not None:
            claims["auth_time"] = int(auth_time.timestamp())
        if amr := getattr(request, "latchkey_amr", None):
            claims["amr"] = amr.split()
            if acr := oidc_claims.acr_for(amr):
                claims["acr"] = acr
        return claims, expires

    def finalize_id_token(self, id_token, token, token_handler, request) -> str:
        claims, expires = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce  # oauthlib #746
        signer = keys.current().signer(policies.id_token_algorithm(request.client))
        signed = jwt.JWT(header=json.dumps(signer.header), claims=json.dumps(id_token, default=str))
        signed.make_signed_token(signer.jwk)
        saved = self._save_id_token(id_token["jti"], request, expires)
        request.access_token = saved
        request.id_token = saved
        request.latchkey_id_token = saved
        serialized = signed.serialize()
        _signed_id_token.set((serialized, saved))
        return serialized

    def _get_key_for_token(self, token):
        # django-oauth-toolkit 3.4.1 looks the key up by audience; ours are chosen by `kid`.
        try:
            unverified = jws.JWS()
            unverified.deserialize(token)
            header = unverified.jose_header
        except Exception:  # noqa: BLE001  (any malformed token simply has no key)
            return None
        return keys.key_for_kid(header.get("kid"))

    def _load_access_token(self, token):
        # django-oauth-toolkit 3.4.1's read (the token with its application and user), as one statement
        # written once (store).
        return store.access_token_by_checksum(token_checksum(token))

    def validate_bearer_token(self, token, scopes, request) -> bool:
        """django-oauth-toolkit checks the token and its application; a deactivated user's tokens stop too.

        A JWT access token (a user's: it has a row) must also still verify, and no revocation keyed by
        its user or client may have come after it (access_tokens.verified_claims).
        """
        if token and access_tokens.looks_like_jwt(token) and access_tokens.verified_claims(token) is None:
            request.oauth2_error = {"error": "invalid_token", "error_description": "The access token is invalid."}
            return False
        if not super().validate_bearer_token(token, scopes, request):
            return False
        user = getattr(request, "user", None)
        if user is not None and not user.is_active:
            request.oauth2_error = {"error": "invalid_token", "error_description": "The access token is invalid."}
            return False
        return True
