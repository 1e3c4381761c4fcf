"""Encryption at rest of the secrets Latchkey must read back (signing keys, sign-in provider secrets).

Fernet with keys derived from LATCHKEY_KEY_ENCRYPTION_KEY, or SECRET_KEY when that is unset;
SECRET_KEY and SECRET_KEY_FALLBACKS still decrypt (MultiFernet), so setting the dedicated key later
or rotating SECRET_KEY the Django way keeps old rows readable. Each kind of secret has its own
`purpose`, which salts the derivation: a value encrypted for one purpose does not decrypt as another.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac

__all__ = ["InvalidToken", "decrypt", "encrypt", "fernet"]


def fernet(purpose: str) -> MultiFernet:
    """Encrypts with the first key (the dedicated one if set); decrypts with any of them."""
    primary = getattr(settings, "LATCHKEY_KEY_ENCRYPTION_KEY", "") or settings.SECRET_KEY
    secrets = dict.fromkeys(s for s in (primary, settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS) if s)
    return MultiFernet(
        [
            Fernet(base64.urlsafe_b64encode(salted_hmac(purpose, "", secret=s, algorithm="sha256").digest()))
            for s in secrets
        ]
    )


def encrypt(plaintext: bytes, *, purpose: str) -> str:
    return fernet(purpose).encrypt(plaintext).decode()


def decrypt(stored: str, *, purpose: str) -> bytes:
    """Raises InvalidToken when no key this server knows encrypted it."""
    return fernet(purpose).decrypt(stored.encode())
