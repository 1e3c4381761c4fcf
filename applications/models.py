"""OAuth clients (the swapped django-oauth-toolkit Application) and the scopes catalogue.

Every rule about what a valid Application looks like lives in `applications.policies`;
`Application.clean()` only asks it.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower
from oauth2_provider.models import AbstractApplication, AbstractGrant
from oauth2_provider.settings import oauth2_settings

from applications import policies

SCOPE_NAME_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9_.:/-]+$",
    "A scope name uses letters, digits and _ . : / - (no spaces), e.g. stream:live.",
)


class SigningAlgorithm(models.TextChoices):
    """Algorithms that sign ID tokens and JWT access tokens; each keeps its own live key (applications.oauth.keys)."""

    RS256 = "RS256", "RSA 2048 with SHA-256"
    ES256 = "ES256", "ECDSA P-256 with SHA-256"


class AccessTokenFormat(models.TextChoices):
    """What an API resource's access tokens are (README, "Tokens for APIs")."""

    OPAQUE = "opaque", "Opaque: a random value the API checks by introspection"
    JWT = "jwt", "JWT (RFC 9068): signed, the API verifies it with the JWKS alone"


class ApiResource(models.Model):
    """An API that access tokens are issued for; its identifier is the token audience."""

    TokenFormat = AccessTokenFormat

    identifier = models.CharField(
        max_length=255,
        unique=True,
        help_text="Absolute URI naming the API, used as the access-token audience "
        "(e.g. https://api.example.com). Cannot contain a fragment.",
    )
    name = models.CharField(max_length=255)
    access_token_format = models.CharField(
        max_length=6,
        choices=AccessTokenFormat.choices,
        default=AccessTokenFormat.OPAQUE,
        help_text="Opaque tokens are stored and checked by introspection; JWTs are verified by the API with "
        "the JWKS and need no database row, but reach revocation only through introspection and userinfo.",
    )
    access_token_ttl = models.PositiveIntegerField(
        "access token lifetime (s)",
        null=True,
        blank=True,
        validators=[MinValueValidator(policies.ACCESS_TOKEN_TTL_MIN), MaxValueValidator(policies.ACCESS_TOKEN_TTL_MAX)],
        help_text="Caps the lifetime of tokens for this API (the shorter of this and the client's wins). "
        "Blank: the client's own.",
    )
    signing_alg = models.CharField(
        "JWT signing algorithm",
        max_length=5,
        choices=SigningAlgorithm.choices,
        default=SigningAlgorithm.ES256,
        help_text="Signs this API's JWT access tokens; unused for opaque tokens.",
    )
    introspecting_client = models.ForeignKey(
        "applications.Application",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="introspected_resources",
        help_text="The API's own (confidential) client: it may introspect every token issued for this API, "
        "user tokens included.",
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "API resource"

    def __str__(self) -> str:
        return f"{self.name} ({self.identifier})"

    def clean(self) -> None:
        policies.raise_errors(
            policies.api_resource_errors(
                identifier=self.identifier,
                access_token_format=self.access_token_format,
                access_token_ttl=self.access_token_ttl,
                signing_alg=self.signing_alg,
                introspecting_client=self.introspecting_client,
            )
        )

    def clean_fields(self, exclude=None) -> None:
        # policies.api_resource_errors reports these, naming what is allowed; the fields' own checks would repeat it.
        super().clean_fields(exclude={*(exclude or ()), "access_token_format", "access_token_ttl", "signing_alg"})

    @property
    def issues_jwt(self) -> bool:
        return self.access_token_format == AccessTokenFormat.JWT


class ScopeQuerySet(models.QuerySet):
    def standard(self) -> ScopeQuerySet:
        return self.filter(resource__isnull=True)


class Scope(models.Model):
    """One entry of the scopes catalogue that applications and roles pick from.

    Standard OpenID Connect scopes have no resource; custom scopes belong to an API resource.
    """

    name = models.CharField(max_length=100, unique=True, validators=[SCOPE_NAME_VALIDATOR])
    description = models.CharField(
        max_length=255, help_text="Shown to users on the consent screen, e.g. 'Watch live streams'."
    )
    resource = models.ForeignKey(ApiResource, on_delete=models.CASCADE, null=True, blank=True, related_name="scopes")

    objects = ScopeQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_standard(self) -> bool:
        return self.resource_id is None


class Application(AbstractApplication):
    """A platform of the organisation that signs users in (or calls APIs) through Latchkey.

    django-oauth-toolkit's `client_type` and `authorization_grant_type` are derived from
    `type` on save; nothing else sets them. Redirect URIs, post-logout URIs and CORS origins
    keep django-oauth-toolkit's space-separated storage, which its protocol code reads.
    """

    Type = policies.ApplicationType
    # Set by Latchkey itself (from `type`, or by secret issuing), never entered: skipped by full_clean.
    DERIVED_FIELDS = ("client_secret", "hash_client_secret", "client_type", "authorization_grant_type")

    type = models.CharField(max_length=8, choices=Type.choices)
    description = models.TextField(blank=True, help_text="Shown on the consent screen.")
    allowed_scopes = models.ManyToManyField(
        Scope,
        related_name="applications",
        blank=True,
        help_text="Scopes this application may request; a request for any other scope gets invalid_scope.",
    )
    pkce_required = models.BooleanField(
        "require PKCE",
        default=False,
        help_text="Web apps only: require PKCE (S256) on every authorization. SPA and native apps always do.",
    )
    access_token_ttl = models.PositiveIntegerField(
        "access token lifetime (s)",
        default=policies.DEFAULT_ACCESS_TOKEN_TTL,
        validators=[MinValueValidator(policies.ACCESS_TOKEN_TTL_MIN), MaxValueValidator(policies.ACCESS_TOKEN_TTL_MAX)],
    )
    refresh_token_ttl = models.PositiveIntegerField(
        "refresh token lifetime (s)",
        default=policies.DEFAULT_REFRESH_TOKEN_TTL,
        validators=[
            MinValueValidator(policies.REFRESH_TOKEN_TTL_MIN),
            MaxValueValidator(policies.REFRESH_TOKEN_TTL_MAX),
        ],
    )
    id_token_ttl = models.PositiveIntegerField(
        "ID token lifetime (s)",
        default=policies.DEFAULT_ID_TOKEN_TTL,
        validators=[MinValueValidator(policies.ID_TOKEN_TTL_MIN), MaxValueValidator(policies.ID_TOKEN_TTL_MAX)],
    )
    # django-oauth-toolkit's `algorithm` column with our choices: never HS256, which signs with the
    # client secret (ours is stored only as a hash). Read through policies.id_token_algorithm.
    algorithm = models.CharField(
        "ID token signing algorithm",
        max_length=5,
        choices=[
            ("", "Deployment default (LATCHKEY_SIGNING_ALGORITHM)"),
            *[(value, f"{value}: {label}") for value, label in SigningAlgorithm.choices],
        ],
        blank=True,
        default="",
        help_text="Blank: the deployment's LATCHKEY_SIGNING_ALGORITHM. ES256 signs about 5x faster than RS256, "
        "but the relying party must support it.",
    )
    refresh_token_rotation = models.BooleanField(
        default=True,
        help_text="Issue a new refresh token on every refresh; reuse of an old one revokes the whole grant.",
    )
    auth_methods = models.JSONField(
        "sign-in methods",
        default=policies.default_auth_methods,
        blank=True,
        help_text='Sign-in methods this application accepts: "password" and its providers\' ids. '
        "Empty: every method it has enabled (password and its enabled providers).",
    )
    required_roles = models.ManyToManyField(
        "identity.Role",
        related_name="gated_applications",
        blank=True,
        help_text="Users must hold every one of these roles to sign in. Empty: all users.",
    )
    # Access by organisation (issue 19): null, no rule; otherwise only members of an organisation sign
    # in: {"organizations": [slugs] (empty: any organisation), "roles": [organisation role names]
    # (empty: any member; otherwise one of them, held in such an organisation)}. policies.access_allowed.
    organization_access = models.JSONField(
        "organisation access",
        null=True,
        blank=True,
        default=None,
        help_text='Null: no rule. {"organizations": [slugs], "roles": [role names]}: only members of those '
        "organisations (empty: any) holding one of those organisation roles (empty: any) sign in.",
    )
    m2m_roles = models.ManyToManyField(
        "identity.Role",
        related_name="machine_applications",
        blank=True,
        verbose_name="machine-to-machine roles",
        help_text="M2M apps only: the scopes of these roles bound its client-credentials tokens.",
    )
    trusted = models.BooleanField(default=False, help_text="First-party application: users are not asked for consent.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_applications",
        help_text="Who is responsible for this registration.",
    )
    is_active = models.BooleanField(
        "active",
        default=True,
        help_text="Inactive applications cannot sign users in and their tokens stop working.",
    )
    client_secret_last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="applications_application_name_ci_unique",
                violation_error_message="An application with this name already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.client_id

    def natural_key(self) -> tuple[str]:
        return (self.client_id,)

    # -- lists kept in django-oauth-toolkit's space-separated columns --
    @property
    def redirect_uri_list(self) -> list[str]:
        return self.redirect_uris.split()

    @property
    def post_logout_redirect_uri_list(self) -> list[str]:
        return self.post_logout_redirect_uris.split()

    @property
    def cors_origin_list(self) -> list[str]:
        return self.allowed_origins.split()

    @property
    def rule(self) -> policies.TypeRule:
        return policies.TYPE_RULES[self.Type(self.type)]

    @property
    def is_confidential(self) -> bool:
        return self.rule.confidential

    @property
    def id_token_signed_response_alg(self) -> str | None:
        """`algorithm` as the API, config files and audit show it: null for the deployment default."""
        return self.algorithm or None

    def clean(self) -> None:
        # Replaces django-oauth-toolkit's clean(): our policies are stricter and type-aware.
        policies.raise_errors(policies.application_errors(self))

    def save(self, *args, **kwargs) -> None:
        if self.type:
            self.client_type, self.authorization_grant_type = policies.dot_client_fields(self.type)
        super().save(*args, **kwargs)

    def redirect_uri_allowed(self, uri: str) -> bool:
        return policies.redirect_uri_matches(self, uri, self.redirect_uri_list)

    def post_logout_redirect_uri_allowed(self, uri: str) -> bool:
        return policies.redirect_uri_matches(self, uri, self.post_logout_redirect_uri_list)

    def allows_grant_type(self, *grant_types: str) -> bool:
        return any(grant in self.rule.grants for grant in grant_types)

    def is_usable(self, request) -> bool:
        return self.is_active

    def get_allowed_schemes(self) -> list[str]:
        return policies.allowed_redirect_schemes(self)

    def clean_fields(self, exclude=None) -> None:
        # policies.application_errors reports a bad `algorithm`, naming the ones allowed; the
        # field's own choices check would only repeat it, less clearly.
        super().clean_fields(exclude={*(exclude or ()), "algorithm"})

    def validate_constraints(self, exclude=None) -> None:
        # The case-insensitive name rule is reported on `name` by policies.application_errors;
        # the constraint stays as the database's backstop against a race.
        super().validate_constraints(exclude={*(exclude or ()), "name"})


class PreviousClientSecret(models.Model):
    """A rotated-out client secret that still works until `expires_at` (the grace period)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="previous_secrets")
    secret_hash = models.CharField(max_length=255)
    retired_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-retired_at"]

    def __str__(self) -> str:
        return f"previous secret of {self.application} (until {self.expires_at:%Y-%m-%d %H:%M} UTC)"


class Grant(AbstractGrant):
    """An authorization code, swapped in to remember when the user actually signed in.

    OIDC's `auth_time` must come from the sign-in that produced the code, not `last_login`.
    """

    auth_time = models.DateTimeField(null=True, blank=True)
    # The ID token's `amr` values, space-separated (applications.oauth.claims.amr_for): how that
    # sign-in was made. Blank for codes issued before it was recorded (their ID tokens carry no amr).
    amr = models.CharField(max_length=64, blank=True, default="")
    # A code is marked redeemed instead of deleted, so a second redemption is recognised and the
    # tokens issued from the first are revoked (RFC 6749 §4.1.2). cleartokens removes old rows.
    redeemed_at = models.DateTimeField(null=True, blank=True)
    # No database constraint: deleting an access token (every refresh does) must not cost an
    # extra UPDATE here; a dangling id simply matches nothing when a replay revokes it.
    access_token = models.ForeignKey(
        oauth2_settings.ACCESS_TOKEN_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        help_text="The access token issued when the code was redeemed.",
    )
    # Indexed: every refresh reads its family's auth_time here, and cleartokens keeps a redeemed
    # code as long as its family lives, so the table is as large as the live refresh families.
    token_family = models.UUIDField(
        null=True, blank=True, db_index=True, help_text="Refresh-token family started by this code."
    )
    # The organisation the person signed in as a member of (scope `organization`): its public id.
    # No foreign key: the token tables do not depend on the organisations app, and a deleted
    # organisation simply matches no membership, so its families stop refreshing.
    organization_id = models.UUIDField(
        null=True, blank=True, help_text="The current organisation of this sign-in (its public id), if any."
    )
    # The sign-in session that issued the code (identity.auth_time's random id, never the session key):
    # ending that session revokes this code's tokens and its refresh family. Read by user, so no index.
    sign_in_id = models.CharField(
        max_length=32, blank=True, default="", help_text="The sign-in session that issued this code."
    )

    class Meta(AbstractGrant.Meta):
        swappable = "OAUTH2_PROVIDER_GRANT_MODEL"


class SigningKeyQuerySet(models.QuerySet):
    def published(self, now=None) -> SigningKeyQuerySet:
        """Keys in the JWKS: the active ones, and retired ones until tokens they signed expire."""
        from django.utils import timezone

        now = now or timezone.now()
        return self.filter(models.Q(retired_at__isnull=True) | models.Q(published_until__gt=now))


class SigningKey(models.Model):
    """A key that signs ID tokens. Per algorithm, the newest unretired one signs; all published ones verify."""

    Algorithm = SigningAlgorithm

    kid = models.CharField("key ID", max_length=64, unique=True)
    algorithm = models.CharField(max_length=5, choices=Algorithm.choices, default=Algorithm.RS256)
    private_key_pem = models.TextField(editable=False)
    created = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    published_until = models.DateTimeField(
        null=True, blank=True, help_text="A retired key stays in the JWKS until tokens it signed have expired."
    )

    objects = SigningKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        state = "active" if self.retired_at is None else f"retired {self.retired_at:%Y-%m-%d}"
        return f"{self.algorithm} {self.kid} ({state})"


class TokenRevocation(models.Model):
    """A not-before entry: tokens of `subject` at `client_id` issued up to `revoked_at` are revoked.

    A JWT access token has no row to delete, so every revocation service writes one of these
    (applications.oauth.revocations) and introspection and userinfo refuse a JWT an entry covers.
    A blank `subject` or `client_id` means any. Once `expires_at` (revoked_at plus the longest
    access-token lifetime) has passed, no token the entry covers is alive, and cleartokens deletes it.
    """

    subject = models.CharField(max_length=255, blank=True, help_text="The user's public id (sub); blank for any.")
    client_id = models.CharField(max_length=100, blank=True, help_text="The application's client_id; blank for any.")
    revoked_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    reason = models.CharField(max_length=64)

    class Meta:
        ordering = ["-revoked_at"]
        indexes = [
            # token_revoked: (subject, client_id), (subject, "") and ("", client_id), newest first.
            models.Index(fields=["subject", "client_id", "-revoked_at"], name="applications_notbefore_lookup"),
            models.Index(fields=["expires_at"], name="applications_notbefore_expiry"),
        ]

    def __str__(self) -> str:
        return f"not before {self.revoked_at:%Y-%m-%d %H:%M:%S} UTC: {self.subject or '*'} at {self.client_id or '*'}"
