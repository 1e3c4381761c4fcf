"""Users, roles and who holds which role.

The user's `public_id` is the stable OIDC `sub`: the database id never leaves the server.
"""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

ROLE_NAME_VALIDATOR = RegexValidator(
    r"^[a-z0-9][a-z0-9_.:-]*$",
    "Use lowercase letters, digits and . _ : - (for example latchkey:admin).",
)


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username: str) -> User:
        return self.get(email__iexact=username)

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in. Email is the login and is unique case-insensitively."""

    public_id = models.UUIDField(
        "public ID",
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text="Stable identifier given to applications as the OIDC subject (sub).",
    )
    email = models.EmailField(
        "email address",
        max_length=254,
        unique=True,
        error_messages={"unique": "A user with this email already exists."},
        help_text="The sign-in name; stored lowercased so it is unique case-insensitively.",
    )
    email_verified = models.BooleanField(default=False)
    name = models.CharField(max_length=255, blank=True)
    given_name = models.CharField(max_length=150, blank=True)
    family_name = models.CharField(max_length=150, blank=True)
    picture = models.URLField("picture URL", max_length=500, blank=True)
    phone_number = models.CharField(
        max_length=32,
        blank=True,
        validators=[RegexValidator(r"^\+[1-9][0-9]{6,14}$", "Use E.164 format, e.g. +447700900123.")],
    )
    phone_number_verified = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField("staff status", default=False, help_text="Can sign in to the admin console.")
    date_joined = models.DateTimeField(default=timezone.now)
    roles = models.ManyToManyField("identity.Role", through="identity.RoleAssignment", related_name="users", blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)

    def save(self, *args, **kwargs) -> None:
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return self.name or " ".join(p for p in (self.given_name, self.family_name) if p)

    def get_short_name(self) -> str:
        return self.given_name or self.email


class Role(models.Model):
    """A named set of permissions, e.g. `latchkey:admin`.

    Users hold roles (checked by an application's access control); an `m2m` application's
    roles bound the scopes its client-credentials tokens may carry.
    """

    name = models.CharField(max_length=100, unique=True, validators=[ROLE_NAME_VALIDATOR])
    description = models.TextField(blank=True)
    scopes = models.ManyToManyField(
        "applications.Scope",
        related_name="roles",
        blank=True,
        help_text="Scopes this role grants to machine-to-machine applications that hold it.",
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RoleAssignment(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="assignments")
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="identity_roleassignment_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.role}"


class AuditEvent(models.Model):
    """One write to Latchkey's configuration: who made it, what it changed, when.

    Written in the same transaction as the change it records. Actor and target are copied as text,
    not foreign keys, so the record outlives the user, client or object it names and never changes.
    """

    class ActorType(models.TextChoices):
        USER = "user", "user"
        CLIENT = "client", "client (management API token)"
        SYSTEM = "system", "system (manage.py or Latchkey itself)"

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    actor_type = models.CharField(max_length=8, choices=ActorType.choices, editable=False)
    actor_id = models.CharField(
        max_length=100, blank=True, editable=False, help_text="The user's public ID or the client's client_id."
    )
    actor_label = models.CharField(max_length=255, blank=True, editable=False)
    action = models.CharField(max_length=64, db_index=True, editable=False)
    target_type = models.CharField(max_length=32, editable=False)
    target_id = models.CharField(max_length=255, editable=False)
    target_label = models.CharField(max_length=255, blank=True, editable=False)
    changes = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="identity_audit_target"),
            models.Index(fields=["actor_type", "actor_id"], name="identity_audit_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_label or self.actor_type} {self.action}"
