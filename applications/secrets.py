"""Everything about client secrets: generation, hashing, verification and rotation.

A client secret carries 256 bits from `secrets`, so it cannot be guessed or brute-forced
from its hash; a slow password hash (about 450 ms with PBKDF2) would only slow every token
request. It is stored as a salted HMAC-SHA256 through django-oauth-toolkit's
CLIENT_SECRET_HASHER and compared in constant time. The plaintext exists only in the
response that creates or rotates it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from django.contrib.auth.hashers import BasePasswordHasher, check_password, make_password
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from oauth2_provider.settings import oauth2_settings

if TYPE_CHECKING:
    from applications.models import Application

SECRET_BYTES = 32  # 256 bits
# Recording "last used" on every token request would be a write on the hot path; a minute's
# precision is plenty to tell whether an old secret is still in use.
LAST_USED_PRECISION = timedelta(minutes=1)


class ClientSecretHasher(BasePasswordHasher):
    """Salted HMAC-SHA256 for high-entropy generated secrets. Never for user passwords."""

    algorithm = "latchkey_hmac_sha256"

    def salt(self) -> str:
        return secrets.token_hex(16)

    def encode(self, password: str, salt: str) -> str:
        self._check_encode_args(password, salt)
        digest = hmac.new(salt.encode(), password.encode(), hashlib.sha256).hexdigest()
        return f"{self.algorithm}${salt}${digest}"

    def decode(self, encoded: str) -> dict[str, str]:
        algorithm, salt, digest = encoded.split("$", 2)
        assert algorithm == self.algorithm
        return {"algorithm": algorithm, "hash": digest, "salt": salt}

    def verify(self, password: str, encoded: str) -> bool:
        try:
            decoded = self.decode(encoded)
        except (ValueError, AssertionError):
            return False
        return constant_time_compare(encoded, self.encode(password, decoded["salt"]))

    def safe_summary(self, encoded: str) -> dict[str, str]:
        decoded = self.decode(encoded)
        return {"algorithm": decoded["algorithm"], "salt": decoded["salt"][:4] + "…", "hash": decoded["hash"][:6] + "…"}

    def must_update(self, encoded: str) -> bool:
        return False

    def harden_runtime(self, password: str, encoded: str) -> None:
        """Nothing to harden: the cost is constant and tiny by design."""


def generate_client_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def hash_client_secret(plaintext: str) -> str:
    return make_password(plaintext, hasher=oauth2_settings.CLIENT_SECRET_HASHER)


def issue_client_secret(application: Application) -> str | None:
    """Give an unsaved or saved application a fresh secret; return the plaintext once.

    Public types get no secret at all: an empty column, never the hash of "".
    """
    if not application.is_confidential:
        application.client_secret = ""
        application.hash_client_secret = False
        return None
    plaintext = generate_client_secret()
    application.client_secret = hash_client_secret(plaintext)
    application.hash_client_secret = True
    application.client_secret_last_used_at = None
    return plaintext


def rotate_client_secret(application: Application, *, grace_period_seconds: int = 0) -> str:
    """Replace the secret. With a grace period the old one keeps working until it ends.

    Without one, the old secret and any earlier ones still in grace stop at once: an immediate
    rotation is what an admin does when a secret leaked.
    """
    from applications.models import PreviousClientSecret

    now = timezone.now()
    if grace_period_seconds > 0 and application.client_secret:
        PreviousClientSecret.objects.create(
            application=application,
            secret_hash=application.client_secret,
            expires_at=now + timedelta(seconds=grace_period_seconds),
            last_used_at=application.client_secret_last_used_at,
        )
    else:
        application.previous_secrets.all().delete()
    plaintext = issue_client_secret(application)
    application.save(update_fields=["client_secret", "hash_client_secret", "client_secret_last_used_at", "updated"])
    return plaintext


def verify_client_secret(application: Application, provided: str) -> bool:
    """True when `provided` is the current secret or one still inside its grace period.

    Records when the matching secret was last used (to the minute).
    """
    if not application.is_confidential or not provided or not application.client_secret:
        return False
    now = timezone.now()
    if check_password(provided, application.client_secret):
        if _stale(application.client_secret_last_used_at, now):
            type(application).objects.filter(pk=application.pk).update(client_secret_last_used_at=now)
            application.client_secret_last_used_at = now
        return True
    for previous in application.previous_secrets.filter(expires_at__gt=now):
        if check_password(provided, previous.secret_hash):
            if _stale(previous.last_used_at, now):
                type(previous).objects.filter(pk=previous.pk).update(last_used_at=now)
            return True
    return False


def _stale(last_used_at, now) -> bool:
    return last_used_at is None or now - last_used_at >= LAST_USED_PRECISION
