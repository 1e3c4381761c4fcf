"""Rate limits shared by every app server: fixed-window counters in the cache (config.cache), keyed by what
is limited (a client, an address), answered with the seconds until the window ends once over the limit.

A limit never sleeps in the request: the caller answers 429 with Retry-After. While the cache is
unreachable, LATCHKEY_RATE_LIMITS_WHEN_CACHE_DOWN decides: "open" (the default) lets requests through
uncounted, "closed" treats every counted event as over the limit. The client address is REMOTE_ADDR,
or, only when LATCHKEY_TRUSTED_PROXIES says how many proxies stand in front, the address that many
hops from the right of X-Forwarded-For (the one the nearest trusted proxy saw). Nothing here imports an app.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

from config.cache import cache_count, cache_get_many_answered


@dataclass(frozen=True)
class Limit:
    name: str  # part of the key, e.g. "client-auth-client"
    limit: int  # events allowed per window
    window: int  # seconds


def client_ip(request: HttpRequest) -> str:
    """The caller's address: REMOTE_ADDR, or the trusted proxies' view of it (module docstring)."""
    return client_ip_of(request.META)


def client_ip_of(meta: Mapping[str, str]) -> str:
    """client_ip from a request's META (or oauthlib's copy of it, its `headers`)."""
    trusted = int(getattr(settings, "LATCHKEY_TRUSTED_PROXIES", 0) or 0)
    if trusted > 0:
        forwarded = [part.strip() for part in (meta.get("HTTP_X_FORWARDED_FOR") or "").split(",") if part.strip()]
        if len(forwarded) >= trusted:
            return forwarded[-trusted]
    return meta.get("REMOTE_ADDR") or "unknown"


def _window(limit: Limit, value: str, now: float) -> tuple[str, int]:
    """The counter's key in the current window, and the seconds until that window ends (at least 1)."""
    window_start = int(now // limit.window) * limit.window
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]  # any value makes a short, safe key
    wait = max(1, int(window_start + limit.window - now + 0.999))
    return f"latchkey:ratelimit:{limit.name}:{digest}:{window_start}", wait


def _closed() -> bool:
    return getattr(settings, "LATCHKEY_RATE_LIMITS_WHEN_CACHE_DOWN", "open") == "closed"


def count(limit: Limit, value: str, *, now: float | None = None) -> int | None:
    """Count one event for `value`; the seconds until its window ends when that is over the limit, else None."""
    counted, retry_after = count_and_wait(limit, value, now=now)
    if counted is None:
        return retry_after if _closed() else None
    return retry_after if counted > limit.limit else None


def count_and_wait(limit: Limit, value: str, *, now: float | None = None) -> tuple[int | None, int]:
    """Count one event for `value`: its count in this window (None: the cache is down) and the seconds left."""
    key, retry_after = _window(limit, value, time.time() if now is None else now)
    return cache_count(key, timeout=limit.window + 1), retry_after


def reached(checks: list[tuple[Limit, str]], *, now: float | None = None) -> int | None:
    """Without counting: has any (limit, value) already had its `limit` events in this window? The longest
    wait if so (seconds), else None. One cache round trip for all of them."""
    now = time.time() if now is None else now
    windows = [(_window(limit, value, now), limit) for limit, value in checks]
    answered, counts = cache_get_many_answered([key for (key, _), _ in windows])
    if not answered:
        return max(wait for (_, wait), _ in windows) if _closed() and windows else None
    waits = [wait for (key, wait), limit in windows if (counts.get(key) or 0) >= limit.limit]
    return max(waits) if waits else None
