"""Account protection as a person sees it: a burst of wrong passwords slowed, then locked out with a page that
says what to do; a session on another device ended from the account page."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_journeys import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_burst_of_wrong_passwords_is_locked_out_with_a_clear_page(server, page, user, settings, screenshot):
    settings.LATCHKEY_SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP = 3
    statuses = []
    page.on("response", lambda r: statuses.append(r.status) if r.url.endswith("/login") else None)
    page.goto("/login")

    for _ in range(4):
        form = page.get_by_test_id("login-form")
        form.get_by_label("Email").fill(user.email)
        form.get_by_label("Password").fill("not the password")
        page.get_by_test_id("login-submit").click()
        page.get_by_test_id("login-form").wait_for()

    throttled = page.get_by_test_id("login-throttled")
    assert throttled.is_visible()
    assert re.search(r"Try again in \d+ minutes?, or reset your password", throttled.inner_text())
    assert statuses[-4:] == [200, 200, 200, 429]
    screenshot("sign-in-locked")


def test_a_session_on_another_device_is_ended_from_the_account_page(server, chromium, page, user, screenshot):
    phone = chromium.new_context(
        base_url=server.base,
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.0 Mobile/15E148 Safari/604.1",
    ).new_page()
    phone.goto("/login?next=/account/")
    sign_in(phone, user.email)
    phone.get_by_test_id("account-sessions").wait_for()
    page.goto("/login?next=/account/")
    sign_in(page, user.email)

    sessions = page.get_by_test_id("account-session")
    assert sessions.count() == 2
    other = sessions.filter(has_text="Safari on iOS")
    screenshot("account-sessions")
    other.get_by_role("button", name="Sign out this session").click()

    assert page.get_by_test_id("account-session").count() == 1
    assert "(this device)" in page.get_by_test_id("account-session").inner_text()
    phone.goto("/account/")
    phone.get_by_test_id("login-form").wait_for()  # the phone must sign in again
    phone.context.close()
