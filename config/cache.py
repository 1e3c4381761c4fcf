"""The shared cache (CACHE_URL) as an optimisation, never a point of failure.

Latchkey reads and writes Django's cache only through these functions. When the cache is
unreachable or silent (refused connections, timeouts: CACHE_CONNECT_TIMEOUT and CACHE_SOCKET_TIMEOUT
bound each call), a read answers its default, so the caller computes the value from the database, and
a write answers False. Only connection errors and timeouts count: anything else is a bug and raises.

After a failure this process skips the cache for RETRY_SECONDS instead of paying a timeout on every
call; the first call after that tries it again. An outage is logged as one WARNING line per burst
(its error's type only: a Redis URL may carry a password), and one per write a caller names with
`failure`, such as an invalidation that other servers will now miss. Nothing here imports an app.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import caches
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

# What an unreachable or silent cache raises (redis-py's own errors; OSError from sockets and other
# backends). Data and programming errors are not in it.
CACHE_ERRORS: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError)
# Seconds a process skips the cache after a failure.
RETRY_SECONDS = 5.0

_state = threading.local()  # Django's cache backends are per thread; so is their outage


@dataclass
class _Outage:
    skip_until: float = 0.0  # time.monotonic() before which calls do not try the cache
    down: bool = False  # the last call failed (its warning is written)
    error: str = ""  # the last failure's exception type


def _outage(backend: Any) -> _Outage:
    """This thread's outage record for this backend (a new backend, e.g. after a settings change, starts afresh)."""
    if getattr(_state, "backend", None) is not backend:
        _state.backend = backend
        _state.outage = _Outage()
    return _state.outage


def _call(method: str, *args: Any, failure: str | None = None, **kwargs: Any) -> tuple[bool, Any]:
    """(True, result) when the cache answered; (False, None) when it is down or being skipped."""
    backend = caches["default"]
    outage = _outage(backend)
    if time.monotonic() < outage.skip_until:
        if failure:
            log.warning("cache unreachable (%s): %s", outage.error, failure)
        return False, None
    try:
        result = getattr(backend, method)(*args, **kwargs)
    except CACHE_ERRORS as error:
        outage.skip_until = time.monotonic() + RETRY_SECONDS
        outage.error = type(error).__name__
        if failure:
            log.warning("cache unreachable (%s): %s", outage.error, failure)
        elif not outage.down:
            log.warning(
                "cache unreachable (%s): serving from the database, trying again every %g s",
                outage.error,
                RETRY_SECONDS,
            )
        outage.down = True
        return False, None
    if outage.down:
        outage.down = False
        log.info("cache answers again")
    return True, result


def cache_get(key: str, default: Any = None) -> Any:
    """The cached value, or `default` when it is missing or the cache is unreachable."""
    answered, value = _call("get", key, default)
    return value if answered else default


def cache_set(key: str, value: Any, *, timeout: float | None, failure: str | None = None) -> bool:
    """Store a value; False when the cache is unreachable (logged with `failure` when given)."""
    answered, _ = _call("set", key, value, timeout=timeout, failure=failure)
    return answered


def cache_add(key: str, value: Any, *, timeout: float | None) -> bool:
    """Store a value unless the key exists; False when it did or the cache is unreachable."""
    answered, added = _call("add", key, value, timeout=timeout)
    return bool(answered and added)


def cache_delete(key: str, *, failure: str | None = None) -> bool:
    """Drop a key; False when the cache is unreachable (logged with `failure` when given)."""
    answered, _ = _call("delete", key, failure=failure)
    return answered


def cache_get_many_answered(keys: list[str]) -> tuple[bool, dict[str, Any]]:
    """(whether the cache answered, the values found by key): for callers that must tell "none" from "down"."""
    answered, values = _call("get_many", keys)
    return answered, (values or {}) if answered else {}


def cache_get_many(keys: list[str]) -> dict[str, Any]:
    """The cached values found, by key; empty when the cache is unreachable."""
    answered, values = _call("get_many", keys)
    return values if answered else {}


def cache_count(key: str, *, timeout: float) -> int | None:
    """Add one to a counter that lives `timeout` seconds from its first count; its new value, or None when
    the cache is unreachable. Every server counts in the same place when the cache is shared (Redis)."""
    try:
        answered, value = _call("incr", key)
    except ValueError:  # no such counter yet (or it just ended): start one
        answered, added = _call("add", key, 1, timeout=timeout)
        if not answered:
            return None
        if added:
            return 1
        try:
            answered, value = _call("incr", key)  # another request started it meanwhile
        except ValueError:
            return 1
    return value if answered else None
