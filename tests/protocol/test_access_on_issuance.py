"""An application's access rule holds at every issuance, not only at the authorization endpoint.

A user who loses a role the application requires (or is deactivated) gets `invalid_grant` when a
refresh token, an authorization code minted before the change, or an approved device code is
redeemed; the services that take a role away revoke the user's tokens for those applications at once.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from applications import services as application_services
from applications.models import Scope
from identity import services as identity_services
from identity.models import RoleAssignment
from tests.applications.factories import make_application
from tests.identity.factories import RoleFactory
from tests.protocol.test_device import approve, native_app, poll, rewind_last_poll, start

pytestmark = pytest.mark.django_db(transaction=True)
CALLBACK = "https://rp.example.com/callback"


@pytest.fixture
def subscriber(transactional_db):
    return RoleFactory(name="streaming:subscriber")


@pytest.fixture
def gated(subscriber):
    """A web app that only holders of `streaming:subscriber` may use, and its secret."""
    allowed = list(Scope.objects.filter(name__in=["openid", "profile", "offline_access"]))
    return make_application(
        type="web", redirect_uris=CALLBACK, allowed_scopes=allowed, trusted=True, required_roles=[subscriber]
    )


def authorization_code(server, browser, user, application, secret) -> tuple[OAuth2Session, str]:
    client = OAuth2Session(application.client_id, secret, scope="openid profile offline_access", redirect_uri=CALLBACK)
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    browser.sign_in(user.email)
    return client, browser.authorize(url).headers["Location"]


def redeem(server, application, secret, location: str) -> requests.Response:
    code = parse_qs(urlsplit(location).query)["code"][0]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    return requests.post(server.url("/oauth/token"), data=data, auth=(application.client_id, secret), timeout=10)


def test_refresh_after_role_removed_by_the_service_is_invalid_grant(server, browser, user, subscriber, gated):
    application, secret = gated
    identity_services.role_assign(actor=None, user=user, role=subscriber)
    client, location = authorization_code(server, browser, user, application, secret)
    tokens = client.fetch_token(server.url("/oauth/token"), authorization_response=location)
    assert server.userinfo_status(tokens["access_token"]) == 200

    identity_services.role_unassign(actor=None, user=user, role=subscriber)

    refreshed = server.refresh(application, secret, tokens["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"
    assert server.userinfo_status(tokens["access_token"]) == 401  # revoked at once, not at expiry


def test_refresh_after_role_assignment_deleted_outside_the_services_is_invalid_grant(
    server, browser, user, subscriber, gated
):
    # The admin's role inline deletes the assignment row itself: the rule is checked when the token is asked for.
    application, secret = gated
    identity_services.role_assign(actor=None, user=user, role=subscriber)
    client, location = authorization_code(server, browser, user, application, secret)
    tokens = client.fetch_token(server.url("/oauth/token"), authorization_response=location)

    RoleAssignment.objects.filter(user=user, role=subscriber).delete()

    refreshed = server.refresh(application, secret, tokens["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"


def test_code_minted_before_role_removed_is_invalid_grant(server, browser, user, subscriber, gated):
    application, secret = gated
    identity_services.role_assign(actor=None, user=user, role=subscriber)
    _, location = authorization_code(server, browser, user, application, secret)
    assert "code=" in location

    identity_services.role_unassign(actor=None, user=user, role=subscriber)

    response = redeem(server, application, secret, location)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_redeems_while_the_user_keeps_the_role(server, browser, user, subscriber, gated):
    application, secret = gated
    identity_services.role_assign(actor=None, user=user, role=subscriber)
    _, location = authorization_code(server, browser, user, application, secret)

    response = redeem(server, application, secret, location)
    assert response.status_code == 200, response.text
    assert server.refresh(application, secret, response.json()["refresh_token"]).status_code == 200


def test_refresh_after_the_application_requires_a_role_the_user_lacks_is_invalid_grant(
    server, browser, user, subscriber, gated
):
    application, secret = gated
    identity_services.role_assign(actor=None, user=user, role=subscriber)
    client, location = authorization_code(server, browser, user, application, secret)
    tokens = client.fetch_token(server.url("/oauth/token"), authorization_response=location)
    staff = RoleFactory(name="staff")

    application_services.application_update(actor=None, application=application, required_roles=[subscriber, staff])

    refreshed = server.refresh(application, secret, tokens["refresh_token"])
    assert refreshed.json()["error"] == "invalid_grant"
    assert server.userinfo_status(tokens["access_token"]) == 401


def test_device_code_redeemed_after_role_removed_is_invalid_grant(server, browser, user, subscriber):
    application = native_app(required_roles=[subscriber])
    identity_services.role_assign(actor=None, user=user, role=subscriber)
    started = start(server, application).json()
    approve(browser, user, started["user_code"])

    identity_services.role_unassign(actor=None, user=user, role=subscriber)

    rewind_last_poll(started["device_code"], 5)
    response = poll(server, application.client_id, started["device_code"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
