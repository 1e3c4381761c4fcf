"""Reads of daily usage: what the usage API and the admin dashboard show.

Days are UTC dates. The rows hold what has been flushed (applications.usage.counters); the counts of the
current flush interval are not in them yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, F, Q, Sum

from applications.models import Application
from applications.usage.models import ActiveUser, UsageCount

Metric = UsageCount.Metric

TOKEN_PREFIX = "tokens."
# Grant type -> its metric; the order is the order the API and the dashboard show them in.
TOKEN_METRICS: dict[str, str] = {
    metric.value.removeprefix(TOKEN_PREFIX): metric.value for metric in Metric if metric.value.startswith(TOKEN_PREFIX)
}


@dataclass(frozen=True)
class DayUsage:
    day: date
    sign_ins: int
    unique_users: int
    tokens: dict[str, int]  # grant type -> count, every grant type of TOKEN_METRICS present
    tokens_total: int
    sign_in_failures: int
    token_errors: int


def usage_daily(*, application: Application | None, start: date, end: date) -> list[DayUsage]:
    """Every day in [start, end], days without a row as zeros; `application=None` adds all applications up
    (unique users then counts a person once however many applications they signed in to). Two queries."""
    counts: dict[date, dict[str, int]] = {}
    rows = _counts(application).filter(day__range=(start, end)).values("day", "metric").annotate(total=Sum("count"))
    for row in rows:
        counts.setdefault(row["day"], {})[row["metric"]] = row["total"]
    users = _active_users(application).filter(day__range=(start, end)).values("day")
    unique = {row["day"]: row["n"] for row in users.annotate(n=Count("user", distinct=True))}

    days = []
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        metrics = counts.get(day, {})
        tokens = {grant: metrics.get(metric, 0) for grant, metric in TOKEN_METRICS.items()}
        days.append(
            DayUsage(
                day=day,
                sign_ins=metrics.get(Metric.SIGN_INS, 0),
                unique_users=unique.get(day, 0),
                tokens=tokens,
                tokens_total=sum(tokens.values()),
                sign_in_failures=metrics.get(Metric.SIGN_IN_FAILURES, 0),
                token_errors=metrics.get(Metric.TOKEN_ERRORS, 0),
            )
        )
    return days


def usage_monthly_active_users(*, application: Application | None, month: date) -> int:
    """Distinct users who signed in during the calendar month that `month` falls in. One query."""
    first = month.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return _active_users(application).filter(day__range=(first, last)).values("user").distinct().count()


def usage_busiest_applications(*, start: date, end: date, limit: int = 5) -> list[tuple[Application, int, int]]:
    """(application, sign-ins, tokens issued) in [start, end], the most used first (sign-ins + tokens);
    applications with neither are left out. Two queries."""
    rows = (
        UsageCount.objects.filter(day__range=(start, end))
        .values("application_id")
        .annotate(
            sign_ins=Sum("count", filter=Q(metric=Metric.SIGN_INS), default=0),
            tokens=Sum("count", filter=Q(metric__startswith=TOKEN_PREFIX), default=0),
        )
        .annotate(used=F("sign_ins") + F("tokens"))
        .filter(used__gt=0)
        .order_by("-used", "application__name", "application_id")[:limit]
    )
    totals = [(row["application_id"], row["sign_ins"], row["tokens"]) for row in rows]
    applications = Application.objects.in_bulk([pk for pk, _, _ in totals])
    return [(applications[pk], sign_ins, tokens) for pk, sign_ins, tokens in totals if pk in applications]


def _counts(application: Application | None):
    rows = UsageCount.objects.all()
    return rows if application is None else rows.filter(application=application)


def _active_users(application: Application | None):
    rows = ActiveUser.objects.all()
    return rows if application is None else rows.filter(application=application)
