"""Which application an end-user page is for: the one of the authorization request in progress.

Read once per request (memoised on it) in at most one query, with the branding row joined in.
Views that already hold the application set `request.latchkey_application`, which wins and costs
nothing. Otherwise the request names it:

- `next` (the sign-in page, account switching): only where the user is sent afterwards decides,
  a local /oauth/authorize?client_id=… or /device?user_code=…; any other parameter is then ignored,
  so a stray client_id cannot lend the sign-in page another app's sign-in methods;
- `client_id` (/oauth/authorize, the consent form, /oauth/logout);
- `id_token_hint` (/oauth/logout): its audience, read without checking the signature, because it
  only picks colours and the logout view verifies the hint itself (a client_id is public anyway);
- `user_code` (/device pages): the application of that unexpired device grant.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

from django.db.models import Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from oauth2_provider.models import get_device_grant_model

from applications.models import Application

MAX_CLIENT_ID_LENGTH = 100  # the column
MAX_HINT_LENGTH = 8192
_MISSING = object()
_MEMO = "_latchkey_request_application"


def request_application(request: HttpRequest) -> Application | None:
    explicit = getattr(request, "latchkey_application", _MISSING)
    if explicit is not _MISSING:
        return explicit
    memo = getattr(request, _MEMO, _MISSING)
    if memo is _MISSING:
        memo = _resolve(request)
        setattr(request, _MEMO, memo)
    return memo


def _param(request: HttpRequest, name: str) -> str | None:
    value = request.POST.get(name) if request.method == "POST" else None
    return value if value is not None else request.GET.get(name)


def _resolve(request: HttpRequest) -> Application | None:
    next_url = _param(request, "next")
    if next_url is not None:
        return _from_next(request, next_url)
    if client_id := _param(request, "client_id"):
        return _by_client_id(client_id)
    if hint := _param(request, "id_token_hint"):
        return _by_client_id(_hint_audience(hint))
    if (user_code := _param(request, "user_code")) and request.path.startswith(reverse("oauth:device")):
        return _by_user_code(user_code)
    return None


def _from_next(request: HttpRequest, next_url: str) -> Application | None:
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=False):
        return None
    parts = urlsplit(next_url)
    query = parse_qs(parts.query)
    if parts.path == reverse("oauth:authorize"):
        return _by_client_id((query.get("client_id") or [None])[0])
    if parts.path == reverse("oauth:device"):
        return _by_user_code((query.get("user_code") or [""])[0])
    return None


def _by_client_id(client_id: str | None) -> Application | None:
    if not client_id or len(client_id) > MAX_CLIENT_ID_LENGTH or "\x00" in client_id:
        return None  # PostgreSQL refuses NUL in a parameter; longer ids cannot exist
    return Application.objects.select_related("branding").filter(client_id=client_id).first()


def _by_user_code(user_code: str) -> Application | None:
    # Imported here: the one reader of typed codes lives with the device grant (and oauthlib).
    from applications.oauth.device import user_code_normalize

    code = user_code_normalize(user_code)
    if code is None:
        return None
    grants = get_device_grant_model().objects.filter(user_code=code, expires__gt=timezone.now())
    client_id = grants.order_by("-expires").values("client_id")[:1]
    return Application.objects.select_related("branding").filter(client_id=Subquery(client_id)).first()


def _hint_audience(hint: str) -> str | None:
    """The `aud` (or `azp` among several) of a JWS compact token; None for anything else."""
    segments = hint.split(".")
    if len(hint) > MAX_HINT_LENGTH or len(segments) != 3:
        return None
    try:
        payload = segments[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, TypeError):
        return None
    if not isinstance(claims, dict):
        return None
    audience = claims.get("aud")
    if isinstance(audience, list):
        party = claims.get("azp")
        audience = audience[0] if len(audience) == 1 else party if party in audience else None
    return audience if isinstance(audience, str) else None
