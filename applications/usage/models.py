"""Usage per application per day.

Counts are kept in process (applications.usage.counters) and added to these rows in one statement per
flush, so no request locks a row; a crash loses at most the counts since the last flush.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class UsageCount(models.Model):
    """How many times `metric` happened for an application on a day (UTC)."""

    class Metric(models.TextChoices):
        SIGN_INS = "sign_ins", "sign-ins"
        SIGN_IN_FAILURES = "sign_in_failures", "failed sign-ins"
        TOKEN_ERRORS = "token_errors", "token errors"
        TOKENS_AUTHORIZATION_CODE = "tokens.authorization_code", "tokens (authorization code)"
        TOKENS_REFRESH_TOKEN = "tokens.refresh_token", "tokens (refresh)"
        TOKENS_CLIENT_CREDENTIALS = "tokens.client_credentials", "tokens (client credentials)"
        TOKENS_DEVICE_CODE = "tokens.device_code", "tokens (device code)"

    application = models.ForeignKey("applications.Application", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    metric = models.CharField(max_length=40, choices=Metric.choices)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "day", "metric"], name="usage_one_count_per_day"),
        ]
        indexes = [models.Index(fields=["day", "metric"], name="usage_count_day")]

    def __str__(self) -> str:
        return f"{self.application_id} {self.day} {self.metric}={self.count}"


class ActiveUser(models.Model):
    """A user who signed in to an application on a day: unique users per day and monthly active users."""

    application = models.ForeignKey("applications.Application", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "day", "user"], name="usage_one_active_user_per_day"),
        ]
        indexes = [models.Index(fields=["day"], name="usage_active_user_day")]

    def __str__(self) -> str:
        return f"{self.application_id} {self.day} {self.user_id}"
