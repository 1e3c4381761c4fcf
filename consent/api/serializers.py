"""Consents as the management API renders them."""

from __future__ import annotations

from rest_framework import serializers

from consent.models import Consent


class ConsentUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sub = serializers.UUIDField(source="public_id")
    email = serializers.EmailField()


class ConsentApplicationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    client_id = serializers.CharField()
    name = serializers.CharField()


class ConsentSerializer(serializers.ModelSerializer):
    user = ConsentUserSerializer(read_only=True)
    application = ConsentApplicationSerializer(read_only=True)
    scopes = serializers.ListField(child=serializers.CharField(), read_only=True, help_text="Scope names granted.")

    class Meta:
        model = Consent
        fields = ["id", "user", "application", "scopes", "granted_at", "updated_at"]
        read_only_fields = fields
