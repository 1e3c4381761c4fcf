"""/api/applications/{id}/usage and /api/usage: date ranges, errors, permissions, query budgets."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from applications.usage.models import ActiveUser, UsageCount
from tests.applications.factories import make_application
from tests.conftest import staff_sign_in
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db


def usage_path(application) -> str:
    return f"/api/applications/{application.pk}/usage"


def test_application_usage_without_dates_is_the_last_30_days_up_to_today(reader):
    app, _ = make_application()
    today = timezone.now().date()
    UsageCount.objects.create(application=app, day=today, metric="sign_ins", count=2)
    UsageCount.objects.create(application=app, day=today - timedelta(days=29), metric="tokens.refresh_token", count=1)
    UsageCount.objects.create(application=app, day=today - timedelta(days=30), metric="sign_ins", count=50)

    response = reader.get(usage_path(app))

    assert response.status_code == 200
    body = response.json()
    assert (body["application"], body["from"], body["to"]) == (app.pk, str(today - timedelta(days=29)), str(today))
    assert len(body["days"]) == 30
    assert body["days"][-1]["sign_ins"] == 2
    assert body["totals"]["sign_ins"] == 2
    assert body["totals"]["tokens"]["refresh_token"] == 1


def test_application_usage_of_a_range_gives_every_day_totals_and_monthly_active_users(reader):
    app, _ = make_application()
    alice, bob = UserFactory(), UserFactory()
    UsageCount.objects.create(application=app, day=date(2026, 2, 28), metric="sign_ins", count=1)
    UsageCount.objects.create(application=app, day=date(2026, 3, 1), metric="tokens.client_credentials", count=4)
    ActiveUser.objects.create(application=app, day=date(2026, 2, 28), user=alice)
    ActiveUser.objects.create(application=app, day=date(2026, 3, 20), user=bob)  # after `to`, same month

    response = reader.get(usage_path(app), {"from": "2026-02-28", "to": "2026-03-01"})

    assert response.status_code == 200
    body = response.json()
    assert [day["day"] for day in body["days"]] == ["2026-02-28", "2026-03-01"]
    assert body["days"][0] == {
        "day": "2026-02-28",
        "sign_ins": 1,
        "unique_users": 1,
        "tokens": {"authorization_code": 0, "refresh_token": 0, "client_credentials": 0, "device_code": 0},
        "tokens_total": 0,
        "sign_in_failures": 0,
        "token_errors": 0,
    }
    assert body["totals"] == {
        "sign_ins": 1,
        "tokens": {"authorization_code": 0, "refresh_token": 0, "client_credentials": 4, "device_code": 0},
        "tokens_total": 4,
        "sign_in_failures": 0,
        "token_errors": 0,
    }
    assert body["monthly_active_users"] == 1  # March: bob only


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"from": "2026-13-01"}, "from", "Date has wrong format"),
        ({"to": "yesterday"}, "to", "Date has wrong format"),
        ({"from": "2026-03-01T00:00:00"}, "from", "Date has wrong format"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "from", "Must be on or before `to`."),
        ({"from": "2025-02-28", "to": "2026-03-01"}, "to", "At most 366 days"),
        ({"to": "2026-03-01\x00"}, "to", "Date has wrong format"),
    ],
    ids=["bad-month", "word", "datetime", "reversed", "too-long", "nul"],
)
def test_application_usage_with_bad_dates_is_400_naming_the_field(reader, query, field, message):
    app, _ = make_application()

    response = reader.get(usage_path(app), query)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid"
    assert list(response.json()["fields"]) == [field]
    assert message in response.json()["fields"][field][0]


def test_usage_of_366_days_is_allowed(reader):
    app, _ = make_application()

    response = reader.get(usage_path(app), {"from": "2024-01-01", "to": "2024-12-31"})  # a leap year

    assert response.status_code == 200
    assert len(response.json()["days"]) == 366


@pytest.mark.parametrize("pk", ["999999", "abc"])
def test_application_usage_of_an_unknown_application_is_404(reader, pk):
    response = reader.get(f"/api/applications/{pk}/usage")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_usage_without_a_management_token_is_refused(client):
    app, _ = make_application()

    assert client.get(usage_path(app)).status_code == 401
    assert client.get("/api/usage").status_code == 401


def test_usage_for_a_staff_session_is_shown_and_for_another_user_refused(client, admin_user):
    app, _ = make_application()
    client.force_login(UserFactory())
    assert client.get(usage_path(app)).status_code == 403

    staff_sign_in(client, admin_user)
    assert client.get(usage_path(app)).status_code == 200


def test_usage_is_read_only(writer):
    app, _ = make_application()

    assert writer.post(usage_path(app), {}).status_code == 405
    assert writer.post("/api/usage", {}).status_code == 405


def test_deployment_usage_adds_applications_up_and_names_the_busiest(reader):
    shop, _ = make_application(name="Shop")
    blog, _ = make_application(name="Blog")
    alice = UserFactory()
    for app, metric, n in [(shop, "sign_ins", 3), (shop, "tokens.authorization_code", 3), (blog, "sign_ins", 1)]:
        UsageCount.objects.create(application=app, day=date(2026, 3, 1), metric=metric, count=n)
    ActiveUser.objects.create(application=shop, day=date(2026, 3, 1), user=alice)
    ActiveUser.objects.create(application=blog, day=date(2026, 3, 1), user=alice)

    response = reader.get("/api/usage", {"from": "2026-03-01", "to": "2026-03-01"})

    assert response.status_code == 200
    body = response.json()
    assert body["days"][0]["sign_ins"] == 4
    assert body["days"][0]["unique_users"] == 1
    assert body["monthly_active_users"] == 1
    assert body["busiest_applications"] == [
        {"id": shop.pk, "name": "Shop", "client_id": shop.client_id, "sign_ins": 3, "tokens_total": 3},
        {"id": blog.pk, "name": "Blog", "client_id": blog.client_id, "sign_ins": 1, "tokens_total": 0},
    ]


def test_deployment_usage_with_bad_dates_is_400(reader):
    response = reader.get("/api/usage", {"from": "2026-03-02", "to": "2026-03-01"})

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["from"]


def test_usage_reads_within_their_query_budgets(reader, django_assert_max_num_queries):
    app, _ = make_application()
    UsageCount.objects.create(application=app, day=date(2026, 3, 1), metric="sign_ins", count=1)

    # The token and the scopes, the application, the counts, the active users per day, the month's.
    with django_assert_max_num_queries(6):
        assert reader.get(usage_path(app), {"from": "2025-03-02", "to": "2026-03-01"}).status_code == 200
    # The token and the scopes, the counts, the active users per day, the month's, the busiest (two).
    with django_assert_max_num_queries(7):
        assert reader.get("/api/usage", {"from": "2025-03-02", "to": "2026-03-01"}).status_code == 200
