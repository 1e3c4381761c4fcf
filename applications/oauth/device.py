"""RFC 8628 device authorization grant: the endpoint's rules, the validator's rules, the user's decision.

A device (TV, CLI) asks POST /oauth/device for a device code and a user code; the user signs in at
/device, types the user code and approves or denies; meanwhile the device polls the token endpoint.
django-oauth-toolkit 3.4.1 has the pieces but leaves gaps that are closed here: its device
authorization endpoint checks neither the grant type nor the scopes, any client may redeem any
device code, an unknown code is a 404, nothing answers `slow_down`, an approved code can be
redeemed again and again, and no ID token is issued.

The device grant is django-oauth-toolkit's DeviceGrant row. Two of its columns carry our meaning:
`last_checked` is the time of the last poll, and `interval` is the wait the device owes before its
next poll (none before the first poll, the configured interval after it, five seconds more after
each `slow_down`). A redeemed grant is deleted, so its code can never be redeemed twice.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider.models import AbstractDeviceGrant, get_device_grant_model
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import Request, generate_token
from oauthlib.oauth2.rfc6749 import errors, utils
from oauthlib.oauth2.rfc6749.endpoints.base import catch_errors_and_unavailability
from oauthlib.oauth2.rfc8628 import errors as device_errors
from oauthlib.oauth2.rfc8628.endpoints.pre_configured import DeviceApplicationServer

from applications import policies
from applications.models import Application
from applications.policies import GRANT_DEVICE_CODE
from config.cache import cache_get, cache_set
from config.ratelimit import Limit, client_ip, count, reached
from identity.services import user_signed_in

log = logging.getLogger(__name__)
DeviceGrant = get_device_grant_model()

# RFC 8628 §6.1: consonants only (no words can be spelt, no 0/O or 1/I confusion), 20^8 ≈ 2^34.6 codes.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
DEVICE_CODE_TTL = 900  # seconds a device code and its user code live
SLOW_DOWN_STEP = 5  # RFC 8628 §3.5: each slow_down adds five seconds to the interval
MAX_POLL_INTERVAL = 60
_DEVICE_CODE_PATTERN = re.compile(r"^[A-Za-z0-9]{1,100}$")  # oauthlib's generate_token alphabet
_AUTH_TIME_KEY = "latchkey:device-auth-time:{digest}"

CODE_INVALID = "That code isn't valid. Check the code shown on your device and try again."
CODE_EXPIRED = "That code has expired. Start again on your device to get a new one."
CODE_USED = "That code has already been used. Start again on your device if you still need to sign in."


# --- user codes ----------------------------------------------------------------------------
def user_code_generate() -> str:
    """A code to type, shown as two groups of four (`WDJB-MJHT`)."""
    code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
    return f"{code[:4]}-{code[4:]}"


def user_code_normalize(value: str) -> str | None:
    """The stored form of a typed code: case, dashes and spaces ignored; None if it cannot be one of ours."""
    code = re.sub(r"[\s-]", "", value or "").upper()
    if len(code) != USER_CODE_LENGTH or any(ch not in USER_CODE_ALPHABET for ch in code):
        return None
    return code


def user_code_display(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


# --- the device authorization endpoint -----------------------------------------------------
class DeviceAuthorizationServer(DeviceApplicationServer):
    """oauthlib's device authorization endpoint with the rules it leaves to the server.

    RFC 8628 §3.1 makes this a client-authenticated request like the token endpoint's, so the
    client must be allowed the device grant (`unauthorized_client`) and the scopes (`invalid_scope`).
    """

    def __init__(
        self,
        request_validator,
        verification_uri: str,
        interval: int = 5,
        verification_uri_complete: str | None = None,
        user_code_generator=None,
        **kwargs,
    ) -> None:
        # Latchkey's codes are its own: user_code_normalize must read what user_code_generate writes.
        super().__init__(
            request_validator,
            verification_uri=verification_uri,
            interval=interval,
            verification_uri_complete=verification_uri_complete,
            user_code_generator=user_code_generate,
        )
        self._expires_in = DEVICE_CODE_TTL

    def validate_device_authorization_request(self, request: Request) -> None:
        # oauthlib compares the whole header, so `; charset=utf-8` would be refused (and no header is a 500).
        media_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if media_type != "application/x-www-form-urlencoded":
            raise errors.InvalidRequestError(
                description="Content-Type must be application/x-www-form-urlencoded.", request=request
            )
        request.headers["Content-Type"] = media_type
        try:
            super().validate_device_authorization_request(request)
        except errors.InvalidClientIdError as exc:
            # An unknown or inactive client is a client-authentication failure here (RFC 6749 §5.2).
            raise errors.InvalidClientError(request=request) from exc
        if not request.client.allows_grant_type(GRANT_DEVICE_CODE):
            raise errors.UnauthorizedClientError(
                description="This application may not use the device authorization grant.", request=request
            )
        request.scopes = utils.scope_to_list(request.scope) or self.request_validator.get_default_scopes(
            request.client_id, request
        )
        if not self.request_validator.validate_scopes(request.client_id, request.scopes, request.client, request):
            raise errors.InvalidScopeError(request=request)

    @catch_errors_and_unavailability
    def create_device_authorization_response(self, uri, http_method="POST", body=None, headers=None):
        """oauthlib 3.3.1's response (RFC 8628 §3.2), plus saving the grant with the validated scopes."""
        request = Request(uri, http_method, body, headers)
        self.validate_device_authorization_request(request)
        user_code = self.user_code_generator()
        data = {
            "device_code": generate_token(),
            "user_code": user_code,
            "verification_uri": self.verification_uri,
            "expires_in": self.expires_in,
            "interval": self.interval or 5,
        }
        complete = self.verification_uri_complete(user_code)
        if complete:
            data["verification_uri_complete"] = complete
        self.request_validator.save_device_grant(data, request)
        return {"Cache-Control": "no-store", "Pragma": "no-cache"}, data, 200


