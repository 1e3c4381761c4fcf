"""The usage dashboard in a real browser: the admin index and an application's page draw their SVG charts
with nothing a strict Content-Security-Policy refuses. Screenshots go to artifacts/screenshots/, or, with
LATCHKEY_DOC_SCREENSHOTS=1, to docs/screenshots/ for the README (so a test run leaves the checkout as it was)."""

from __future__ import annotations

import os
import random
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

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
from tests.browser.conftest import SCREENSHOTS
from tests.identity.factories import UserFactory
from tests.identity.mfa.helpers import totp_code
from tests.protocol.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DOCS_SCREENSHOTS = DOCS if os.environ.get("LATCHKEY_DOC_SCREENSHOTS") else SCREENSHOTS
# Stricter than the admin needs (it sends no CSP of its own): no inline script or style at all, no CDN.
STRICT_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'"


def seed_month(today) -> dict:
    """About 30 days of varied usage for a few applications, with webhooks, deliveries and events."""
    rng = random.Random(17)
    users = [UserFactory() for _ in range(12)]
    apps = {
        "Streaming Web": make_application(name="Streaming Web")[0],
        "Streaming TV": make_application(type="native", name="Streaming TV")[0],
        "Billing Service": make_application(type="m2m", name="Billing Service")[0],
        "Partner Portal": make_application(name="Partner Portal")[0],
    }
    scale = {"Streaming Web": 40, "Streaming TV": 18, "Billing Service": 0, "Partner Portal": 6}
    for offset in range(30):
        day = today - timedelta(days=offset)
        weekend = day.weekday() >= 5
        for name, app in apps.items():
            base = scale[name] * (0.6 if weekend else 1.0) * (1 + (29 - offset) / 60)
            sign_ins = int(base * rng.uniform(0.7, 1.3))
            metrics = {
                "sign_ins": sign_ins,
                "tokens__authorization_code": sign_ins,
                "tokens__refresh_token": int(sign_ins * rng.uniform(1.5, 2.5)),
                "sign_in_failures": rng.randint(0, 3) if sign_ins else 0,
            }
            if name == "Billing Service":
                metrics = {"tokens__client_credentials": rng.randint(20, 35)}
            usage_counts(app, day, **{k: v for k, v in metrics.items() if v})
            if sign_ins:
                active_users(app, day, rng.sample(users, min(len(users), max(1, sign_ins // 4))))
    web = apps["Streaming Web"]
    ok = make_receiving_webhook(application=web, url="https://hooks.streaming.example.com/latchkey")[0]
    flaky = make_receiving_webhook(application=web, url="https://crm.example.net/webhooks/identity")[0]
    make_receiving_webhook(
        application=web,
        url="https://old.example.org/hook",
        enabled=False,
        disabled_reason="disabled after 20 consecutive failures",
    )[0]
    for n in range(12, 0, -1):
        ago = timedelta(minutes=7 * n)
        kind = rng.choice(["user.signed_in", "consent.granted", "tokens.revoked"])
        event = make_event(web, type=kind, occurred_at=timezone.now() - ago)
        make_delivery(ok, event, state=Delivery.State.SUCCEEDED, status_code=204, ago=ago)
    pending = Delivery.State.PENDING
    make_delivery(flaky, event, state=pending, status_code=503, attempts=3, last_error="HTTP 503", ago=ago)
    return apps


@pytest.fixture
def staff(db):
    return UserFactory(email="operator@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def strict_csp(page):
    """Every admin page answered with a strict CSP, and the violations the console reports collected."""
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    def with_policy(route):
        response = route.fetch(max_redirects=0)  # the browser follows redirects itself, so its URL is true
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT_POLICY})

    page.route(lambda url: urlsplit(url).path.startswith("/admin/"), with_policy)
    return violations


def admin_sign_in(page, email: str) -> None:
    """As a staff member meets the console the first time: our sign-in page, then setting up the second factor
    it requires (an authenticator app), then the console."""
    page.goto("/admin/")
    form = page.get_by_test_id("login-form")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("second-factor-totp").click()
    secret = page.get_by_test_id("totp-secret").inner_text()
    page.get_by_label("Code from the app").fill(totp_code(secret))
    page.get_by_test_id("totp-activate-submit").click()
    page.get_by_test_id("second-factor-continue").click()
    page.wait_for_url("**/admin/", wait_until="domcontentloaded")


def test_admin_dashboard_draws_usage_charts_under_a_strict_csp(page, staff, strict_csp):
    apps = seed_month(usage_today())
    DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    admin_sign_in(page, staff.email)
    # Loaded afresh: the page a fulfilled redirect leads to is not routed again, so it would lack the policy.
    page.goto("/admin/")
    overview = page.get_by_test_id("usage-overview")
    chart = overview.get_by_test_id("usage-chart")
    assert chart.is_visible()
    assert chart.bounding_box()["width"] > 400
    assert overview.locator("polyline").count() == 2
    assert overview.locator("circle").count() == 60
    busiest = overview.get_by_test_id("usage-busiest").locator("tbody th").all_inner_texts()
    assert busiest[:2] == ["Streaming Web", "Streaming TV"]
    page.screenshot(path=str(DOCS_SCREENSHOTS / "admin-dashboard.png"), full_page=True)

    overview.get_by_role("link", name="Streaming Web").click()
    section = page.get_by_test_id("usage-application")
    section.wait_for()
    assert section.get_by_test_id("usage-chart").is_visible()
    webhooks = section.get_by_test_id("usage-webhooks").locator("tbody tr").all_inner_texts()
    assert "succeeded (HTTP 204)" in webhooks[0]
    assert "pending (HTTP 503)" in webhooks[1]
    assert "disabled" in webhooks[2]
    assert section.get_by_test_id("usage-events").locator("tbody tr").count() == 10
    assert page.locator("#id_name").input_value() == apps["Streaming Web"].name  # the form is still there
    page.screenshot(path=str(DOCS_SCREENSHOTS / "admin-application-usage.png"))

    assert strict_csp == []
