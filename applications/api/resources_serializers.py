"""API resources and their scopes, as the management API reads and writes them (parsing only)."""

from __future__ import annotations

from rest_framework import serializers

from applications.api.serializers import StrictSerializer
from applications.models import ApiResource


class ScopeSerializer(StrictSerializer):
    name = serializers.CharField(help_text="Letters, digits and _ . : / -, e.g. stream:live.")
    description = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Shown on the consent screen; defaults to the name."
    )


class ApiResourceSerializer(serializers.ModelSerializer):
    scopes = ScopeSerializer(many=True, read_only=True)

    class Meta:
        model = ApiResource
        fields = ["id", "identifier", "name", "scopes", "created"]
        read_only_fields = fields


class ApiResourceCreateSerializer(StrictSerializer):
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


class ApiResourceUpdateSerializer(StrictSerializer):
    name = serializers.CharField(allow_blank=True)
    identifier = serializers.CharField(
        required=False, help_text="Read-only after creation; accepted only unchanged (tokens carry it as audience)."
    )
