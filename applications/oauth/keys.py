"""Signing keys: kept in the database, one live key per algorithm, rotated by `manage.py keys rotate`.

Every algorithm in ALGORITHMS always has an active (unretired) key: an application's ID tokens are
signed with the key of its algorithm (policies.id_token_algorithm), and the JWKS publishes the keys
of all of them. The memo build generates the key of any algorithm that has none (a new database,
or an upgrade from a deployment that had one algorithm). Such a key signs at once, having no
predecessor to sign while it propagates; after an upgrade the first request that needs keys makes
it, so it is normally published long before an application is switched to its algorithm.

Each algorithm's keys follow the rules below on their own: a rotation of one algorithm leaves the
others' keys alone. Signing and the JWKS document come from a per-process memo rebuilt at most
every c = LATCHKEY_KEY_CACHE_SECONDS. A rotation at time t runs like this:

- t: the new key is published (in this process at once, in every process by t + c);
- t + 2c: it starts signing. By then every process has listed it for c seconds, so a JWKS a
  relying party fetched and cached (max-age c) before the new key appeared has expired too;
- t + 3c at the latest: the old key signs its last token (a process whose memo was built just
  before t + 2c keeps it for c more seconds);
- published_until = t + 3c + the longest token lifetime + clock leeway: the old key leaves the JWKS;
- published_until + REFRESH_TOKEN_TTL_MAX: it stops verifying `id_token_hint` at logout. Expired
  ID tokens are accepted there (OIDC RP-Initiated Logout §2) and a relying party's session lasts
  as long as its refresh token, so the hint outlives the JWKS entry. Only we verify hints, so the
  key need not stay public for that.

Private keys are stored encrypted (Fernet) with a key derived from LATCHKEY_KEY_ENCRYPTION_KEY, or
SECRET_KEY when that is unset (config.encryption); SECRET_KEY and SECRET_KEY_FALLBACKS still decrypt, so setting the
dedicated key later or rotating SECRET_KEY the Django way keeps old rows readable.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone
from jwcrypto import jwk

from applications import policies
from applications.models import SigningKey
from config import encryption
from config.cache import CACHE_ERRORS
from identity import audit

log = logging.getLogger(__name__)

ALGORITHMS = tuple(SigningKey.Algorithm.values)
CLOCK_LEEWAY = timedelta(minutes=5)
# An unknown `kid` rebuilds the memo at most this often, so junk tokens cannot make every request
# hit the database.
MISS_REFRESH_SECONDS = 5
_PLAINTEXT_PREFIX = "-----BEGIN"  # rows written before encryption at rest
_ENCRYPTION_PURPOSE = "latchkey.signing-key"  # config.encryption
# A dependency that cannot answer (database connection or statement timeout, cache): the key set and
# discovery are served from their last good copy while it lasts.
UNREACHABLE_ERRORS = (OperationalError, InterfaceError, *CACHE_ERRORS)

_lock = threading.Lock()
_memo: dict[str, KeySet] = {}


@dataclass(frozen=True)
class Signer:
    """The key that signs now for one algorithm, with its decrypted private JWK."""

    key: SigningKey
    jwk: jwk.JWK

    @property
    def header(self) -> dict[str, str]:
        return {"typ": "JWT", "alg": self.key.algorithm, "kid": self.key.kid}


@dataclass(frozen=True)
class KeySet:
    signers: dict[str, Signer]  # one per algorithm in ALGORITHMS
    by_kid: dict[str, jwk.JWK]  # public keys that verify: the JWKS, plus retired keys for logout hints
    jwks_json: bytes
    built_at: float = field(default_factory=time.monotonic)

    def signer(self, algorithm: str) -> Signer:
        return self.signers[algorithm]


@dataclass(frozen=True)
class KeyStatus:
    key: SigningKey
    state: str  # "signing", "published" (not signing yet), "retired-published" or "retired"
    signs_from: datetime | None

    def as_dict(self) -> dict:
        """What operators see; never the private key."""

        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "kid": self.key.kid,
            "algorithm": self.key.algorithm,
            "created": iso(self.key.created),
            "state": self.state,
            "signs_from": iso(self.signs_from),
            "retired_at": iso(self.key.retired_at),
            "published_until": iso(self.key.published_until),
        }


# --- settings ------------------------------------------------------------------------------------


def cache_seconds() -> int:
    return int(getattr(settings, "LATCHKEY_KEY_CACHE_SECONDS", 60))


def propagation_delay() -> timedelta:
    """How long a new key is published before it signs (see the module docstring)."""
    return timedelta(seconds=2 * cache_seconds())


def retention() -> timedelta:
    """How long after retirement a key stays in the JWKS: until every token it signed has expired."""
    longest = max(policies.ID_TOKEN_TTL_MAX, policies.ACCESS_TOKEN_TTL_MAX)
    return timedelta(seconds=longest + 3 * cache_seconds()) + CLOCK_LEEWAY


def hint_retention() -> timedelta:
    """How long after leaving the JWKS a key still verifies an (expired) `id_token_hint` at logout."""
    return timedelta(seconds=policies.REFRESH_TOKEN_TTL_MAX)


# --- encryption at rest ----------------------------------------------------------------------------


def _encrypt(pem: bytes) -> str:
    return encryption.encrypt(pem, purpose=_ENCRYPTION_PURPOSE)


def _decrypt(stored: str) -> bytes:
    if stored.startswith(_PLAINTEXT_PREFIX):
        return stored.encode()
    return encryption.decrypt(stored, purpose=_ENCRYPTION_PURPOSE)


# --- writes ----------------------------------------------------------------------------------------


def generate_key(algorithm: str) -> SigningKey:
    if algorithm == SigningKey.Algorithm.ES256:
        key = jwk.JWK.generate(kty="EC", crv="P-256")
    elif algorithm == SigningKey.Algorithm.RS256:
        key = jwk.JWK.generate(kty="RSA", size=2048)
    else:
        raise ValueError(f"Unsupported signing algorithm {algorithm!r}; use RS256 or ES256.")
    return SigningKey.objects.create(
        kid=key.thumbprint(),
        algorithm=algorithm,
        private_key_pem=_encrypt(key.export_to_pem(private_key=True, password=None)),
    )


def signing_key_rotate(*, actor=None, algorithm: str | None = None) -> list[SigningKey]:
    """Retire the active keys of `algorithm` (of every algorithm when None) and add one new key for each.

    Retired keys stay in the JWKS until their tokens expire; other algorithms' keys are not touched.
    """
    algorithms = ALGORITHMS if algorithm is None else (algorithm,)
    if not set(algorithms) <= set(ALGORITHMS):
        raise ValueError(f"Unsupported signing algorithm {algorithm!r}; use {' or '.join(ALGORITHMS)}.")
    now = timezone.now()
    new_keys = []
    with transaction.atomic():
        for alg in algorithms:
            retired = SigningKey.objects.filter(algorithm=alg, retired_at__isnull=True).update(
                retired_at=now, published_until=now + retention()
            )
            key = generate_key(alg)
            audit.record(
                actor=actor,
                action="signing_key.rotated",
                target=key,
                after={"kid": key.kid, "algorithm": key.algorithm},
                extra={"retired_keys": {"old": None, "new": retired}},
            )
            new_keys.append(key)
            log.info("signing key rotated: new %s key %s, %d retired", key.algorithm, key.kid, retired)
    clear_cache()
    return new_keys


# --- reads -----------------------------------------------------------------------------------------


def _is_published(key: SigningKey, now: datetime) -> bool:
    return key.retired_at is None or (key.published_until is not None and key.published_until > now)


def _choose_signing(published: list[SigningKey], now: datetime) -> dict[str, SigningKey]:
    """Per algorithm, the newest key published long enough; the longest-published one when none is
    (a fresh install, or an algorithm new to this deployment). `published` is newest first."""
    ready = now - propagation_delay()
    chosen: dict[str, SigningKey] = {}
    for algorithm in ALGORITHMS:
        candidates = [k for k in published if k.algorithm == algorithm]
        if candidates:
            chosen[algorithm] = next((k for k in candidates if k.created <= ready), candidates[-1])
    return chosen


def signing_key_statuses(*, now: datetime | None = None) -> list[KeyStatus]:
    """Every key, newest first, with what it does now (what the memo would choose; no decryption)."""
    now = now or timezone.now()
    keys = list(SigningKey.objects.all())
    signing = set(_choose_signing([k for k in keys if _is_published(k, now)], now).values())
    statuses = []
    for key in keys:
        if key in signing:
            state = "signing"
        elif key.retired_at is None:
            state = "published"
        elif _is_published(key, now):
            state = "retired-published"
        else:
            state = "retired"
        signs_from = key.created + propagation_delay() if state == "published" else None
        statuses.append(KeyStatus(key=key, state=state, signs_from=signs_from))
    return statuses


def signing_problem(*, now: datetime | None = None) -> str | None:
    """Why this process could not sign, or None: for readiness probes, in one query, writing nothing.

    An algorithm without a live key is no problem: the first request that needs one generates it
    (`_build`), under this server's secret. A live key that no published key of its algorithm can
    stand in for, and that this server's LATCHKEY_KEY_ENCRYPTION_KEY / SECRET_KEY cannot decrypt, is:
    every token and JWKS request would fail.
    """
    now = now or timezone.now()
    published = SigningKey.objects.filter(Q(retired_at__isnull=True) | Q(published_until__gt=now))
    live, readable = set(), set()
    for algorithm, retired_at, stored in published.values_list("algorithm", "retired_at", "private_key_pem"):
        if retired_at is None:
            live.add(algorithm)
        if algorithm not in readable:
            try:
                _decrypt(stored)
            except InvalidToken:
                continue
            readable.add(algorithm)
    unreadable = [algorithm for algorithm in ALGORITHMS if algorithm in live and algorithm not in readable]
    if unreadable:
        return (
            f"{' and '.join(unreadable)} signing keys cannot be decrypted with this server's secret; "
            "restore LATCHKEY_KEY_ENCRYPTION_KEY / DJANGO_SECRET_KEY or run `manage.py keys rotate`"
        )
    return None


def clear_cache() -> None:
    _memo.clear()


def _private_jwk(key: SigningKey) -> jwk.JWK | None:
    try:
        private = jwk.JWK.from_pem(_decrypt(key.private_key_pem))
    except InvalidToken:
        log.error(
            "signing key %s cannot be decrypted: LATCHKEY_KEY_ENCRYPTION_KEY or SECRET_KEY changed; "
            "restore the old value (or list it in SECRET_KEY_FALLBACKS) or run `manage.py keys rotate`",
            key.kid,
        )
        return None
    private.update(kid=key.kid, alg=key.algorithm, use="sig")
    return private


def _build() -> tuple[KeySet, bool]:
    """The key set from the database, and whether a key had to be generated for it (an algorithm had none)."""
    now = timezone.now()
    verifiable = Q(retired_at__isnull=True) | Q(published_until__gt=now - hint_retention())
    keys = list(SigningKey.objects.filter(verifiable))
    active = {k.algorithm for k in keys if k.retired_at is None}
    missing = [algorithm for algorithm in ALGORITHMS if algorithm not in active]
    for algorithm in missing:
        keys.insert(0, generate_key(algorithm))
    private = {k.kid: _private_jwk(k) for k in keys}
    usable = [k for k in keys if private[k.kid] is not None]
    published = [k for k in usable if _is_published(k, now)]
    signing = _choose_signing(published, now)
    unusable = [algorithm for algorithm in ALGORITHMS if algorithm not in signing]
    if unusable:
        raise ImproperlyConfigured(
            f"No {' or '.join(unusable)} signing key can be decrypted. Restore LATCHKEY_KEY_ENCRYPTION_KEY / "
            "SECRET_KEY, or run `manage.py keys rotate` to add new keys."
        )
    public = {k.kid: jwk.JWK(**json.loads(private[k.kid].export_public())) for k in usable}
    keyset = KeySet(
        signers={algorithm: Signer(key=key, jwk=private[key.kid]) for algorithm, key in signing.items()},
        by_kid=public,
        jwks_json=json.dumps(
            {"keys": [public[k.kid].export_public(as_dict=True) for k in published]}, separators=(",", ":")
        ).encode(),
    )
    return keyset, bool(missing)


def _fresh(max_age: float) -> KeySet:
    keyset = _memo.get("keys")
    if keyset is not None and time.monotonic() - keyset.built_at < max_age:
        return keyset
    with _lock:  # one build per process at a time; the others use its result
        keyset = _memo.get("keys")
        if keyset is None or time.monotonic() - keyset.built_at >= max_age:
            try:
                keyset, generated = _build()
            except UNREACHABLE_ERRORS as error:
                if keyset is None:
                    raise
                # The keys in it were valid when it was built and rotation publishes ahead of signing.
                log.warning("signing keys not reloaded (%s): serving the last good copy", type(error).__name__)
                return keyset
            if generated:
                # Inside a transaction the new key may yet roll back: memoise it only once it is saved.
                _memo.pop("keys", None)
                transaction.on_commit(partial(_memo.__setitem__, "keys", keyset))
            else:
                _memo["keys"] = keyset
    return keyset


def current() -> KeySet:
    return _fresh(cache_seconds())


def key_for_kid(kid: str | None) -> jwk.JWK | None:
    """The public key that verifies tokens with this `kid`; None when there is none."""
    if not kid:
        return None
    found = current().by_kid.get(kid)
    if found is None:
        # Perhaps generated by another process since the memo was built.
        found = _fresh(min(MISS_REFRESH_SECONDS, cache_seconds())).by_kid.get(kid)
    return found
