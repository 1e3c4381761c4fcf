"""Revoking an app on /account/apps, end to end: its tokens stop at once, other apps' tokens keep working."""

from __future__ import annotations

import re

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from django.utils.html import escape

from applications.models import Scope
from tests.applications.factories import make_application

pytestmark = pytest.mark.django_db(transaction=True)
CALLBACK = "https://rp.example.com/callback"
SCOPE = "openid profile offline_access"


def untrusted_web_app(name: str):
    allowed = list(Scope.objects.filter(name__in=SCOPE.split()))
    return make_application(type="web", name=name, redirect_uris=CALLBACK, allowed_scopes=allowed)


def tokens_through_consent(server, browser, application, secret) -> dict:
    client = OAuth2Session(application.client_id, secret, scope=SCOPE, redirect_uri=CALLBACK)
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    page = browser.get(url)
    assert 'data-testid="consent-approve"' in page.text  # an untrusted app asks the first time
    response = browser.consent(page, "allow")
    return client.fetch_token(server.url("/oauth/token"), authorization_response=response.headers["Location"])


def revoke_on_my_apps(browser, app_name: str) -> requests.Response:
    """Press the revoke button of `app_name`'s entry, as a browser without JavaScript submits it."""
    page = browser.get(browser.server.url("/account/apps"))
    assert page.status_code == 200
    entry = next(item for item in page.text.split('data-testid="authorized-app"')[1:] if app_name in item)
    action = re.search(r'<form method="post" action="([^"]+)">', entry).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', entry).group(1)
    return browser.session.post(
        browser.server.url(action),
        data={"csrfmiddlewaretoken": token},
        headers={"Referer": page.url},
        allow_redirects=False,
        timeout=10,
    )


def test_account_apps_revoke_makes_earlier_refresh_token_invalid_grant(server, browser, user):
    streaming, streaming_secret = untrusted_web_app("Streaming")
    other, other_secret = untrusted_web_app("Other")
    browser.sign_in(user.email)
    tokens = tokens_through_consent(server, browser, streaming, streaming_secret)
    other_tokens = tokens_through_consent(server, browser, other, other_secret)
    listing = browser.get(server.url("/account/apps")).text
    assert listing.count('data-testid="authorized-app"') == 2
    assert escape(Scope.objects.get(name="offline_access").description) in listing

    response = revoke_on_my_apps(browser, "Streaming")

    assert response.status_code == 302
    assert response.headers["Location"] == "/account/apps"
    after = browser.get(server.url("/account/apps")).text
    assert "Streaming can no longer access your account." in after
    assert after.count('data-testid="authorized-app"') == 1
    refreshed = server.refresh(streaming, streaming_secret, tokens["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"
    assert server.userinfo_status(tokens["access_token"]) == 401
    # Only that app: the other one's tokens still work.
    assert server.userinfo_status(other_tokens["access_token"]) == 200
    assert server.refresh(other, other_secret, other_tokens["refresh_token"]).status_code == 200


def test_account_apps_after_revoke_the_app_asks_for_consent_again(server, browser, user):
    application, secret = untrusted_web_app("Streaming")
    browser.sign_in(user.email)
    tokens_through_consent(server, browser, application, secret)

    revoke_on_my_apps(browser, "Streaming")

    # tokens_through_consent asserts the consent page is shown again.
    tokens = tokens_through_consent(server, browser, application, secret)
    assert server.userinfo_status(tokens["access_token"]) == 200


def test_account_apps_revoke_without_csrf_token_is_refused(server, browser, user):
    application, secret = untrusted_web_app("Streaming")
    browser.sign_in(user.email)
    tokens = tokens_through_consent(server, browser, application, secret)
    page = browser.get(server.url("/account/apps"))
    action = re.search(r'<form method="post" action="([^"]+)">', page.text).group(1)

    response = browser.session.post(
        server.url(action), headers={"Referer": page.url}, allow_redirects=False, timeout=10
    )

    assert response.status_code == 403
    assert server.userinfo_status(tokens["access_token"]) == 200
