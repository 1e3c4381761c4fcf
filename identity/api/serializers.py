"""Users and roles as the management API reads and writes them (parsing and rendering only)."""

from __future__ import annotations

from rest_framework import serializers

from applications.api.serializers import StrictSerializer
from identity.models import AuditEvent, Role, User


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
        help_text="Never returned. Omit or null on creation: the user cannot sign in with a password "
        "(with LATCHKEY_REGISTRATION=invite, they are emailed a link to choose one).",
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


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    target = serializers.SerializerMethodField()
    changes = serializers.JSONField(
        read_only=True,
        help_text='Field → {"old": …, "new": …}. Secrets and passwords appear only as "[hidden]".',
    )

    class Meta:
        model = AuditEvent
        fields = ["id", "occurred_at", "action", "actor", "target", "changes"]
        read_only_fields = fields

    def get_actor(self, event: AuditEvent) -> dict[str, str]:
        return {"type": event.actor_type, "id": event.actor_id, "label": event.actor_label}

    def get_target(self, event: AuditEvent) -> dict[str, str]:
        return {"type": event.target_type, "id": event.target_id, "label": event.target_label}


class AuditQuerySerializer(serializers.Serializer):
    action = serializers.CharField(required=False, help_text="e.g. application.updated")
    actor_type = serializers.ChoiceField(choices=AuditEvent.ActorType.choices, required=False)
    actor_id = serializers.CharField(required=False, help_text="A user's sub or a client's client_id.")
    target_type = serializers.ChoiceField(
        choices=[
            "application",
            "api_resource",
            "scope",
            "role",
            "user",
            "consent",
            "signing_key",
            "organization",
            "organization_role",
        ],
        required=False,
    )
    target_id = serializers.CharField(required=False, help_text="The id the API uses for the target.")
    since = serializers.DateTimeField(required=False, help_text="Events at or after this time (ISO 8601).")
    until = serializers.DateTimeField(required=False, help_text="Events before this time (ISO 8601).")

    def validate(self, attrs: dict) -> dict:
        for field in ("action", "actor_id", "target_id"):
            if "\x00" in attrs.get(field, ""):
                raise serializers.ValidationError({field: ["Null characters are not allowed."]})
        return attrs


class UserSessionSerializer(serializers.Serializer):
    """One signed-in session of a user (identity.user_sessions.selectors.SignInSession)."""

    id = serializers.IntegerField(source="pk")
    device = serializers.CharField(help_text='From the browser\'s User-Agent, e.g. "Firefox on Linux".')
    ip = serializers.CharField(source="address")
    signed_in_at = serializers.DateTimeField()
    applications = serializers.ListField(
        child=serializers.CharField(), help_text="Names of the applications this session signed in to."
    )


class SessionsEndedSerializer(serializers.Serializer):
    sessions_ended = serializers.IntegerField()


class SecondFactorsResetSerializer(serializers.Serializer):
    second_factors_removed = serializers.IntegerField(help_text="0: the user had none.")
