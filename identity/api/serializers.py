"""Users and roles as the management API reads and writes them (parsing and rendering only)."""

from __future__ import annotations

from rest_framework import serializers

from applications.api.serializers import StrictSerializer
from identity.models import Role, User


class RoleSerializer(serializers.ModelSerializer):
    scopes = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)

    class Meta:
        model = Role
        fields = ["id", "name", "description", "scopes", "created"]
        read_only_fields = fields


class RoleWriteSerializer(StrictSerializer):
    name = serializers.CharField(allow_blank=True, help_text="Lowercase letters, digits and . _ : -, e.g. team:admin.")
    description = serializers.CharField(allow_blank=True, required=False, default="")
    scopes = serializers.ListField(
        child=serializers.CharField(), required=False, default=list, help_text="Scope names from the catalogue."
    )


class UserSerializer(serializers.ModelSerializer):
    sub = serializers.UUIDField(source="public_id", read_only=True, help_text="The OIDC subject; never changes.")
    roles = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "sub",
            "email",
            "email_verified",
            "name",
            "given_name",
            "family_name",
            "picture",
            "phone_number",
            "phone_number_verified",
            "is_active",
            "roles",
            "date_joined",
            "last_login",
        ]
        read_only_fields = fields


class UserWriteSerializer(StrictSerializer):
    email = serializers.CharField(allow_blank=True)
    password = serializers.CharField(
        write_only=True,
        required=False,
        allow_null=True,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="Never returned. Omit or null on creation: the user cannot sign in with a password.",
    )
    name = serializers.CharField(allow_blank=True, required=False)
    given_name = serializers.CharField(allow_blank=True, required=False)
    family_name = serializers.CharField(allow_blank=True, required=False)
    picture = serializers.CharField(allow_blank=True, required=False, help_text="URL of the user's picture.")
    phone_number = serializers.CharField(allow_blank=True, required=False, help_text="E.164, e.g. +447700900123.")
    roles = serializers.ListField(
        child=serializers.CharField(), required=False, default=list, help_text="Role names (creation only)."
    )


class UserUpdateSerializer(UserWriteSerializer):
    email = serializers.CharField(allow_blank=True, required=False, help_text="A change marks it unverified.")
    password = serializers.CharField(
        write_only=True,
        required=False,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="Never returned.",
    )
    roles = None  # assigned and removed through /api/users/{id}/roles


class RoleAssignSerializer(StrictSerializer):
    role = serializers.CharField(help_text="The role's name.")
