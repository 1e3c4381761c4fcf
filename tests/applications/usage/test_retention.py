"""cleartokens deletes daily usage older than LATCHKEY_USAGE_RETENTION_DAYS, and only that."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from applications.usage.models import ActiveUser, UsageCount
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db


def cleartokens(*args: str) -> str:
    out = StringIO()
    call_command("cleartokens", *args, stdout=out)
    return out.getvalue()


def test_cleartokens_deletes_usage_past_retention_and_keeps_the_rest(settings):
    settings.LATCHKEY_USAGE_RETENTION_DAYS = 10
    app, _ = make_application()
    alice = UserFactory()
    today = datetime.now(UTC).date()
    for days_ago in (0, 9, 10, 400):
        day = today - timedelta(days=days_ago)
        UsageCount.objects.create(application=app, day=day, metric="sign_ins", count=1)
        ActiveUser.objects.create(application=app, day=day, user=alice)

    lines = [line.split() for line in cleartokens().splitlines()]

    assert ["daily", "usage", "counts", "past", "retention", "2"] in lines
    assert ["daily", "active", "users", "past", "retention", "2"] in lines
    kept = [today - timedelta(days=9), today]
    assert sorted(UsageCount.objects.values_list("day", flat=True)) == kept
    assert sorted(ActiveUser.objects.values_list("day", flat=True)) == kept


def test_cleartokens_dry_run_counts_old_usage_and_deletes_none(settings):
    settings.LATCHKEY_USAGE_RETENTION_DAYS = 400
    app, _ = make_application()
    UsageCount.objects.create(application=app, day=datetime.now(UTC).date() - timedelta(days=401), metric="x", count=1)

    result = json.loads(cleartokens("--dry-run", "--json"))

    assert result["deleted"]["usage_counts_expired"] == 1
    assert result["deleted"]["active_users_expired"] == 0
    assert UsageCount.objects.count() == 1