# --- the token endpoint ----------------------------------------------------------------------
class DeviceTokenMixin:
    """Mixed into the token view: a device-code poll goes through oauthlib like any other grant.

    django-oauth-toolkit 3.4.1 answers the poll from the stored status before the client is even
    authenticated (so any client learns the state of any code, and an unknown code is a 404); here
    every answer comes from DeviceGrantRules, after client authentication, in one transaction.
    """

    @method_decorator(sensitive_post_parameters("device_code", "client_secret"))
    def post(self, request, *args, **kwargs) -> HttpResponse:
        if request.POST.get("grant_type") != GRANT_DEVICE_CODE:
            return super().post(request, *args, **kwargs)
        with transaction.atomic():
            url, headers, body, status = self.create_token_response(request)
        response = HttpResponse(content=body, status=status)
        for key, value in headers.items():
            response[key] = value
        return response


def _auth_time_key(device_code: str) -> str:
    return _AUTH_TIME_KEY.format(digest=hashlib.sha256(device_code.encode()).hexdigest())


def _at_hash(access_token: str) -> str:
    """OIDC Core §3.1.3.6: left half of the SHA-256 of the access token (RS256 and ES256 alike)."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).decode().rstrip("=")


class DeviceGrantRules:
    """Validator overrides for the device code grant, mixed into LatchkeyValidator."""

    def save_device_grant(self, data: dict, request) -> None:
        """Called by DeviceAuthorizationServer once the request is valid."""
        DeviceGrant.objects.create(
            client_id=request.client.client_id,
            device_code=data["device_code"],
            user_code=user_code_normalize(data["user_code"]),
            scope=" ".join(request.scopes),
            expires=timezone.now() + timedelta(seconds=data["expires_in"]),
            interval=0,  # the first poll may come at once
        )

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs) -> bool:
        """oauthlib's only hook between client authentication and scopes in a device-code poll."""
        if not super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs):
            return False
        if grant_type == GRANT_DEVICE_CODE:
            self._accept_device_poll(request)
        return True

    def _accept_device_poll(self, request) -> None:
        """Answer a poll by RFC 8628 §3.5, or load the approved grant's user and scopes onto the request."""
        device_code = getattr(request, "device_code", None)
        if not device_code:
            raise errors.InvalidRequestError(description="Missing device_code parameter.", request=request)
        grant = None
        if _DEVICE_CODE_PATTERN.match(device_code):
            grant = DeviceGrant.objects.select_related("user").filter(device_code=device_code).first()
        if grant is None or grant.client_id != request.client.client_id:
            # A device code is bound to the client that asked for it (RFC 6749 §5.2: "issued to another client").
            raise errors.InvalidGrantError(
                description="The device code is unknown, already used, or was issued to another client.",
                request=request,
            )
        now = timezone.now()
        if grant.status == grant.EXPIRED or grant.expires <= now:
            raise device_errors.ExpiredTokenError(description="The device code has expired.", request=request)
        if grant.status == grant.DENIED:
            raise device_errors.AccessDenied(description="The user denied the request.", request=request)
        self._record_poll(grant, now, request)
        if grant.status != grant.AUTHORIZED:
            raise device_errors.AuthorizationPendingError(
                description="The user has not approved the request yet.", request=request
            )
        if grant.user is None or not policies.access_allowed(grant.user, request.client):
            # Checked at redemption too: the user may have lost a role (or been deactivated) since approving.
            raise errors.InvalidGrantError(
                description="The user who approved may no longer use this application.", request=request
            )
        request.user = grant.user
        request.scopes = grant.scope.split()
        request.latchkey_device_grant = grant
        kept = cache_get(_auth_time_key(device_code))
        if isinstance(kept, int):  # kept by a version that stored the sign-in time alone
            kept = {"auth_time": kept}
        kept = kept if isinstance(kept, dict) else {}
        stamp = kept.get("auth_time")
        request.latchkey_auth_time = datetime.fromtimestamp(stamp, tz=UTC) if isinstance(stamp, int) else None
        request.latchkey_amr = kept.get("amr") if isinstance(kept.get("amr"), str) else None

    def _record_poll(self, grant: AbstractDeviceGrant, now: datetime, request) -> None:
        """`slow_down` when the device polls sooner than it owes (RFC 8628 §3.5); the row is shared by all processes."""
        elapsed = (now - grant.last_checked).total_seconds()
        if grant.interval and elapsed < grant.interval:
            owed = min(grant.interval + SLOW_DOWN_STEP, MAX_POLL_INTERVAL)
            DeviceGrant.objects.filter(pk=grant.pk).update(last_checked=now, interval=owed)
            raise device_errors.SlowDownError(description=f"Poll at most every {owed} seconds.", request=request)
        # Compare-and-set on the last poll: of two simultaneous polls, one is answered and one slowed down.
        taken = DeviceGrant.objects.filter(pk=grant.pk, last_checked=grant.last_checked).update(
            last_checked=now, interval=max(grant.interval, oauth2_settings.DEVICE_FLOW_INTERVAL or 5)
        )
        if not taken:
            raise device_errors.SlowDownError(
                description="Another poll of this device code is in progress.", request=request
            )

    def save_bearer_token(self, token, request, *args, **kwargs):
        grant = getattr(request, "latchkey_device_grant", None)
        if request.grant_type == GRANT_DEVICE_CODE and grant is not None:
            # One redemption per approval: the first poll to delete the row gets the tokens.
            deleted, _ = DeviceGrant.objects.filter(pk=grant.pk, status=grant.AUTHORIZED).delete()
            if not deleted:
                raise errors.InvalidGrantError(description="The device code has already been used.", request=request)
            if "openid" in request.scopes:
                # oauthlib 3.3.1 adds ID tokens only in its OpenID grant types; the device grant is not one.
                seed = {"aud": request.client_id, "iat": int(time.time()), "at_hash": _at_hash(token["access_token"])}
                token["id_token"] = self.finalize_id_token(seed, token, None, request)
        return super().save_bearer_token(token, request, *args, **kwargs)


