"""What every token request reads and almost nothing changes, kept in each process: the scope
catalogue, each client's usable scopes and the APIs a client introspects for. Clients themselves
are not kept: their secret and `is_active` are read on every request (one indexed statement,
applications.oauth.store), so a rotated secret or a deactivated application stops working on every
server the moment the change commits.

Every service that changes what is kept (an application's scopes or roles, scopes, roles, API
resources) calls `invalidate()`: once its transaction commits a new generation starts in the shared
cache (config.cache). Each process asks the cache for the current generation at most once every
CHECK_SECONDS and drops what it keeps when it has changed, so a scope taken from an application is
refused on every server within CHECK_SECONDS of the commit. (A cache GET through Django's Redis backend
costs about as much CPU as reading a row from PostgreSQL, so asking on every read would save nothing.)
Any save or delete of those rows also empties this process's memo at once (`connect`), whatever made it.

That holds only when the processes share the cache. With a per-process cache (LocMemCache, the
default without CACHE_URL), another process (a second worker, `manage.py`) could not tell this one,
so the memo is off there unless LATCHKEY_PROCESS_MEMO says "on" (one process: the test suite);
"auto" (the default) turns it on only for a shared cache. When the shared cache is unreachable,
every read goes to the database until it answers again. Each generation also ends after
MAX_AGE_SECONDS: the backstop for a write that bypasses the services (a raw `QuerySet.update()`), or
whose invalidation the cache missed while it was unreachable.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Hashable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from config.cache import cache_add, cache_get, cache_set

GENERATION_KEY = "latchkey:oauth-memo:generation"
MAX_AGE_SECONDS = 60
# How often a process asks the shared cache whether another one changed what it keeps.
CHECK_SECONDS = 1.0
_MISSING = object()
# Caches that every process of a deployment shares; any other backend is per process (or none at all).
_PER_PROCESS_BACKENDS = frozenset(
    {"django.core.cache.backends.locmem.LocMemCache", "django.core.cache.backends.dummy.DummyCache"}
)


def enabled() -> bool:
    mode = getattr(settings, "LATCHKEY_PROCESS_MEMO", "auto")
    if mode == "auto":
        return settings.CACHES["default"]["BACKEND"] not in _PER_PROCESS_BACKENDS
    return mode == "on"


class _Memo:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._started = 0.0
        self._checked = -CHECK_SECONDS  # when the shared generation was last asked for (monotonic)
        self._values: dict[Hashable, Any] = {}

    def _shared_generation(self) -> str | None:
        """The shared cache's generation, asked for at most every CHECK_SECONDS; None if unreachable."""
        now = time.monotonic()
        if self._generation is not None and now - self._checked < CHECK_SECONDS:
            return self._generation
        generation = _current_generation()
        self._checked = now if generation is not None else -CHECK_SECONDS
        return generation

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        if not enabled():
            return load()
        generation = self._shared_generation()
        if generation is None:  # the shared cache is unreachable: the database answers
            return load()
        with self._lock:
            if generation != self._generation or time.monotonic() - self._started > MAX_AGE_SECONDS:
                self._values = {}
                self._generation = generation
                self._started = time.monotonic()
            value = self._values.get(key, _MISSING)
        if value is not _MISSING:
            return value
        value = load()
        with self._lock:
            # Kept only if no write started a new generation meanwhile: the rows loaded may predate it.
            # Nothing found is not kept: unknown client_ids, sent by anyone, would only fill memory.
            if value is not None and self._generation == generation:
                self._values[key] = value
        return value

    def clear(self) -> None:
        with self._lock:
            self._values = {}
            self._generation = None
            self._checked = -CHECK_SECONDS


_memo = _Memo()


def _current_generation() -> str | None:
    generation = cache_get(GENERATION_KEY)
    if generation is None:
        cache_add(GENERATION_KEY, uuid.uuid4().hex, timeout=MAX_AGE_SECONDS)
        generation = cache_get(GENERATION_KEY)  # ours, or another process's added first
    return generation


def _start_generation() -> None:
    _memo.clear()
    cache_set(
        GENERATION_KEY,
        uuid.uuid4().hex,
        timeout=MAX_AGE_SECONDS,
        failure=f"other processes keep the scopes they read before this change for up to {MAX_AGE_SECONDS} s",
    )


def invalidate() -> None:
    """Start a new generation once the surrounding transaction commits (at once outside one)."""
    transaction.on_commit(_start_generation)


# --- what is kept ---------------------------------------------------------------------------------


def clear() -> None:
    """Forget everything this process keeps (it reloads on the next read)."""
    _memo.clear()


def remembered(key: Hashable, load: Callable[[], Any]) -> Any:
    """A value derived from the sources below (scopes, resources), kept until they change. Callers must
    not change what they get."""
    return _memo.get(key, load)


# --- when it changes ------------------------------------------------------------------------------


def _changed(sender, **kwargs) -> None:
    # This process forgets at once, whatever wrote the row (a service, the admin, a test's factory), so
    # its own later reads see the change; the services' invalidate() tells the other processes.
    _memo.clear()


def _sources() -> list:
    from applications.models import ApiResource, Application, Scope
    from identity.models import Role

    return [
        Application,
        Scope,
        ApiResource,
        Role,
        Application.allowed_scopes.through,
        Application.required_roles.through,
        Application.m2m_roles.through,
        Role.scopes.through,
    ]


def connect() -> None:
    """Every save and delete of a source empties this process's memo (AppConfig.ready)."""
    for model in _sources():
        post_save.connect(_changed, sender=model, dispatch_uid=f"oauth-memo-save-{model._meta.label}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"oauth-memo-delete-{model._meta.label}")
        m2m_changed.connect(_changed, sender=model, dispatch_uid=f"oauth-memo-m2m-{model._meta.label}")
