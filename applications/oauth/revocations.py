"""Not-before entries: how a revocation reaches JWT access tokens, which have no row to delete.

Every service that revokes tokens (applications.services.users_tokens_revoke and
refresh_family_revoke, application deactivation and deletion, user deactivation) also calls
`not_before_record` in its transaction, keyed by what it revokes: (user, app), (user, any app) or
(any user, app). Introspection and userinfo ask `token_revoked` before they accept a JWT. An entry
matters only while a token issued before it can be alive, so it expires after the longest
access-token lifetime (policies.ACCESS_TOKEN_TTL_MAX) and cleartokens deletes it.

JWT `iat` is in whole seconds, so an entry covers every token whose `iat` is at or before the
second it was written in: a token issued earlier in that second is revoked (as it must be), and so
is one issued later in the same second (a client gets a new one a second later).

The hot path: the latest entry per (subject, client_id) is remembered in this process under
generation keys in Django's cache, one per subject and one per client_id, so the usual answer
costs one cache round trip and no query. An entry starts a new generation of its subject (or of
its client_id when it names no subject) when it is written and again once its transaction commits;
a process that read the database while the write was in flight remembered the answer under a
generation nobody reads any more. Every other process sees an entry as soon as the new
generation is in the cache. When the cache missed that invalidation (unreachable at that moment,
or per-process memory with several processes), a process keeps its old answer at most
GENERATION_SECONDS, the generations' lifetime. With the cache unreachable, every question is one query.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from applications import policies
from config.cache import cache_add, cache_get_many, cache_set

# How long a process may keep answering from an invalidation the cache missed (see above).
GENERATION_SECONDS = 30
# Remembered answers per process; beyond this the memo starts afresh (a query per pair refills it).
MEMO_SIZE = 10_000
_GENERATION_KEY = "latchkey:not-before:{kind}:{digest}"

_memo: dict[tuple[str, str], tuple[tuple[str, ...], datetime | None]] = {}
_memo_lock = threading.Lock()


def _generation_key(kind: str, value: str) -> str:
    # Hashed: a subject or client_id is not always a safe cache key (length, characters).
    return _GENERATION_KEY.format(kind=kind, digest=hashlib.blake2b(value.encode(), digest_size=16).hexdigest())


def _generation_keys(subject: str, client_id: str) -> list[str]:
    keys = [_generation_key("client", client_id)]
    if subject:
        keys.append(_generation_key("subject", subject))
    return keys


def _generations(keys: list[str]) -> tuple[str, ...] | None:
    """The current generation of each key, in order; None when the cache is unreachable."""
    found = cache_get_many(keys)
    missing = [key for key in keys if key not in found]
    if missing:
        for key in missing:
            cache_add(key, uuid.uuid4().hex, timeout=GENERATION_SECONDS)
        found = cache_get_many(keys)  # ours, or another process's that added first
        if any(key not in found for key in keys):
            return None
    return tuple(found[key] for key in keys)


def _start_generations(keys: list[str], *, committed: bool = True) -> None:
    """New generations for `keys`; a failure is logged only after commit, the one other processes rely on."""
    failure = f"a not-before entry was not announced; other servers see it within {GENERATION_SECONDS} s"
    for key in keys:
        cache_set(key, uuid.uuid4().hex, timeout=GENERATION_SECONDS, failure=failure if committed else None)


def _latest_revocation(subject: str, client_id: str, now: datetime) -> datetime | None:
    """The newest live entry covering (subject, client_id): one query on the (subject, client_id) index."""
    from applications.models import TokenRevocation

    covers = Q(subject="", client_id=client_id)
    if subject:
        covers |= Q(subject=subject, client_id__in=[client_id, ""])
    return TokenRevocation.objects.filter(covers, expires_at__gt=now).aggregate(latest=Max("revoked_at"))["latest"]


def not_before_record(*, subject: str = "", client_id: str = "", reason: str, at: datetime | None = None) -> None:
    """Revoke every token of `subject` at `client_id` (blank: any) issued up to `at` (now).

    Call it inside the transaction that revokes the rows: the entry and the revocation commit together.
    """
    not_before_record_pairs(pairs=[(subject, client_id)], reason=reason, at=at)


def not_before_record_pairs(*, pairs: Iterable[tuple[str, str]], reason: str, at: datetime | None = None) -> None:
    """not_before_record for many (subject, client_id) pairs in one INSERT; nothing for none."""
    from applications.models import TokenRevocation

    pairs = list(dict.fromkeys(pairs))
    if not pairs:
        return
    if any(not subject and not client_id for subject, client_id in pairs):
        raise ValueError("a not-before entry names a subject, a client_id or both")
    revoked_at = at or timezone.now()
    expires_at = revoked_at + timedelta(seconds=policies.ACCESS_TOKEN_TTL_MAX)
    TokenRevocation.objects.bulk_create(
        TokenRevocation(subject=s, client_id=c, revoked_at=revoked_at, expires_at=expires_at, reason=reason)
        for s, c in pairs
    )
    keys = sorted({_generation_key("subject", s) if s else _generation_key("client", c) for s, c in pairs})
    # At once, so this transaction's own later reads see the entry; again after commit, for what
    # other processes remembered from the database in between.
    _start_generations(keys, committed=False)
    transaction.on_commit(lambda: _start_generations(keys))


def token_revoked(*, subject: str | None, client_id: str, issued_at: datetime) -> bool:
    """Whether an unexpired entry for (subject, client_id), (subject, any) or (any, client_id) was
    written in or after the second `issued_at` falls in. `subject` None: a token with no user."""
    subject = subject or ""
    now = timezone.now()
    keys = _generation_keys(subject, client_id)
    generations = _generations(keys)
    remembered = _memo.get((subject, client_id)) if generations is not None else None
    if remembered is not None and remembered[0] == generations:
        latest = remembered[1]
    else:
        latest = _latest_revocation(subject, client_id, now)
        if generations is not None:
            with _memo_lock:
                if len(_memo) >= MEMO_SIZE:
                    _memo.clear()
                _memo[(subject, client_id)] = (generations, latest)
    # An entry past its expiry covers only tokens that have expired too: the remembered answer stays right.
    return latest is not None and latest >= issued_at.replace(microsecond=0)
