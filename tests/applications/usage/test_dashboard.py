"""The usage dashboard in the admin console: the index's numbers of every application, and each
application's own chart, webhooks with their last delivery and recent events, as a staff user sees them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from applications.events.models import Delivery
from applications.usage.dashboard import usage_today
from tests.applications.events.factories import make_receiving_webhook
from tests.applications.factories import make_application
from tests.applications.usage.dashboard_data import (
    active_users,
    make_delivery,
    make_event,
    usage_counts,
)
from tests.conftest import staff_sign_in
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db

INDEX_URL = reverse("admin:index")
ADD_URL = reverse("admin:applications_application_add")
# Django's admin (session, user, recent actions) and the dashboard's fixed reads: usage per day (2),
# monthly active users (1), busiest applications (2); on an application's page its own object, form and
# inlines, then usage (2), monthly active users (1), webhooks with their last delivery (1), events (1);
# one more for the "Webhooks (n)" link the events admin adds to the page (16 without it).
INDEX_BUDGET = 8
APPLICATION_PAGE_BUDGET = 17


def change_url(application) -> str:
    return reverse("admin:applications_application_change", args=[application.pk])


def by_testid(html: str, name: str) -> str:
    match = re.search(rf'data-testid="{name}"[^>]*>(.*?)</(?:dd|table|section)>', html, re.S)
    assert match, f"no {name} in the page"
    return match.group(1)


def text(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def rows(table: str) -> list[str]:
    return [text(row) for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S)]


@pytest.fixture
def today():
    return usage_today()


def test_admin_index_shows_totals_chart_and_busiest_applications_of_the_last_30_days(admin_client, today):
    busy, _ = make_application(name="Busy Portal")
    quiet, _ = make_application(name="Quiet Tool")
    make_application(name="Unused App")
    usage_counts(busy, today, sign_ins=7, tokens__authorization_code=7, tokens__refresh_token=20, sign_in_failures=2)
    usage_counts(busy, today - timedelta(days=29), sign_ins=3, tokens__authorization_code=3)
    usage_counts(quiet, today - timedelta(days=3), sign_ins=1, tokens__client_credentials=4, token_errors=5)
    usage_counts(busy, today - timedelta(days=30), sign_ins=1000, tokens__refresh_token=1000)  # outside the window
    alice, bob = UserFactory(), UserFactory()
    active_users(busy, today, [alice, bob])
    active_users(quiet, today, [alice])  # one person, however many applications

    html = admin_client.get(INDEX_URL).content.decode()

    assert text(by_testid(html, "usage-sign-ins")) == "11"
    assert text(by_testid(html, "usage-tokens")) == "34"
    assert text(by_testid(html, "usage-sign-in-failures")) == "2"
    assert text(by_testid(html, "usage-token-errors")) == "5"
    assert text(by_testid(html, "usage-mau")) == "2"
    assert rows(by_testid(html, "usage-busiest")) == ["Busy Portal 10 30", "Quiet Tool 1 4"]
    assert f'href="{change_url(busy)}"' in by_testid(html, "usage-busiest")
    assert html.count('data-testid="usage-chart"') == 1
    assert f"<title>{today.isoformat()}: 7 sign-ins</title>" in html
    assert f"<title>{today.isoformat()}: 27 tokens issued</title>" in html
    assert "usage/dashboard.css" in html
    assert "Quiet Tool" in html and "Unused App" not in by_testid(html, "usage-busiest")
    # Django's own index is still there below.
    assert 'id="content-main"' in html and "Applications" in html


def test_admin_index_monthly_active_users_counts_this_calendar_month_only(admin_client, today):
    app, _ = make_application()
    this_month, last_month = UserFactory(), UserFactory()
    active_users(app, today.replace(day=1), [this_month])
    active_users(app, today.replace(day=1) - timedelta(days=1), [last_month])

    html = admin_client.get(INDEX_URL).content.decode()

    assert text(by_testid(html, "usage-mau")) == "1"


def test_admin_index_without_usage_says_so_and_draws_an_empty_chart(admin_client):
    make_application(name="Fresh App")

    html = admin_client.get(INDEX_URL).content.decode()

    assert text(by_testid(html, "usage-sign-ins")) == "0"
    assert rows(by_testid(html, "usage-busiest")) == ["No sign-ins or tokens in these 30 days."]
    assert "No activity in this period" in html


def test_admin_index_escapes_an_application_name(admin_client, today):
    app, _ = make_application(name="<script>alert(1)</script>")
    usage_counts(app, today, sign_ins=1)

    html = admin_client.get(INDEX_URL).content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in by_testid(html, "usage-busiest")


def test_admin_index_staff_who_may_not_view_applications_sees_no_usage(client, today):
    app, _ = make_application(name="Secret Project")
    usage_counts(app, today, sign_ins=9)
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_user"))
    staff_sign_in(client, staff)

    response = client.get(INDEX_URL)

    assert response.status_code == 200
    assert 'data-testid="usage-overview"' not in response.content.decode()
    assert "Secret Project" not in response.content.decode()


def test_admin_index_viewer_of_applications_sees_usage(client, today):
    app, _ = make_application(name="Visible App")
    usage_counts(app, today, sign_ins=9)
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_application"))
    staff_sign_in(client, staff)

    html = client.get(INDEX_URL).content.decode()

    assert rows(by_testid(html, "usage-busiest")) == ["Visible App 9 0"]


def test_application_page_shows_its_own_usage_only(admin_client, today):
    app, _ = make_application(name="Mine")
    other, _ = make_application(name="Theirs")
    usage_counts(app, today - timedelta(days=1), sign_ins=4, tokens__authorization_code=4, tokens__refresh_token=6)
    usage_counts(other, today, sign_ins=100, tokens__refresh_token=100)
    user = UserFactory()
    active_users(app, today, [user])
    active_users(other, today, [UserFactory(), UserFactory()])

    html = admin_client.get(change_url(app)).content.decode()

    assert text(by_testid(html, "usage-sign-ins")) == "4"
    assert text(by_testid(html, "usage-tokens")) == "10"
    assert text(by_testid(html, "usage-mau")) == "1"
    assert f"<title>{(today - timedelta(days=1)).isoformat()}: 10 tokens issued</title>" in html
    assert "Sign-ins and tokens per day, Mine," in html
    # The form is still the application's form.
    assert 'name="name"' in html and 'value="Mine"' in html


def test_application_page_escapes_its_name_in_the_chart(admin_client):
    app, _ = make_application(name="<script>x</script>")

    html = admin_client.get(change_url(app)).content.decode()

    assert "<script>x</script>" not in html
    assert "Sign-ins and tokens per day, &lt;script&gt;x&lt;/script&gt;," in html


def test_application_page_shows_each_webhooks_last_delivery_status(admin_client):
    app, _ = make_application()
    other, _ = make_application()
    event = make_event(app)
    failing = make_receiving_webhook(application=app, url="https://failing.example.com/hook")[0]
    make_delivery(failing, make_event(app), state=Delivery.State.SUCCEEDED, status_code=204, ago=timedelta(hours=2))
    make_delivery(failing, event, state=Delivery.State.FAILED, status_code=500, attempts=12, last_error="HTTP 500")
    retrying = make_receiving_webhook(application=app, url="https://retrying.example.com/hook")[0]
    make_delivery(retrying, event, state=Delivery.State.PENDING, status_code=503, attempts=2)
    make_receiving_webhook(
        application=app, url="https://new.example.com/hook", enabled=False, disabled_reason="12 consecutive failures"
    )[0]
    make_receiving_webhook(application=other, url="https://other.example.com/hook")[0]

    html = admin_client.get(change_url(app)).content.decode()

    table = by_testid(html, "usage-webhooks")
    found = rows(table)
    assert len(found) == 3
    assert found[0].startswith("https://failing.example.com/hook enabled failed (HTTP 500): HTTP 500, 12 attempts")
    assert found[1].startswith("https://retrying.example.com/hook enabled pending (HTTP 503), 2 attempts queued")
    assert found[2] == "https://new.example.com/hook disabled (12 consecutive failures) none yet"
    assert "other.example.com" not in html


def test_application_page_without_webhooks_or_events_says_so(admin_client):
    app, _ = make_application()

    html = admin_client.get(change_url(app)).content.decode()

    assert rows(by_testid(html, "usage-webhooks")) == ["No webhooks for this application."]
    assert rows(by_testid(html, "usage-events")) == ["No events yet."]


def test_application_page_lists_its_ten_most_recent_events_newest_first(admin_client):
    app, _ = make_application()
    other, _ = make_application()
    base = usage_today_midnight()
    events = [
        make_event(app, type="consent.granted" if i % 2 else "user.signed_in", occurred_at=base + timedelta(minutes=i))
        for i in range(12)
    ]
    make_event(other, type="application.updated", occurred_at=base + timedelta(hours=1))

    html = admin_client.get(change_url(app)).content.decode()

    found = rows(by_testid(html, "usage-events"))
    expected = [
        f"{e.type} {e.occurred_at:%Y-%m-%d %H:%M:%S} {e.public_id}" for e in sorted(events, key=lambda e: e.occurred_at)
    ]
    assert found == list(reversed(expected))[:10]
    assert "application.updated" not in html


def test_application_add_page_has_no_dashboard(admin_client):
    response = admin_client.get(f"{ADD_URL}?type=web")

    assert response.status_code == 200
    assert 'data-testid="usage-application"' not in response.content.decode()


# -- query budgets: fixed, whatever the number of days, applications, webhooks or events --


def seed_busy_deployment(today, *, applications: int, days: int, prefix: str) -> list:
    apps = [make_application(name=f"{prefix} {i}")[0] for i in range(applications)]
    users = [UserFactory() for _ in range(3)]
    for app in apps:
        for offset in range(days):
            day = today - timedelta(days=offset)
            usage_counts(app, day, sign_ins=offset + 1, tokens__authorization_code=offset, tokens__refresh_token=2)
            active_users(app, day, users[: 1 + offset % 3])
        for n in range(3):
            hook = make_receiving_webhook(application=app, url=f"https://hook{n}.example.com/")[0]
            for _ in range(2):
                make_delivery(hook, make_event(app), state=Delivery.State.SUCCEEDED, status_code=200)
    return apps


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_admin_index_queries_do_not_grow_with_applications_or_days(admin_client, today, django_assert_max_num_queries):
    seed_busy_deployment(today, applications=1, days=1, prefix="small")
    few = count_queries(admin_client, INDEX_URL)
    seed_busy_deployment(today, applications=8, days=30, prefix="big")

    with django_assert_max_num_queries(INDEX_BUDGET):
        assert admin_client.get(INDEX_URL).status_code == 200
    assert count_queries(admin_client, INDEX_URL) == few


def test_application_page_queries_do_not_grow_with_days_webhooks_or_events(
    admin_client, today, django_assert_max_num_queries
):
    (small,) = seed_busy_deployment(today, applications=1, days=1, prefix="small")
    few = count_queries(admin_client, change_url(small))
    (big,) = seed_busy_deployment(today, applications=1, days=30, prefix="big")
    for n in range(5):
        make_receiving_webhook(application=big, url=f"https://more{n}.example.com/")[0]

    with django_assert_max_num_queries(APPLICATION_PAGE_BUDGET):
        assert admin_client.get(change_url(big)).status_code == 200
    assert count_queries(admin_client, change_url(big)) == few


def usage_today_midnight() -> datetime:
    return datetime.combine(usage_today(), time(0, 0), tzinfo=UTC)
