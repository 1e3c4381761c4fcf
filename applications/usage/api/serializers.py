"""The usage API's query and answers."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

DEFAULT_DAYS = 30
MAX_DAYS = 366
DAY_FORMATS = ["%Y-%m-%d"]


class UsageQuerySerializer(serializers.Serializer):
    """?from=YYYY-MM-DD&to=YYYY-MM-DD, UTC days, both included; by default the 30 days up to today."""

    def get_fields(self) -> dict:
        # `from` is a Python keyword, so it cannot be declared as a class attribute.
        return {
            "from": serializers.DateField(
                required=False,
                input_formats=DAY_FORMATS,
                help_text=f"First day (UTC), YYYY-MM-DD. Default: {DEFAULT_DAYS - 1} days before `to`.",
            ),
            "to": serializers.DateField(
                required=False, input_formats=DAY_FORMATS, help_text="Last day (UTC), YYYY-MM-DD. Default: today."
            ),
        }

    def validate(self, attrs: dict) -> dict:
        end = attrs.get("to") or timezone.now().date()
        start = attrs.get("from") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise serializers.ValidationError({"from": ["Must be on or before `to`."]})
        if (end - start).days + 1 > MAX_DAYS:
            raise serializers.ValidationError({"to": [f"At most {MAX_DAYS} days after `from`, both included."]})
        return {"start": start, "end": end}


class TokensSerializer(serializers.Serializer):
    authorization_code = serializers.IntegerField()
    refresh_token = serializers.IntegerField()
    client_credentials = serializers.IntegerField()
    device_code = serializers.IntegerField()


class DayUsageSerializer(serializers.Serializer):
    day = serializers.DateField()
    sign_ins = serializers.IntegerField(help_text="Codes issued and device codes approved (single sign-on included).")
    unique_users = serializers.IntegerField(help_text="People who signed in that day.")
    tokens = TokensSerializer(help_text="Tokens issued, by grant type.")
    tokens_total = serializers.IntegerField()
    sign_in_failures = serializers.IntegerField(help_text="Failed sign-ins on a sign-in page for the application.")
    token_errors = serializers.IntegerField(help_text="Token requests the application's client made that failed.")


class TotalsSerializer(serializers.Serializer):
    sign_ins = serializers.IntegerField()
    tokens = TokensSerializer()
    tokens_total = serializers.IntegerField()
    sign_in_failures = serializers.IntegerField()
    token_errors = serializers.IntegerField()


class _RangeSerializer(serializers.Serializer):
    def get_fields(self) -> dict:
        return {"from": serializers.DateField(), "to": serializers.DateField(), **super().get_fields()}


@extend_schema_serializer(many=False)  # one object, though the route is the viewset's `list`
class ApplicationUsageSerializer(_RangeSerializer):
    application = serializers.IntegerField(help_text="The application's id.")
    days = DayUsageSerializer(many=True)
    totals = TotalsSerializer()
    monthly_active_users = serializers.IntegerField(help_text="Distinct users in the calendar month of `to`.")


class BusyApplicationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    client_id = serializers.CharField()
    sign_ins = serializers.IntegerField()
    tokens_total = serializers.IntegerField()


@extend_schema_serializer(many=False)  # one object, though the route is the viewset's `list`
class DeploymentUsageSerializer(_RangeSerializer):
    days = DayUsageSerializer(many=True, help_text="Every application added up; unique users count a person once.")
    totals = TotalsSerializer()
    monthly_active_users = serializers.IntegerField(help_text="Distinct users in the calendar month of `to`.")
    busiest_applications = BusyApplicationSerializer(many=True, help_text="By sign-ins plus tokens, at most 5.")
