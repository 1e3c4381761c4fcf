"""API resources and their scopes, as the management API reads and writes them (parsing only)."""

from __future__ import annotations

from rest_framework import serializers

from applications.api.serializers import StrictSerializer
from applications.models import ApiResource
from applications.selectors import RESOURCE_TOKEN_FIELDS


class ScopeSerializer(StrictSerializer):
    name = serializers.CharField(help_text="Letters, digits and _ . : / -, e.g. stream:live.")
    description = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Shown on the consent screen; defaults to the name."
    )


class ApiResourceSerializer(serializers.ModelSerializer):
    scopes = ScopeSerializer(many=True, read_only=True)
    introspecting_client = serializers.SlugRelatedField(slug_field="client_id", read_only=True, allow_null=True)

    class Meta:
        model = ApiResource
        fields = ["id", "identifier", "name", *RESOURCE_TOKEN_FIELDS, "scopes", "created"]
        read_only_fields = fields


class TokenSettingsFields(StrictSerializer):
    """The access-token settings (selectors.RESOURCE_TOKEN_FIELDS); the rules are the model's (policies)."""

    access_token_format = serializers.CharField(
        required=False,
        help_text="opaque (default): checked by introspection. jwt: an RFC 9068 JWT the API verifies with the JWKS.",
    )
    access_token_ttl = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Seconds; caps the lifetime of tokens for this API (the client's own lifetime if shorter). "
        "null: the client's.",
    )
    signing_alg = serializers.CharField(required=False, help_text="ES256 (default) or RS256: signs its JWTs.")
    introspecting_client = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="client_id of the API's own confidential client: it may introspect every token for this API.",
    )


def token_settings(data: dict) -> dict:
    return {field: data[field] for field in RESOURCE_TOKEN_FIELDS if field in data}


class ApiResourceCreateSerializer(TokenSettingsFields):
    identifier = serializers.CharField(
        allow_blank=True, help_text="Absolute URI naming the API: the audience of its access tokens."
    )
    name = serializers.CharField(allow_blank=True)
    scopes = ScopeSerializer(many=True, required=False, default=list)

    def validate_scopes(self, value: list[dict]) -> list[dict]:
        names = [scope["name"] for scope in value]
        if len(set(names)) != len(names):
            raise serializers.ValidationError("Each scope name may appear only once.")
        return value


class ApiResourceUpdateSerializer(TokenSettingsFields):
    name = serializers.CharField(allow_blank=True)
    identifier = serializers.CharField(
        required=False, help_text="Read-only after creation; accepted only unchanged (tokens carry it as audience)."
    )