# --- the user's side: /device ----------------------------------------------------------------
@dataclass(frozen=True)
class PendingDevice:
    grant: AbstractDeviceGrant | None = None
    application: Application | None = None
    problem: str | None = None


def _code_guess_limits(request) -> list[tuple[Limit, str]]:
    window = settings.LATCHKEY_DEVICE_CODE_FAILURE_WINDOW_SECONDS
    return [
        (Limit("device-code-user", settings.LATCHKEY_DEVICE_CODE_FAILURES_PER_USER, window), str(request.user.pk)),
        (Limit("device-code-ip", settings.LATCHKEY_DEVICE_CODE_FAILURES_PER_IP, window), client_ip(request)),
    ]


def code_guesses_refused(request) -> int | None:
    """Seconds the signed-in user (or their address) must wait before typing another user code (RFC 8628
    §5.1: user codes are short, so guessing them is limited); None when they may."""
    return reached(_code_guess_limits(request))


def code_guess_failed(request) -> None:
    """Count a typed user code that names no grant."""
    for limit, value in _code_guess_limits(request):
        count(limit, value)


def device_grant_pending(*, user_code: str) -> PendingDevice:
    """The grant a typed user code names, if it still awaits a decision; else what to tell the user."""
    code = user_code_normalize(user_code)
    if code is None:
        return PendingDevice(problem=CODE_INVALID)
    grant = DeviceGrant.objects.filter(user_code=code).order_by("-expires").first()
    if grant is None:
        return PendingDevice(problem=CODE_INVALID)
    # Branding joined in: the /device pages show the application's brand (branding.services).
    application = (
        Application.objects.select_related("branding").filter(client_id=grant.client_id, is_active=True).first()
    )
    if application is None:
        return PendingDevice(problem=CODE_INVALID)
    if grant.status == grant.EXPIRED or grant.expires <= timezone.now():
        return PendingDevice(problem=CODE_EXPIRED)
    if grant.status != grant.AUTHORIZATION_PENDING:
        return PendingDevice(problem=CODE_USED)
    return PendingDevice(grant=grant, application=application)


