"""Organisations, their members, organisation roles and invitations as the management API reads and
writes them (parsing and rendering only: the rules are the models' clean() and the services').

Roles are named by `name` (as /api/users names roles); an organisation is identified by its public
id (`id`, a UUID); a member by the user's API id (`user_id`, as /api/users/{id}).
"""

from __future__ import annotations

from rest_framework import serializers

from applications.schema import StrictSerializer
from identity.organizations.constants import GRANTABLE_SCOPES
from identity.organizations.models import Invitation, Membership, Organization, OrganizationRole

ROLES_HELP = "Organisation role names (/api/organization-roles)."


class RoleNamesField(serializers.ListField):
    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("help_text", ROLES_HELP)
        super().__init__(child=serializers.CharField(max_length=100), **kwargs)


class OrganizationSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True, help_text="The organisation's public id.")
    jit_email_domains = serializers.ListField(child=serializers.CharField(), read_only=True)
    jit_roles = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    sign_in_domains = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "logo_url",
            "primary_color",
            "secondary_color",
            "jit_email_domains",
            "jit_roles",
            "sign_in_issuer",
            "sign_in_domains",
            "created_at",
        ]
        read_only_fields = fields


class OrganizationWriteSerializer(StrictSerializer):
    name = serializers.CharField(allow_blank=True, max_length=200, help_text="Unique (409 when taken).")
    slug = serializers.CharField(
        allow_blank=True, max_length=50, help_text="Unique (409 when taken): lowercase letters, digits and hyphens."
    )
    description = serializers.CharField(allow_blank=True, required=False)
    logo_url = serializers.CharField(
        allow_blank=True, required=False, help_text="https URL of a square logo; overrides the app's on its pages."
    )
    primary_color = serializers.CharField(allow_blank=True, required=False, help_text="#RRGGBB")
    secondary_color = serializers.CharField(allow_blank=True, required=False, help_text="#RRGGBB")
    jit_email_domains = serializers.ListField(
        child=serializers.CharField(max_length=253),
        required=False,
        help_text="People with a verified address at one of these domains join automatically (e.g. example.com).",
    )
    jit_roles = RoleNamesField(required=False, help_text="Roles given to members who joined by email domain.")
    sign_in_issuer = serializers.CharField(
        allow_blank=True,
        required=False,
        max_length=500,
        help_text="https issuer of the organisation's OpenID Connect provider: members signing in to an application "
        "as this organisation must sign in there (the application offers it as a sign-in provider). Blank: any.",
    )
    sign_in_domains = serializers.ListField(
        child=serializers.CharField(max_length=253),
        required=False,
        help_text="Email domains the sign-in page sends to that provider (each domain at most one organisation).",
    )

    def validate(self, attrs: dict) -> dict:
        for key, value in attrs.items():
            values = value if isinstance(value, list) else [value]
            if any(isinstance(v, str) and "\x00" in v for v in values):
                raise serializers.ValidationError({key: ["Null characters are not allowed."]})
        return attrs


class OrganizationRoleSerializer(serializers.ModelSerializer):
    scopes = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = OrganizationRole
        fields = ["id", "name", "description", "scopes", "created_at"]
        read_only_fields = fields


class OrganizationRoleWriteSerializer(StrictSerializer):
    name = serializers.CharField(
        allow_blank=True, max_length=100, help_text="Unique (409 when taken): lowercase letters, digits and . _ : -"
    )
    description = serializers.CharField(allow_blank=True, required=False, default="")
    scopes = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        default=list,
        help_text=f"Organisation scopes the role grants: any of {', '.join(GRANTABLE_SCOPES)}.",
    )


class MemberSerializer(serializers.ModelSerializer):
    user_id = serializers.IntegerField(source="user.id", read_only=True, help_text="The user's id (/api/users/{id}).")
    sub = serializers.UUIDField(source="user.public_id", read_only=True, help_text="The user's OIDC subject.")
    email = serializers.EmailField(source="user.email", read_only=True)
    roles = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)

    class Meta:
        model = Membership
        fields = ["user_id", "sub", "email", "roles", "created_at"]
        read_only_fields = fields


class MemberAddSerializer(StrictSerializer):
    user_id = serializers.IntegerField(min_value=1, help_text="The user's id (/api/users/{id}).")
    roles = RoleNamesField(required=False, default=list)


class MemberRolesSerializer(StrictSerializer):
    roles = RoleNamesField(help_text="Replaces the member's roles. " + ROLES_HELP)


class InvitationSerializer(serializers.ModelSerializer):
    roles = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    status = serializers.ChoiceField(choices=Invitation.Status.choices, read_only=True)
    invited_by = serializers.IntegerField(
        source="invited_by_id", read_only=True, allow_null=True, help_text="The inviting user's id (null: a client)."
    )
    accepted_by = serializers.IntegerField(source="accepted_by_id", read_only=True, allow_null=True)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "roles",
            "status",
            "created_at",
            "expires_at",
            "invited_by",
            "accepted_at",
            "accepted_by",
            "revoked_at",
        ]
        read_only_fields = fields


class InvitationCreatedSerializer(InvitationSerializer):
    link = serializers.CharField(
        read_only=True, help_text="The invitation link, shown in this response only (it is also emailed)."
    )

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "link"]
        read_only_fields = fields


class InvitationWriteSerializer(StrictSerializer):
    email = serializers.CharField(max_length=254, help_text="Only this address, verified, can accept.")
    roles = RoleNamesField(required=False, default=list, help_text="Roles the member gets. " + ROLES_HELP)
