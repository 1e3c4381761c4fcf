"""The end-user journeys in a real browser: sign-in, consent, deny, no access, trusted apps."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.integrations.requests_client import OAuth2Session

from applications.models import Scope
from tests.applications.factories import make_application
from tests.identity.factories import RoleFactory
from tests.protocol.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)
# The SPA is not running; its registered callback is a path on the live server (a 404 page
# there is fine: the test reads the URL the browser landed on).
CALLBACK_PATH = "/spa/callback"


def spa(server, **fields):
    allowed = list(Scope.objects.filter(name__in=["openid", "profile", "email"]))
    return make_application(
        type="spa",
        name=fields.pop("name", "Streaming SPA"),
        redirect_uris=server.url(CALLBACK_PATH),
        allowed_origins=server.base,
        allowed_scopes=allowed,
        **fields,
    )[0]


def authorization_url(server, application, scope: str) -> str:
    client = OAuth2Session(
        application.client_id, scope=scope, redirect_uri=server.url(CALLBACK_PATH), code_challenge_method="S256"
    )
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"), code_verifier="v" * 64)
    return url


@pytest.fixture
def app_callback(page):
    return page


def sign_in(page, email: str) -> None:
    page.get_by_test_id("login-form").get_by_label("Email").fill(email)
    page.get_by_test_id("login-form").get_by_label("Password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()


def landed_params(page) -> dict[str, str]:
    page.wait_for_url(f"**{CALLBACK_PATH}?**")
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def test_first_sign_in_asks_consent_then_returns_code_and_second_sign_in_skips_it(
    server, app_callback, user, screenshot
):
    page = app_callback
    application = spa(server)
    page.goto(authorization_url(server, application, "openid profile"))
    screenshot("sign-in")
    sign_in(page, user.email)
    page.get_by_test_id("consent-approve").wait_for()
    screenshot("consent")
    assert page.get_by_test_id("consent-new-scope").count() == 2
    page.get_by_test_id("consent-approve").click()
    params = landed_params(page)
    assert "code" in params
    assert params["iss"] == server.base

    page.goto(authorization_url(server, application, "openid profile"))
    assert "code" in landed_params(page)


def test_new_scope_reprompts_and_marks_only_the_new_one(server, app_callback, user):
    page = app_callback
    application = spa(server)
    page.goto(authorization_url(server, application, "openid"))
    sign_in(page, user.email)
    page.get_by_test_id("consent-approve").click()
    landed_params(page)

    page.goto(authorization_url(server, application, "openid email"))
    new = page.get_by_test_id("consent-new-scope")
    assert new.count() == 1
    assert "email" in page.get_by_test_id("consent-scopes").locator("li", has=new).inner_text()


def test_deny_returns_access_denied(server, app_callback, user):
    page = app_callback
    page.goto(authorization_url(server, spa(server), "openid"))
    sign_in(page, user.email)
    page.get_by_test_id("consent-deny").click()
    params = landed_params(page)
    assert params["error"] == "access_denied"
    assert "code" not in params


def test_user_without_required_role_sees_no_access_page_and_gets_no_code(server, app_callback, user, screenshot):
    page = app_callback
    application = spa(server, required_roles=[RoleFactory(name="streaming:subscriber")])
    page.goto(authorization_url(server, application, "openid"))
    sign_in(page, user.email)
    page.get_by_test_id("access-denied").wait_for()
    screenshot("no-access")
    assert application.name in page.get_by_test_id("access-denied").inner_text()
    assert CALLBACK_PATH not in page.url


def test_trusted_app_skips_consent(server, app_callback, user):
    page = app_callback
    page.goto(authorization_url(server, spa(server, trusted=True), "openid"))
    sign_in(page, user.email)
    assert "code" in landed_params(page)
