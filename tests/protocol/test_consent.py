"""Consent across sign-ins: asked once, asked again only for new scopes, remembered beyond tokens."""

from __future__ import annotations

import pytest
from authlib.integrations.requests_client import OAuth2Session

from applications.models import Scope
from tests.applications.factories import make_application
from tests.protocol.conftest import query_of

pytestmark = pytest.mark.django_db(transaction=True)
CALLBACK = "http://localhost:5173/callback"


def spa():
    allowed = list(Scope.objects.filter(name__in=["openid", "profile", "email"]))
    return make_application(
        type="spa", redirect_uris=CALLBACK, allowed_origins="http://localhost:5173", allowed_scopes=allowed
    )[0]


def authorization_url(server, application, scope: str, **extra) -> str:
    client = OAuth2Session(application.client_id, scope=scope, redirect_uri=CALLBACK, code_challenge_method="S256")
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"), code_verifier="v" * 64, **extra)
    return url


def test_consent_asked_once_then_remembered_even_without_tokens(server, browser, user):
    application = spa()
    browser.sign_in(user.email)
    first = browser.get(authorization_url(server, application, "openid profile"))
    assert 'data-testid="consent-approve"' in first.text
    assert first.text.count('data-testid="consent-new-scope"') == 2
    assert "code" in query_of(browser.consent(first))

    # No token was ever redeemed: consent is a record of its own, not inferred from tokens.
    second = browser.get(authorization_url(server, application, "openid profile"))
    assert second.status_code == 302
    assert "code" in query_of(second)
    silent = browser.get(authorization_url(server, application, "openid", prompt="none"))
    assert "code" in query_of(silent)


def test_new_scope_reprompts_and_marks_only_the_new_one(server, browser, user):
    application = spa()
    browser.sign_in(user.email)
    browser.consent(browser.get(authorization_url(server, application, "openid")))

    page = browser.get(authorization_url(server, application, "openid email"))

    assert page.status_code == 200
    assert page.text.count('data-testid="consent-new-scope"') == 1
    new_item = page.text.split('data-testid="consent-new-scope"')[0].rsplit("<li>", 1)[1]
    assert "(email)" in new_item
    assert (
        query_of(browser.get(authorization_url(server, application, "openid email", prompt="none")))["error"]
        == "consent_required"
    )


def test_deny_records_nothing(server, browser, user):
    from consent.models import Consent

    application = spa()
    browser.sign_in(user.email)
    denied = browser.consent(browser.get(authorization_url(server, application, "openid")), "deny")
    assert query_of(denied)["error"] == "access_denied"
    assert not Consent.objects.exists()
