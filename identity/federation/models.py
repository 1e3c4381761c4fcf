"""A sign-in provider of an application: another identity provider people may sign in with.

The application's own credentials at that provider are stored here, secrets encrypted at rest
(config.encryption); allauth's SocialApp (plain text) is never saved. The rules a provider follows
live in identity.federation.policies; writes go through identity.federation.services.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from config import encryption

ENCRYPTION_PURPOSE = "latchkey.provider-secret"


class Provider(models.Model):
    class Type(models.TextChoices):
        GOOGLE = "google", "Google"
        GITHUB = "github", "GitHub"
        MICROSOFT = "microsoft", "Microsoft"
        APPLE = "apple", "Apple"
        DISCORD = "discord", "Discord"
        OIDC = "oidc", "OpenID Connect"

    application = models.ForeignKey("applications.Application", on_delete=models.CASCADE, related_name="providers")
    type = models.CharField(max_length=16, choices=Type.choices)
    client_id = models.CharField(max_length=255)
    # Fernet tokens (config.encryption), never the secret itself; "" when not set.
    client_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    # Apple signs its client secret itself from these (Sign in with Apple's team, key id and .p8 key).
    team_id = models.CharField(max_length=64, blank=True, default="")
    key_id = models.CharField(max_length=64, blank=True, default="")
    private_key_encrypted = models.TextField(blank=True, default="", editable=False)
    # Generic OpenID Connect: the issuer (its discovery document is at issuer + DISCOVERY_PATH), the
    # name on its sign-in button, and which upstream claims give sub/email/email_verified/name/picture.
    issuer = models.CharField(max_length=500, blank=True, default="")
    display_name = models.CharField(max_length=100, blank=True, default="")
    claim_mapping = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["application_id", "type", "pk"]
        constraints = [
            # Backstops of policies.provider_errors (a race between two writers meets these).
            models.UniqueConstraint(
                fields=["application", "type"], condition=~Q(type="oidc"), name="federation_one_provider_per_type"
            ),
            models.UniqueConstraint(
                fields=["application", "issuer"], condition=Q(type="oidc"), name="federation_one_oidc_per_issuer"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """What the sign-in button and the admin call it."""
        if self.type == self.Type.OIDC:
            return self.display_name or self.issuer
        return self.get_type_display()

    # --- secrets: write-only outside this model ------------------------------------------------------

    @property
    def client_secret_set(self) -> bool:
        return bool(self.client_secret_encrypted)

    @property
    def private_key_set(self) -> bool:
        return bool(self.private_key_encrypted)

    def set_client_secret(self, plaintext: str) -> None:
        self.client_secret_encrypted = encryption.encrypt(plaintext.encode(), purpose=ENCRYPTION_PURPOSE)

    def set_private_key(self, plaintext: str) -> None:
        self.private_key_encrypted = encryption.encrypt(plaintext.encode(), purpose=ENCRYPTION_PURPOSE)

    def client_secret(self) -> str:
        """The plaintext, for the sign-in engine only (a method, so no template or serializer reads it by name)."""
        if not self.client_secret_encrypted:
            return ""
        return encryption.decrypt(self.client_secret_encrypted, purpose=ENCRYPTION_PURPOSE).decode()

    def private_key(self) -> str:
        if not self.private_key_encrypted:
            return ""
        return encryption.decrypt(self.private_key_encrypted, purpose=ENCRYPTION_PURPOSE).decode()
