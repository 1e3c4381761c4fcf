"""The admin console's usage dashboard: selector results shaped for the index and an application's page.

Reads only, in a fixed number of queries whatever the number of days, applications or webhooks: the
usage selectors (two queries for the days, one for monthly active users, two for the busiest
applications), and here one for an application's webhooks with their last delivery and one for its
recent events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.utils.safestring import SafeString

from applications.events import selectors as events_selectors
from applications.events.models import Event, Webhook
from applications.models import Application
from applications.usage import charts, selectors

WINDOW_DAYS = 30
BUSIEST_LIMIT = 5
RECENT_EVENTS_LIMIT = 10


@dataclass(frozen=True)
class Totals:
    sign_ins: int
    tokens: int
    sign_in_failures: int
    token_errors: int
    monthly_active_users: int


@dataclass(frozen=True)
class BusyApplication:
    application: Application
    sign_ins: int
    tokens: int


@dataclass(frozen=True)
class LastDelivery:
    state: str
    status_code: int | None
    error: str
    attempts: int
    created_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class WebhookStatus:
    webhook: Webhook
    last_delivery: LastDelivery | None


@dataclass(frozen=True)
class Dashboard:
    start: date
    end: date
    chart: SafeString
    totals: Totals
    busiest: list[BusyApplication]  # the index only
    webhooks: list[WebhookStatus]  # an application's page only
    recent_events: list[Event]  # an application's page only


def usage_today() -> date:
    """Usage days are UTC dates (applications.usage.models), whatever TIME_ZONE says."""
    return datetime.now(UTC).date()


def dashboard_overview(*, today: date) -> Dashboard:
    """The admin index: all applications over the last WINDOW_DAYS days, and the busiest of them."""
    start = today - timedelta(days=WINDOW_DAYS - 1)
    days = selectors.usage_daily(application=None, start=start, end=today)
    busiest = selectors.usage_busiest_applications(start=start, end=today, limit=BUSIEST_LIMIT)
    return Dashboard(
        start=start,
        end=today,
        chart=_chart(days, title=f"Sign-ins and tokens per day, all applications, {start} to {today}"),
        totals=_totals(days, selectors.usage_monthly_active_users(application=None, month=today)),
        busiest=[BusyApplication(application, sign_ins, tokens) for application, sign_ins, tokens in busiest],
        webhooks=[],
        recent_events=[],
    )


def dashboard_application(*, application: Application, today: date) -> Dashboard:
    """An application's page: its own chart and totals, its webhooks and its recent events."""
    start = today - timedelta(days=WINDOW_DAYS - 1)
    days = selectors.usage_daily(application=application, start=start, end=today)
    return Dashboard(
        start=start,
        end=today,
        chart=_chart(days, title=f"Sign-ins and tokens per day, {application.name}, {start} to {today}"),
        totals=_totals(days, selectors.usage_monthly_active_users(application=application, month=today)),
        busiest=[],
        webhooks=webhooks_with_last_delivery(application=application),
        recent_events=events_selectors.recent_events(application, limit=RECENT_EVENTS_LIMIT),
    )


def webhooks_with_last_delivery(*, application: Application) -> list[WebhookStatus]:
    """The application's webhooks, each with its most recent delivery (by creation), in one query."""
    hooks = events_selectors.with_last_delivery(Webhook.objects.filter(application=application).order_by("pk"))
    return [
        WebhookStatus(
            webhook=hook,
            last_delivery=None
            if hook.last_delivery_state is None
            else LastDelivery(
                state=hook.last_delivery_state,
                status_code=hook.last_delivery_status_code,
                error=hook.last_delivery_error,
                attempts=hook.last_delivery_attempts,
                created_at=hook.last_delivery_at,
                completed_at=hook.last_delivery_completed_at,
            ),
        )
        for hook in hooks
    ]


def _chart(days: list[selectors.DayUsage], *, title: str) -> SafeString:
    return charts.line_chart(
        title=title,
        series=[
            charts.Series("sign-ins", "sign_ins", [(d.day, d.sign_ins) for d in days]),
            charts.Series("tokens issued", "tokens", [(d.day, d.tokens_total) for d in days]),
        ],
        start=days[0].day,
        end=days[-1].day,
    )


def _totals(days: list[selectors.DayUsage], monthly_active_users: int) -> Totals:
    return Totals(
        sign_ins=sum(d.sign_ins for d in days),
        tokens=sum(d.tokens_total for d in days),
        sign_in_failures=sum(d.sign_in_failures for d in days),
        token_errors=sum(d.token_errors for d in days),
        monthly_active_users=monthly_active_users,
    )
