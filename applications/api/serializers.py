"""Parse and render applications for the management API; every rule lives in the services and policies.

Both serializers take their fields from the one field list, applications.schema.FIELDS: the write
serializer only turns JSON into Python types (lists stay lists, names stay names), and what values
are acceptable is decided once, by applications.services. The read serializer renders
applications.selectors.application_as_dict, the same description the commands print.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers

from applications import schema
from applications.schema import TYPE_CHOICES, StrictSerializer
from applications.selectors import application_as_dict

__all__ = ["StrictSerializer"]  # re-exported: identity's and the resources' serializers use it


class ApplicationWriteSerializer(StrictSerializer):
    """POST and PUT send the whole application (missing fields take their defaults); PATCH only changes.

    Its fields are the writable ones of the field list (applications.schema.FIELDS).
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        return {field.name: field.write_field() for field in schema.FIELDS if field.writable}


class ApplicationSerializer(serializers.Serializer):
    """An application as the API shows it: every field of the field list; never its secret."""

    def get_fields(self) -> dict[str, serializers.Field]:
        # Then what a subclass declares (the secret of a create or rotation response).
        return {**{field.name: field.doc_field() for field in schema.FIELDS}, **super().get_fields()}

    def to_representation(self, instance) -> dict:
        return application_as_dict(instance)


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
