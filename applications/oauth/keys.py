"""Signing keys: kept in the database, generated when none exists, rotated by command.

Signing and the JWKS document are served from a per-process memo rebuilt at most every
LATCHKEY_KEY_CACHE_SECONDS. A new key is published at once but only signs once that interval
has passed, so every process already lists it in its JWKS before the first token signed by it.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from jwcrypto import jwk

from applications import policies
from applications.models import SigningKey

_lock = threading.Lock()
_memo: dict[str, KeySet] = {}


@dataclass(frozen=True)
class KeySet:
    signing: SigningKey
    signing_jwk: jwk.JWK
    by_kid: dict[str, jwk.JWK]
    jwks_json: bytes
    built_at: float = field(default_factory=time.monotonic)


def cache_seconds() -> int:
    return int(getattr(settings, "LATCHKEY_KEY_CACHE_SECONDS", 60))


def retention() -> timedelta:
    """How long a retired key stays published: until every token it signed has expired."""
    longest = max(policies.ID_TOKEN_TTL_MAX, policies.ACCESS_TOKEN_TTL_MAX)
    return timedelta(seconds=longest + 2 * cache_seconds())


def generate_key(algorithm: str = SigningKey.Algorithm.RS256) -> SigningKey:
    if algorithm == SigningKey.Algorithm.ES256:
        key = jwk.JWK.generate(kty="EC", crv="P-256")
    elif algorithm == SigningKey.Algorithm.RS256:
        key = jwk.JWK.generate(kty="RSA", size=2048)
    else:
        raise ValueError(f"Unsupported signing algorithm {algorithm!r}; use RS256 or ES256.")
    return SigningKey.objects.create(
        kid=key.thumbprint(),
        algorithm=algorithm,
        private_key_pem=key.export_to_pem(private_key=True, password=None).decode(),
    )


def signing_key_rotate(*, acting_user=None, algorithm: str = SigningKey.Algorithm.RS256) -> SigningKey:
    """Add a new signing key and retire the current ones; they stay in the JWKS until their tokens expire."""
    now = timezone.now()
    with transaction.atomic():
        SigningKey.objects.filter(retired_at__isnull=True).update(retired_at=now, published_until=now + retention())
        key = generate_key(algorithm)
    clear_cache()
    return key


def clear_cache() -> None:
    _memo.clear()


def _private_jwk(key: SigningKey) -> jwk.JWK:
    private = jwk.JWK.from_pem(key.private_key_pem.encode())
    private.update(kid=key.kid, alg=key.algorithm, use="sig")
    return private


def _build() -> KeySet:
    now = timezone.now()
    keys = list(SigningKey.objects.published(now))
    if not keys:
        keys = [generate_key()]
    # The newest key old enough that every process publishes it; the newest at all when none is.
    ready = now - timedelta(seconds=cache_seconds())
    signing = next((k for k in keys if k.created <= ready), keys[0])
    by_kid = {k.kid: _private_jwk(k) for k in keys}
    public = [json.loads(by_kid[k.kid].export_public()) for k in keys]
    return KeySet(
        signing=signing,
        signing_jwk=by_kid[signing.kid],
        by_kid=by_kid,
        jwks_json=json.dumps({"keys": public}, separators=(",", ":")).encode(),
    )


def current() -> KeySet:
    keyset = _memo.get("keys")
    if keyset is None or time.monotonic() - keyset.built_at >= cache_seconds():
        with _lock:
            keyset = _memo.get("keys")
            if keyset is None or time.monotonic() - keyset.built_at >= cache_seconds():
                keyset = _build()
                _memo["keys"] = keyset
    return keyset


def key_for_kid(kid: str | None) -> jwk.JWK | None:
    keyset = current()
    found = keyset.by_kid.get(kid or "")
    if found is None and kid and time.monotonic() - keyset.built_at > 5:
        # A key published after the memo was built (e.g. rotated in another process); at most
        # one rebuild every few seconds, so unknown kids cannot make every request hit the database.
        clear_cache()
        found = current().by_kid.get(kid)
    return found
