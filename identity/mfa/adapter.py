"""Our seam into allauth.mfa: TOTP secrets and recovery-code seeds are encrypted at rest."""

from __future__ import annotations

from allauth.mfa.adapter import DefaultMFAAdapter

from config.encryption import decrypt, encrypt

ENCRYPTION_PURPOSE = "latchkey.mfa.secret"


class MFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        """allauth stores what this returns; without it, a database copy would hold every TOTP secret."""
        return encrypt(text.encode(), purpose=ENCRYPTION_PURPOSE)

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt(encrypted_text, purpose=ENCRYPTION_PURPOSE).decode()
