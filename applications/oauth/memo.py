"""What every token request reads and almost nothing changes, kept in each process: clients (by
client_id), the scope catalogue, each client's usable scopes and the APIs a client
introspects for.

Every service that changes one of them (an application, its secret, scopes, roles or API
resources) calls `invalidate()`: once its transaction commits a new generation starts, and every
process drops its memo on its next read, since every read first asks the shared cache
(config.cache) for the current generation, one cache GET. Any save or delete of those rows also
empties this process's memo at once (`connect`), whatever made it. So a rotated secret, a
deactivated application or a removed scope takes effect on every process as soon as the write
commits, as a database read would.

That holds only when the processes share the cache. With a per-process cache (LocMemCache, the
default without CACHE_URL), another process (a second worker, `manage.py app rotate-secret`) could
not tell this one, so the memo is off there unless LATCHKEY_PROCESS_MEMO says "on" (one process:
the test suite); "auto" (the default) turns it on only for a shared cache. When the shared cache
is unreachable, every read goes to the database until it answers again. Each generation also
ends after MAX_AGE_SECONDS: the backstop for a write that bypasses the models' save and delete
(a raw `QuerySet.update()`), or whose invalidation the cache missed while it was unreachable.

The memo hands out copies of its client instances: a request may set attributes on its client
(the secret's last use), never on the one other threads read.
"""

from __future__ import annotations

import copy
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
        self._values: dict[Hashable, Any] = {}

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        if not enabled():
            return load()
        generation = _current_generation()
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

    def update(self, key: Hashable, change: Callable[[Any], None]) -> None:
        with self._lock:
            value = self._values.get(key, _MISSING)
            if value is not _MISSING and value is not None:
                change(value)

    def clear(self) -> None:
        with self._lock:
            self._values = {}
            self._generation = None


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
        failure=f"other processes keep clients and scopes they read before this change for up to {MAX_AGE_SECONDS} s",
    )


def invalidate() -> None:
    """Start a new generation once the surrounding transaction commits (at once outside one)."""
    transaction.on_commit(_start_generation)


# --- what is kept ---------------------------------------------------------------------------------


def clear() -> None:
    """Forget everything this process keeps (it reloads on the next read)."""
    _memo.clear()


def client(client_id: str) -> Any | None:
    """The application with this client_id (active or not), as a copy of its own; None if there is none."""
    from applications.oauth import store

    found = _memo.get(("client", client_id), lambda: store.application_by_client_id(client_id))
    return copy.copy(found) if found is not None else None


def client_secret_used(application) -> None:
    """The secret's last use, recorded on the client's row (applications.secrets), on the kept copies too:
    otherwise every request would find the kept value stale and record it again."""
    used_at = application.client_secret_last_used_at

    def change(kept) -> None:
        kept.client_secret_last_used_at = used_at

    _memo.update(("client", application.client_id), change)


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
    from applications.models import ApiResource, Application, PreviousClientSecret, Scope
    from identity.models import Role

    return [
        Application,
        PreviousClientSecret,
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
