"""Organisations, their members, the deployment's organisation roles and invitations to join.

An organisation's `public_id` is the id applications see (the later `organization_id` claim) and
the management API's lookup; the database id never leaves the server. Writes go through
identity.organizations.services, reads through identity.organizations.selectors.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from branding.models import COLOUR_VALIDATOR, logo_url_error
from identity.models import ROLE_NAME_VALIDATOR, normalize_email
from identity.organizations.constants import GRANTABLE_SCOPES

SLUG_VALIDATOR = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$",
    "Use lowercase letters, digits and hyphens, starting and ending with a letter or digit (for example acme-eu).",
)
DOMAIN_VALIDATOR = RegexValidator(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
    "Use an email domain such as example.com (no @, no scheme).",
)


def normalize_domain(domain: str) -> str:
    return (domain or "").strip().lower().lstrip("@")


def invitation_expiry() -> datetime:
    return timezone.now() + timedelta(days=settings.LATCHKEY_ORGANIZATION_INVITATION_TTL_DAYS)


class OrganizationRole(models.Model):
    """A role a member holds in an organisation (e.g. `admin`, `billing`), defined once for the deployment.

    `scopes` are the organisation scopes it grants (constants.GRANTABLE_SCOPES).
    """

    name = models.CharField(
        max_length=100,
        unique=True,
        validators=[ROLE_NAME_VALIDATOR],
        error_messages={"unique": "An organisation role with this name already exists."},
    )
    description = models.TextField(blank=True)
    scopes = models.JSONField(
        default=list, blank=True, help_text=f"Organisation scopes it grants: any of {', '.join(GRANTABLE_SCOPES)}."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "organisation role"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        scopes = self.scopes if isinstance(self.scopes, list) else None
        if scopes is None or not all(isinstance(s, str) for s in scopes):
            raise ValidationError({"scopes": "Give a list of scope names."})
        unknown = sorted({s for s in scopes if s not in GRANTABLE_SCOPES})
        if unknown:
            raise ValidationError(
                {"scopes": f"Not an organisation scope: {', '.join(unknown)} (use {', '.join(GRANTABLE_SCOPES)})."}
            )
        self.scopes = sorted(set(scopes))


class Organization(models.Model):
    """A customer company or team whose members sign in as members of it."""

    public_id = models.UUIDField(
        "public ID",
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text="The organisation's id in the API and, later, in tokens (organization_id).",
    )
    name = models.CharField(
        max_length=200,
        unique=True,
        error_messages={"unique": "An organisation with this name already exists."},
    )
    slug = models.CharField(
        max_length=50,
        unique=True,
        validators=[SLUG_VALIDATOR],
        error_messages={"unique": "An organisation with this slug already exists."},
    )
    description = models.TextField(blank=True)
    # Branding that overrides the application's on pages shown in this organisation's context.
    logo_url = models.URLField("logo URL", max_length=500, blank=True, help_text="https URL of a square logo.")
    primary_color = models.CharField(max_length=7, blank=True, validators=[COLOUR_VALIDATOR], help_text="#RRGGBB")
    secondary_color = models.CharField(max_length=7, blank=True, validators=[COLOUR_VALIDATOR], help_text="#RRGGBB")
    # Just-in-time membership: a person with a verified address at one of these domains becomes a member.
    jit_email_domains = models.JSONField(
        "JIT email domains",
        default=list,
        blank=True,
        help_text="People with a verified email address at one of these domains join automatically.",
    )
    # Its own sign-in (issue 19, item 6): members signing in to an application as this organisation must
    # sign in with its OpenID Connect provider (the application offers it as one of its sign-in providers),
    # and the sign-in page sends addresses at `sign_in_domains` straight there (identity.organizations.sign_in).
    sign_in_issuer = models.URLField(
        "sign-in issuer",
        max_length=500,
        blank=True,
        help_text="Issuer of the organisation's OpenID Connect provider; members sign in there. Blank: any method.",
    )
    sign_in_domains = models.JSONField(
        default=list,
        blank=True,
        help_text="Email domains whose addresses the sign-in page sends to the organisation's provider.",
    )
    jit_roles = models.ManyToManyField(
        OrganizationRole,
        related_name="jit_organizations",
        blank=True,
        verbose_name="JIT roles",
        help_text="The roles a member who joined by email domain gets.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "organisation"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if self.logo_url and (problem := logo_url_error(self.logo_url)):
            errors["logo_url"] = [problem]
        self.primary_color = (self.primary_color or "").upper()
        self.secondary_color = (self.secondary_color or "").upper()
        for field in ("jit_email_domains", "sign_in_domains"):
            domains, problem = _domains(getattr(self, field))
            if problem:
                errors[field] = [problem]
            else:
                setattr(self, field, domains)
        if self.sign_in_domains and not self.sign_in_issuer and "sign_in_domains" not in errors:
            errors["sign_in_domains"] = ["Set the sign-in issuer these addresses are sent to."]
        if self.sign_in_issuer and not self.sign_in_issuer.startswith("https://"):
            errors["sign_in_issuer"] = ["Give the provider's https issuer URL."]
        if errors:
            raise ValidationError(errors)


def _is_domain(domain: str) -> bool:
    try:
        DOMAIN_VALIDATOR(domain)
    except ValidationError:
        return False
    return True


def _domains(value: object) -> tuple[list[str], str | None]:
    """A list of email domains, normalised, sorted and without repeats; or what is wrong with it."""
    if not isinstance(value, list) or not all(isinstance(d, str) for d in value):
        return [], "Give a list of email domains."
    normalized = [normalize_domain(d) for d in value]
    if bad := [domain for domain in normalized if not _is_domain(domain)]:
        return [], f"Not an email domain: {', '.join(bad)}."
    return sorted(set(normalized)), None


class Membership(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="organization_memberships"
    )
    roles = models.ManyToManyField(OrganizationRole, related_name="memberships", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization_id", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="organizations_one_membership_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization}"


class InvitationQuerySet(models.QuerySet):
    def pending(self) -> InvitationQuerySet:
        """Neither accepted, revoked nor expired: the ones whose link still works."""
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())


class Invitation(models.Model):
    """An emailed, single-use link to join an organisation, accepted only by the invited, verified address.

    Only the SHA-256 of the token is stored (identity.organizations.invitations); the link is shown once.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        REVOKED = "revoked"
        EXPIRED = "expired"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    roles = models.ManyToManyField(OrganizationRole, related_name="invitations", blank=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=invitation_expiry)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "organisation invitation"

    def __str__(self) -> str:
        return f"{self.email} to {self.organization}"

    def clean(self) -> None:
        self.email = normalize_email(self.email)

    @property
    def status(self) -> str:
        if self.accepted_at is not None:
            return self.Status.ACCEPTED
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.PENDING
