"""Pages look like the application: colours, logo or initial, in a real browser; plus /account/apps."""

from __future__ import annotations

import pytest
import requests

from tests.browser.test_journeys import CALLBACK_PATH, authorization_url, landed_params, sign_in, spa

pytestmark = pytest.mark.django_db(transaction=True)

LOGO = "https://cdn.example.com/streaming-logo.svg"
# Served by the test in place of the (unreachable) CDN, so the logo really renders.
LOGO_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48" viewBox="0 0 48 48">'
    b'<rect width="48" height="48" rx="10" fill="#6D28D9"/><path d="M18 14l18 10-18 10z" fill="#F59E0B"/></svg>'
)


def rgb(hex_colour: str) -> str:
    return "rgb({}, {}, {})".format(*(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)))


def test_consent_page_carries_the_apps_colours_and_logo(server, page, user, screenshot):
    # The logo host is not reachable from here; answer it so the page renders without a broken image.
    page.route(LOGO, lambda route: route.fulfill(status=200, body=LOGO_SVG, content_type="image/svg+xml"))
    application = spa(server, branding={"logo_url": LOGO, "primary_color": "#6D28D9", "secondary_color": "#F59E0B"})
    page.goto(authorization_url(server, application, "openid profile"))
    sign_in(page, user.email)

    approve = page.get_by_test_id("consent-approve")
    approve.wait_for()
    assert approve.evaluate("e => getComputedStyle(e).backgroundColor") == rgb("#6D28D9")
    # White text on a dark violet passes WCAG AA; the page chose it, not the admin.
    assert approve.evaluate("e => getComputedStyle(e).color") == rgb("#FFFFFF")
    assert page.get_by_test_id("brand-logo").get_attribute("src") == LOGO
    assert page.get_by_test_id("brand-initial").count() == 0
    assert application.name in page.get_by_test_id("brand-name").inner_text()
    screenshot("consent-branded")


def test_app_without_logo_shows_its_initial_and_a_light_brand_gets_dark_button_text(server, page, user):
    application = spa(server, name="Quokka Player", branding={"primary_color": "#FDE68A"})
    page.goto(authorization_url(server, application, "openid"))
    assert page.get_by_test_id("brand-initial").inner_text() == "Q"
    assert page.get_by_test_id("brand-logo").count() == 0
    sign_in(page, user.email)
    approve = page.get_by_test_id("consent-approve")
    assert approve.evaluate("e => getComputedStyle(e).backgroundColor") == rgb("#FDE68A")
    assert approve.evaluate("e => getComputedStyle(e).color") == rgb("#111111")


def test_sign_in_page_for_an_app_is_branded_and_no_csp_violations(server, page, user, screenshot):
    violations = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    application = spa(server, branding={"primary_color": "#0F766E"})
    page.goto(authorization_url(server, application, "openid"))
    submit = page.get_by_test_id("login-submit")
    assert submit.evaluate("e => getComputedStyle(e).backgroundColor") == rgb("#0F766E")
    screenshot("sign-in-branded")
    sign_in(page, user.email)
    page.get_by_test_id("consent-approve").click()
    landed_params(page)
    assert violations == []


def test_revoking_in_account_apps_makes_the_apps_refresh_token_fail(server, page, user, screenshot):
    from authlib.integrations.requests_client import OAuth2Session

    from applications.models import Scope

    application = spa(server)
    application.allowed_scopes.add(Scope.objects.get(name="offline_access"))
    client = OAuth2Session(
        application.client_id,
        scope="openid offline_access",
        redirect_uri=server.url(CALLBACK_PATH),
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = "v" * 64
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"), code_verifier=verifier)
    page.goto(url)
    sign_in(page, user.email)
    page.get_by_test_id("consent-approve").click()
    landed_params(page)
    token = client.fetch_token(server.url("/oauth/token"), authorization_response=page.url, code_verifier=verifier)

    page.goto(server.url("/account/apps"))
    item = page.get_by_test_id("authorized-app").filter(has_text=application.name)
    assert item.count() == 1
    screenshot("account-apps")
    item.get_by_test_id("authorized-app-revoke").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("authorized-app").filter(has_text=application.name).count() == 0

    refreshed = requests.post(
        server.url("/oauth/token"),
        timeout=10,
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": application.client_id,
        },
    )
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"


def test_every_end_user_page_renders_and_is_captured(server, page, user, screenshot):
    """A screenshot of each remaining page (artifacts/screenshots/), each with its brand or the default."""
    page.goto(server.url("/oauth/authorize?response_type=code&client_id=unknown&scope=openid"))
    assert page.get_by_test_id("oauth-error").is_visible()
    screenshot("error")

    page.goto(server.url("/login"))
    sign_in(page, user.email)
    page.goto(server.url("/device"))
    assert page.get_by_test_id("device-code-input").is_visible()
    screenshot("device")

    page.goto(server.url("/oauth/logout"))
    assert page.get_by_test_id("logout-confirm").is_visible()
    screenshot("sign-out-confirm")
    page.get_by_test_id("logout-confirm").click()
    page.wait_for_load_state()
    screenshot("signed-out")
    assert page.get_by_test_id("brand-name").is_visible()
