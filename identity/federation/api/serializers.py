"""The shapes of /api/applications/{id}/providers: secrets go in, only whether they are set comes out."""

from __future__ import annotations

from rest_framework import serializers

from applications.schema import StrictSerializer
from identity.federation import policies
from identity.federation.models import Provider

CLAIM_MAPPING_HELP = (
    "Generic OpenID Connect only: which upstream claim gives each attribute (sub, email, email_verified, name, "
    'picture). Attributes left out use the claim of the same name, e.g. {"email": "upn"}.'
)


class ProviderSerializer(serializers.ModelSerializer):
    """A provider as the API shows it: never a secret, only whether one is set."""

    client_secret_set = serializers.BooleanField(read_only=True)
    private_key_set = serializers.BooleanField(read_only=True, help_text="Apple only.")
    discovery_url = serializers.SerializerMethodField(help_text="Generic OpenID Connect: issuer + /.well-known/…")
    claim_mapping = serializers.DictField(child=serializers.CharField(), read_only=True, help_text=CLAIM_MAPPING_HELP)

    class Meta:
        model = Provider
        fields = [
            "id",
            "type",
            "client_id",
            "client_secret_set",
            "team_id",
            "key_id",
            "private_key_set",
            "issuer",
            "discovery_url",
            "display_name",
            "claim_mapping",
            "enabled",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_discovery_url(self, provider: Provider) -> str:
        return policies.discovery_url(provider)


class ProviderWriteSerializer(StrictSerializer):
    """What a client sends. Secrets are write-only: omitted on PUT/PATCH, the stored one stays."""

    type = serializers.ChoiceField(choices=Provider.Type.choices, help_text="Fixed once created.")
    client_id = serializers.CharField(max_length=255, help_text="The application's client id at the provider.")
    client_secret = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        max_length=4096,
        help_text="Write-only; never returned. Required while enabled (except Apple). Omit to keep the current one.",
    )
    team_id = serializers.CharField(required=False, allow_blank=True, max_length=64, help_text="Apple only.")
    key_id = serializers.CharField(required=False, allow_blank=True, max_length=64, help_text="Apple only.")
    private_key = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        max_length=8192,
        trim_whitespace=False,
        help_text="Apple only: the .p8 key (PEM). Write-only; omit to keep the current one.",
    )
    issuer = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="Generic OpenID Connect only: the issuer URL (https); discovery is at issuer + "
        "/.well-known/openid-configuration.",
    )
    display_name = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="Generic OpenID Connect only: the button's label."
    )
    claim_mapping = serializers.DictField(
        child=serializers.CharField(max_length=policies.CLAIM_NAME_MAX), required=False, help_text=CLAIM_MAPPING_HELP
    )
    enabled = serializers.BooleanField(required=False, default=True)

    def validate_client_id(self, value: str) -> str:
        if "\x00" in value:
            raise serializers.ValidationError("Null characters are not allowed.")
        return value