def device_grant_decide(
    *,
    grant: AbstractDeviceGrant,
    application: Application,
    acting_user,
    approve: bool,
    auth_time: datetime | None,
    amr: str = "",
    sign_in: dict | None = None,
) -> bool:
    """Record the signed-in user's decision once; False if the grant was decided or expired meanwhile.

    `auth_time` and `amr` (applications.oauth.claims.amr_for) describe the approving sign-in, for the ID token;
    `sign_in` (identity.auth_time.session_sign_in_method) goes into the approval's `user.signed_in` event.
    """
    now = timezone.now()
    # The decision and the approval's `user.signed_in` event (an outbox row) commit together.
    with transaction.atomic():
        decided = DeviceGrant.objects.filter(pk=grant.pk, status=grant.AUTHORIZATION_PENDING, expires__gt=now).update(
            status=grant.AUTHORIZED if approve else grant.DENIED, user=acting_user
        )
        if decided and approve:
            user_signed_in(user=acting_user, application=application, sign_in=sign_in)
    if decided and approve and (auth_time is not None or amr):
        # The grant has no column for them: the ID token's auth_time and amr are best effort through the cache.
        lifetime = max(1, int((grant.expires - now).total_seconds()))
        cache_set(
            _auth_time_key(grant.device_code),
            {"auth_time": int(auth_time.timestamp()) if auth_time is not None else None, "amr": amr},
            timeout=lifetime,
            failure="a device approval's sign-in was not kept; its ID token carries no auth_time or amr",
        )
    if decided:
        log.info(
            "device authorization %s by user %s (client %s)",
            "approved" if approve else "denied",
            acting_user.pk,
            grant.client_id,
        )
    return bool(decided)
