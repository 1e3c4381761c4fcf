"""CORS per application: browser origins listed in an active app's cors_origins.

django-cors-headers answers the browser (preflight included) on the paths of CORS_URLS_REGEX
only; `request_allowed` (its `check_request_enabled` receiver) decides the origin against the
set of every active application's origins. A preflight names no client, so the set is global.

The set lives in Django's cache under a generation key: a write to an application starts a new
generation after its transaction commits, so a reader that loaded the old rows while the write
was in flight can only fill a generation nobody reads any more (no stale set survives the race).

The cache is only an optimisation (config.cache): when it is unreachable the set comes from the
database on every request, and an invalidation it missed heals by expiry, since both the generation
and the set live at most ORIGINS_CACHE_SECONDS.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

from corsheaders.conf import conf as cors_conf
from django.db import transaction
from django.http import HttpRequest

from config.cache import cache_add, cache_get, cache_set

_GENERATION_KEY = "latchkey:cors-origins:generation"
_ORIGINS_KEY = "latchkey:cors-origins:{generation}"
# A backstop only: writes that bypass applications.services (a raw queryset update), or whose
# invalidation the cache missed while unreachable, age out within this many seconds.
ORIGINS_CACHE_SECONDS = 60
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(origin: str) -> str | None:
    """`scheme://host[:port]` lower-cased without its default port; None for anything else ("null" included)."""
    if not origin or len(origin) > 2048:
        return None
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host or parts.username or parts.password:
        return None
    if parts.path or parts.query or parts.fragment:
        return None
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    return f"{scheme}://{host}" if port in (None, _DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


def _load_origins() -> frozenset[str]:
    from applications.models import Application

    stored = Application.objects.filter(is_active=True).exclude(allowed_origins="")
    return frozenset(
        normalized
        for origins in stored.values_list("allowed_origins", flat=True)
        for origin in origins.split()
        if (normalized := normalize_origin(origin))
    )


def _generation() -> str | None:
    """The current generation; None when the cache is unreachable."""
    generation = cache_get(_GENERATION_KEY)
    if generation is None:
        cache_add(_GENERATION_KEY, uuid.uuid4().hex, timeout=ORIGINS_CACHE_SECONDS)
        generation = cache_get(_GENERATION_KEY)  # ours, or another process's added first
    return generation


def allowed_origins() -> frozenset[str]:
    """Every active application's origins, normalized; one query on a cold cache, none when warm."""
    generation = _generation()
    if generation is None:  # the cache is unreachable: the database answers
        return _load_origins()
    key = _ORIGINS_KEY.format(generation=generation)
    origins = cache_get(key)
    if origins is None:
        origins = _load_origins()
        cache_set(key, origins, timeout=ORIGINS_CACHE_SECONDS)
    return origins


def origin_allowed(origin: str | None) -> bool:
    normalized = normalize_origin(origin or "")
    return normalized is not None and normalized in allowed_origins()


def _start_generation() -> None:
    cache_set(
        _GENERATION_KEY,
        uuid.uuid4().hex,
        timeout=ORIGINS_CACHE_SECONDS,
        failure=f"the CORS origin set was not refreshed; every server sees the change within {ORIGINS_CACHE_SECONDS} s",
    )


def origins_invalidate() -> None:
    """Drop the cached set once the surrounding transaction commits (at once outside one)."""
    transaction.on_commit(_start_generation)


def request_allowed(sender, request: HttpRequest, **kwargs) -> bool:
    """django-cors-headers' `check_request_enabled` receiver (sent with sender=None).

    The library also asks it whether CORS applies to a path at all, so it answers only for the
    CORS_URLS_REGEX paths: an allowed origin must not open up the admin or the API.
    """
    if not re.match(cors_conf.CORS_URLS_REGEX, request.path_info):
        return False
    return origin_allowed(request.headers.get("origin"))


class CorsRules:
    """Validator overrides for CORS, mixed into LatchkeyValidator."""

    def is_origin_allowed(self, client_id, origin, request, *args, **kwargs) -> bool:
        # oauthlib adds Access-Control-Allow-Origin to code and refresh responses itself; asking the
        # same set as django-cors-headers keeps the two from ever disagreeing on a response.
        return origin_allowed(origin)
