"""Parse and render applications for the management API; every rule lives in the services and policies.

Write serializers only turn JSON into Python types (lists stay lists, names stay names); what
values are acceptable is decided once, by applications.services. The read serializer renders
applications.selectors.application_as_dict, the same description the commands print.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema_field
from rest_framework import serializers

from applications import policies
from applications.models import SigningAlgorithm
from applications.selectors import application_as_dict

TYPE_CHOICES = policies.ApplicationType.choices
ALGORITHM_HELP = (
    "Algorithm that signs this application's ID tokens (OIDC Dynamic Client Registration's "
    "id_token_signed_response_alg). null: the deployment's LATCHKEY_SIGNING_ALGORITHM. ES256 signs about "
    "5x faster than RS256, but the relying party must support it."
)


class StrictSerializer(serializers.Serializer):
    """Unknown keys are a 400 naming them, so a typo is never silently ignored."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


class BrandingSerializer(StrictSerializer):
    logo_url = serializers.CharField(required=False, allow_blank=True, help_text="https URL of a square logo.")
    primary_color = serializers.CharField(required=False, allow_blank=True, help_text="#RRGGBB")
    secondary_color = serializers.CharField(required=False, allow_blank=True, help_text="#RRGGBB")


class AccessControlSerializer(StrictSerializer):
    required_roles = serializers.ListField(
        child=serializers.CharField(), default=list, help_text="Role names a user must all hold. Empty: all users."
    )


@extend_schema_field(serializers.ChoiceField(choices=SigningAlgorithm.choices, allow_null=True))
class SigningAlgorithmField(serializers.CharField):
    """A string, or null (and "") for the deployment default; which strings are allowed is the policies' call."""

    def __init__(self, **kwargs) -> None:
        super().__init__(allow_null=True, allow_blank=True, **kwargs)

    def to_internal_value(self, data) -> str | None:
        return super().to_internal_value(data) or None


def _uri_list(help_text: str) -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(), default=list, help_text=help_text)


class ApplicationWriteSerializer(StrictSerializer):
    """POST and PUT send the whole application (missing fields take their defaults); PATCH only changes."""

    name = serializers.CharField(help_text="Unique, case-insensitively; shown on the consent screen.")
    description = serializers.CharField(default="", allow_blank=True)
    type = serializers.ChoiceField(choices=TYPE_CHOICES, help_text="Fixed at creation.")
    redirect_uris = _uri_list("Exact redirect URIs; required except for m2m.")
    post_logout_redirect_uris = _uri_list("Exact URIs allowed after sign-out.")
    allowed_scopes = serializers.ListField(
        child=serializers.CharField(), default=list, help_text="Scope names from the catalogue."
    )
    cors_origins = _uri_list("Browser origins (scheme://host[:port]); required for spa.")
    access_token_ttl = serializers.IntegerField(default=policies.DEFAULT_ACCESS_TOKEN_TTL, help_text="Seconds.")
    refresh_token_ttl = serializers.IntegerField(default=policies.DEFAULT_REFRESH_TOKEN_TTL, help_text="Seconds.")
    id_token_ttl = serializers.IntegerField(default=policies.DEFAULT_ID_TOKEN_TTL, help_text="Seconds.")
    id_token_signed_response_alg = SigningAlgorithmField(default=None, help_text=ALGORITHM_HELP)
    refresh_token_rotation = serializers.BooleanField(default=True)
    pkce_required = serializers.BooleanField(default=False, help_text="web only: require PKCE.")
    branding = BrandingSerializer(default=None, allow_null=True, help_text="Replaced as a whole; null removes it.")
    auth_methods = serializers.ListField(child=serializers.CharField(), default=policies.default_auth_methods)
    access_control = AccessControlSerializer(default=dict)
    trusted = serializers.BooleanField(default=False, help_text="First-party: consent is skipped.")
    is_active = serializers.BooleanField(default=True)
    m2m_roles = serializers.ListField(child=serializers.CharField(), default=list, help_text="m2m only: role names.")


class BrandingReadSerializer(serializers.Serializer):
    logo_url = serializers.CharField()
    primary_color = serializers.CharField()
    secondary_color = serializers.CharField()


class AccessControlReadSerializer(serializers.Serializer):
    required_roles = serializers.ListField(child=serializers.CharField())


class ApplicationSerializer(serializers.Serializer):
    """An application as the API shows it; never its secret."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    type = serializers.ChoiceField(choices=TYPE_CHOICES)
    client_id = serializers.CharField()
    redirect_uris = serializers.ListField(child=serializers.CharField())
    post_logout_redirect_uris = serializers.ListField(child=serializers.CharField())
    allowed_scopes = serializers.ListField(child=serializers.CharField())
    cors_origins = serializers.ListField(child=serializers.CharField())
    access_token_ttl = serializers.IntegerField()
    refresh_token_ttl = serializers.IntegerField()
    id_token_ttl = serializers.IntegerField()
    id_token_signed_response_alg = serializers.ChoiceField(
        choices=SigningAlgorithm.choices, allow_null=True, help_text=ALGORITHM_HELP
    )
    refresh_token_rotation = serializers.BooleanField()
    pkce_required = serializers.BooleanField()
    branding = BrandingReadSerializer(allow_null=True)
    auth_methods = serializers.ListField(child=serializers.CharField())
    access_control = AccessControlReadSerializer()
    trusted = serializers.BooleanField()
    owner = serializers.EmailField(allow_null=True, help_text="Email of the user responsible for it.")
    is_active = serializers.BooleanField()
    m2m_roles = serializers.ListField(child=serializers.CharField())
    client_secret_last_used_at = serializers.DateTimeField(allow_null=True)
    created = serializers.DateTimeField()
    updated = serializers.DateTimeField()

    def to_representation(self, instance) -> dict:
        return {**application_as_dict(instance), "updated": instance.updated.isoformat()}


class ApplicationWithSecretSerializer(ApplicationSerializer):
    """Documents the create response: the view adds the new secret to the rendered application."""

    client_secret = serializers.CharField(
        allow_null=True, help_text="Shown only in this response; null for public types (spa, native)."
    )


class SecretRotationSerializer(StrictSerializer):
    grace_period_seconds = serializers.IntegerField(
        default=0, help_text="How long the old secret keeps working (0 to 604800). 0: it stops at once."
    )


class SecretRotatedSerializer(ApplicationWithSecretSerializer):
    """Documents the regenerate-secret response, built by the view like the create response."""

    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="When the old secret stops working; null when it stopped at once."
    )


class ApplicationListQuerySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=TYPE_CHOICES, required=False, help_text="Only applications of this type.")
    is_active = serializers.BooleanField(required=False, allow_null=True, default=None, help_text="true or false.")
    search = serializers.CharField(required=False, help_text="Name contains (case-insensitive).")
    ordering = serializers.ChoiceField(choices=["name", "-name", "created", "-created"], required=False, default="name")


def error_example(name: str, error: str, detail: str, fields: dict | None = None, status: int = 400) -> OpenApiExample:
    return OpenApiExample(
        name,
        value={"error": error, "detail": detail, "fields": fields or {}},
        response_only=True,
        status_codes=[str(status)],
    )
