"""The shapes of the webhook API: the signing secret comes out only in create and rotate responses."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from applications.events import policies
from applications.events.catalogue import EVENT_TYPES, SUBSCRIBABLE
from applications.events.models import Delivery, DeliveryAttempt, Webhook
from applications.schema import StrictSerializer

EVENT_TYPES_HELP = f"Event types to receive, at least one of: {', '.join(SUBSCRIBABLE)} (docs/events.md)."


class LastDeliverySerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=Delivery.State.choices)
    status_code = serializers.IntegerField(allow_null=True, help_text="The receiver's last HTTP status, if any.")
    created_at = serializers.DateTimeField()


class WebhookSerializer(serializers.ModelSerializer):
    """A webhook as the API shows it: never its secret."""

    application = serializers.SerializerMethodField(help_text="The application's client_id; null: deployment-wide.")
    event_types = serializers.ListField(child=serializers.CharField(), help_text=EVENT_TYPES_HELP)
    disabled_reason = serializers.CharField(
        help_text="Why Latchkey disabled it (too many consecutive failures); empty otherwise."
    )
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="After a rotation: until when the previous secret also signs."
    )
    last_delivery = serializers.SerializerMethodField()

    class Meta:
        model = Webhook
        fields = [
            "id",
            "application",
            "url",
            "description",
            "event_types",
            "enabled",
            "disabled_reason",
            "consecutive_failures",
            "previous_secret_expires_at",
            "last_delivery",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_application(self, webhook: Webhook) -> str | None:
        return webhook.application.client_id if webhook.application_id else None

    def to_representation(self, webhook: Webhook) -> dict:
        data = super().to_representation(webhook)
        expires = webhook.previous_secret_expires_at
        if not webhook.previous_secret_encrypted or (expires and expires <= timezone.now()):
            data["previous_secret_expires_at"] = None
        return data

    @staticmethod
    def _last(webhook: Webhook) -> dict | None:
        state = getattr(webhook, "last_delivery_state", None)
        if state is None:
            return None
        return {
            "state": state,
            "status_code": webhook.last_delivery_status_code,
            "created_at": webhook.last_delivery_at,
        }

    @extend_schema_field(LastDeliverySerializer(allow_null=True))
    def get_last_delivery(self, webhook: Webhook) -> dict | None:
        last = self._last(webhook)
        return LastDeliverySerializer(last).data if last else None


class WebhookWithSecretSerializer(WebhookSerializer):
    """Documents the create and rotate responses: the view adds the secret to the rendered webhook."""

    secret = serializers.CharField(
        read_only=True,
        help_text="The signing secret (whsec_…), shown only in this response: verify signatures with it.",
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookWriteSerializer(StrictSerializer):
    """What a client sends (rules: applications.events.policies)."""

    url = serializers.CharField(
        max_length=policies.URL_MAX,
        trim_whitespace=True,
        help_text="The https URL that receives events (no user:password@, no private or loopback address).",
    )
    event_types = serializers.ListField(child=serializers.CharField(max_length=64), help_text=EVENT_TYPES_HELP)
    description = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")
    enabled = serializers.BooleanField(required=False, default=True)

    def validate_url(self, value: str) -> str:
        if problem := policies.url_problem(value):
            raise serializers.ValidationError(problem)
        return value

    def validate_event_types(self, value: list[str]) -> list[str]:
        if problems := policies.event_types_problems(value):
            raise serializers.ValidationError(problems)
        return policies.normalize_event_types(value)

    def validate_description(self, value: str) -> str:
        if "\x00" in value:
            raise serializers.ValidationError("Null characters are not allowed.")
        return value


class RotateSecretSerializer(StrictSerializer):
    overlap_seconds = serializers.IntegerField(
        required=False,
        default=policies.DEFAULT_ROTATION_OVERLAP,
        min_value=0,
        max_value=policies.MAX_ROTATION_OVERLAP,
        help_text="How long the previous secret keeps signing beside the new one (0 to 604800; default 86400). "
        "0: it stops at once.",
    )


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["attempted_at", "status_code", "latency_ms", "error", "response_excerpt", "succeeded"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.CharField(source="event.public_id", help_text="The webhook-id header of every attempt.")
    event_type = serializers.CharField(source="event.type")
    attempt_log = DeliveryAttemptSerializer(many=True, read_only=True, help_text="Latest first.")

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "state",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "completed_at",
            "attempt_log",
        ]
        read_only_fields = fields


class EventTypeSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    required = serializers.ListField(child=serializers.CharField(), help_text="Payload keys always present.")
    optional = serializers.ListField(child=serializers.CharField(), help_text="Payload keys sometimes present.")
    application = serializers.BooleanField(help_text="Whether the event belongs to an application.")
    subscribable = serializers.BooleanField(help_text="Whether a webhook may subscribe to it.")


def event_types_data() -> list[dict]:
    return [
        {
            "name": spec.name,
            "description": spec.description,
            "required": list(spec.required),
            "optional": list(spec.optional),
            "application": spec.application,
            "subscribable": spec.name in SUBSCRIBABLE,
        }
        for spec in EVENT_TYPES.values()
    ]
