"""The reads the usage API and the admin dashboard draw from, over rows as a flush leaves them."""

from __future__ import annotations

from datetime import date

import pytest

from applications.usage.models import ActiveUser, UsageCount
from applications.usage.selectors import (
    DayUsage,
    usage_busiest_applications,
    usage_daily,
    usage_monthly_active_users,
)
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db

NO_TOKENS = {"authorization_code": 0, "refresh_token": 0, "client_credentials": 0, "device_code": 0}


def counts(application, day: date, **metrics: int) -> None:
    for metric, n in metrics.items():
        UsageCount.objects.create(application=application, day=day, metric=metric.replace("__", "."), count=n)


def test_usage_daily_days_without_rows_are_zeros():
    app, _ = make_application()
    counts(app, date(2026, 3, 2), sign_ins=4, tokens__authorization_code=3, tokens__refresh_token=2, token_errors=1)

    days = usage_daily(application=app, start=date(2026, 3, 1), end=date(2026, 3, 3))

    assert days == [
        DayUsage(date(2026, 3, 1), 0, 0, NO_TOKENS, 0, 0, 0),
        DayUsage(date(2026, 3, 2), 4, 0, {**NO_TOKENS, "authorization_code": 3, "refresh_token": 2}, 5, 0, 1),
        DayUsage(date(2026, 3, 3), 0, 0, NO_TOKENS, 0, 0, 0),
    ]


def test_usage_daily_one_application_ignores_the_others():
    app, _ = make_application()
    other, _ = make_application()
    counts(app, date(2026, 3, 1), sign_ins=1, sign_in_failures=2)
    counts(other, date(2026, 3, 1), sign_ins=10)

    [day] = usage_daily(application=app, start=date(2026, 3, 1), end=date(2026, 3, 1))

    assert (day.sign_ins, day.sign_in_failures) == (1, 2)


def test_usage_daily_all_applications_adds_counts_and_counts_a_person_once():
    app, _ = make_application()
    other, _ = make_application()
    alice, bob = UserFactory(), UserFactory()
    counts(app, date(2026, 3, 1), sign_ins=2, tokens__client_credentials=5)
    counts(other, date(2026, 3, 1), sign_ins=3, tokens__client_credentials=1, tokens__device_code=1)
    for application, user in [(app, alice), (other, alice), (other, bob)]:
        ActiveUser.objects.create(application=application, day=date(2026, 3, 1), user=user)

    [day] = usage_daily(application=None, start=date(2026, 3, 1), end=date(2026, 3, 1))
    [own] = usage_daily(application=other, start=date(2026, 3, 1), end=date(2026, 3, 1))

    assert (day.sign_ins, day.unique_users, day.tokens_total) == (5, 2, 7)
    assert day.tokens == {**NO_TOKENS, "client_credentials": 6, "device_code": 1}
    assert own.unique_users == 2


def test_usage_daily_reads_in_two_queries(django_assert_max_num_queries):
    app, _ = make_application()
    counts(app, date(2026, 1, 5), sign_ins=1)

    with django_assert_max_num_queries(2):
        days = usage_daily(application=app, start=date(2026, 1, 1), end=date(2026, 12, 31))

    assert len(days) == 365


def test_usage_monthly_active_users_counts_distinct_users_of_the_calendar_month():
    app, _ = make_application()
    other, _ = make_application()
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    for day, application, user in [
        (date(2026, 2, 28), app, carol),  # the month before
        (date(2026, 3, 1), app, alice),
        (date(2026, 3, 31), app, alice),
        (date(2026, 3, 15), app, bob),
        (date(2026, 3, 15), other, carol),
        (date(2026, 4, 1), app, carol),  # the month after
    ]:
        ActiveUser.objects.create(application=application, day=day, user=user)

    assert usage_monthly_active_users(application=app, month=date(2026, 3, 20)) == 2
    assert usage_monthly_active_users(application=None, month=date(2026, 3, 1)) == 3
    assert usage_monthly_active_users(application=app, month=date(2026, 12, 31)) == 0


def test_usage_busiest_applications_ranks_by_sign_ins_and_tokens_within_the_range():
    quiet, _ = make_application(name="Quiet")
    busy, _ = make_application(name="Busy")
    machines, _ = make_application(name="Machines", type="m2m")
    unused, _ = make_application(name="Unused")
    counts(quiet, date(2026, 3, 1), sign_ins=1, sign_in_failures=50)
    counts(busy, date(2026, 3, 1), sign_ins=5, tokens__authorization_code=5, tokens__refresh_token=2)
    counts(machines, date(2026, 3, 2), tokens__client_credentials=9)
    counts(machines, date(2026, 4, 1), tokens__client_credentials=100)  # outside the range
    counts(unused, date(2026, 3, 1), token_errors=7)

    ranked = usage_busiest_applications(start=date(2026, 3, 1), end=date(2026, 3, 31))

    assert ranked == [(busy, 5, 7), (machines, 0, 9), (quiet, 1, 0)]
    assert usage_busiest_applications(start=date(2026, 3, 1), end=date(2026, 3, 31), limit=1) == [(busy, 5, 7)]


def test_usage_busiest_applications_ties_go_by_name():
    beta, _ = make_application(name="Beta")
    alpha, _ = make_application(name="Alpha")
    counts(beta, date(2026, 3, 1), sign_ins=2)
    counts(alpha, date(2026, 3, 1), sign_ins=2)

    assert usage_busiest_applications(start=date(2026, 3, 1), end=date(2026, 3, 1)) == [(alpha, 2, 0), (beta, 2, 0)]
