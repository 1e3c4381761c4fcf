"""auth_methods enforced across single sign-on, against a running server (Authlib as the client)."""

from __future__ import annotations

import pytest
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore

from applications.models import Application, Scope
from identity.auth_time import SIGN_IN_METHOD_SESSION_KEY
from tests.applications.factories import make_application
from tests.identity.federation.factories import make_provider
from tests.protocol.conftest import query_of
from tests.protocol.test_device import approve, enter_code, native_app, poll, rewind_last_poll, start

pytestmark = pytest.mark.django_db(transaction=True)

CALLBACK = "https://rp.example.com/callback"


def trusted_app(name: str):
    return make_application(
        type="web",
        name=name,
        redirect_uris=CALLBACK,
        allowed_scopes=list(Scope.objects.filter(name="openid")),
        trusted=True,
    )


@pytest.fixture
def apps():
    """A accepts passwords only; B accepts only its GitHub provider X."""
    app_a, secret_a = trusted_app("Password App")
    Application.objects.filter(pk=app_a.pk).update(auth_methods=["password"])
    app_b, secret_b = trusted_app("GitHub App")
    provider_x = make_provider(app_b, type="github")
    Application.objects.filter(pk=app_b.pk).update(auth_methods=[str(provider_x.pk)])
    return (app_a, secret_a), (app_b, secret_b), provider_x


def authorization_url(server, application, secret, **params) -> tuple[str, str]:
    client = OAuth2Session(application.client_id, secret, scope="openid", redirect_uri=CALLBACK)
    return client.create_authorization_url(server.url("/oauth/authorize"), **params)


def session_signed_in_with(browser, provider_id: int) -> None:
    """What a social sign-in records (identity.auth_time's contract), written into this browser's session."""
    store = SessionStore(session_key=browser.session.cookies[settings.SESSION_COOKIE_NAME])
    store[SIGN_IN_METHOD_SESSION_KEY] = {"method": "provider", "provider_id": provider_id}
    store.save()


def test_password_session_is_single_sign_on_for_a_password_app_but_not_for_a_provider_only_app(
    server, browser, user, apps
):
    (app_a, secret_a), (app_b, secret_b), _ = apps
    assert browser.sign_in(user.email).status_code == 302

    url, _ = authorization_url(server, app_a, secret_a, prompt="none")
    assert "code" in query_of(browser.get(url))

    url, state = authorization_url(server, app_b, secret_b, prompt="none")
    silent = query_of(browser.get(url))
    assert silent["error"] == "login_required"
    assert silent["state"] == state

    url, _ = authorization_url(server, app_b, secret_b)
    asked = browser.get(url)
    assert asked.status_code == 302
    assert asked.headers["Location"].startswith("/login?next=")
    page = browser.get(server.url(asked.headers["Location"]))
    assert page.status_code == 200
    assert "Sign in to GitHub App" in page.text
    assert 'data-testid="login-form"' not in page.text
    assert 'type="password"' not in page.text


def test_provider_session_passes_where_that_upstream_is_accepted_and_nowhere_else(server, browser, user, apps):
    (app_a, secret_a), (app_b, secret_b), provider_x = apps
    browser.sign_in(user.email)
    session_signed_in_with(browser, provider_x.pk)

    url, _ = authorization_url(server, app_b, secret_b, prompt="none")
    assert "code" in query_of(browser.get(url))

    url, _ = authorization_url(server, app_a, secret_a, prompt="none")
    assert query_of(browser.get(url))["error"] == "login_required"

    # Another app's GitHub provider is the same upstream: its sessions are single sign-on at B too.
    elsewhere, _ = trusted_app("Elsewhere")
    session_signed_in_with(browser, make_provider(elsewhere, type="github").pk)
    url, _ = authorization_url(server, app_b, secret_b, prompt="none")
    assert "code" in query_of(browser.get(url))


def test_device_page_sends_a_session_of_a_refused_method_to_sign_in_again(server, browser, user):
    application = native_app()
    provider = make_provider(application, type="github")
    Application.objects.filter(pk=application.pk).update(auth_methods=[str(provider.pk)])
    user_code = start(server, application).json()["user_code"]
    browser.sign_in(user.email)

    typed = enter_code(browser, user_code)

    assert typed.status_code == 302
    assert typed.headers["Location"].startswith("/login?next=/device%3Fuser_code%3D")
    session_signed_in_with(browser, provider.pk)
    assert 'data-testid="device-approve"' in enter_code(browser, user_code).text


# --- amr in ID tokens -----------------------------------------------------------------------------
def code_flow_tokens(server, browser, application, secret) -> tuple[OAuth2Session, dict]:
    client = OAuth2Session(application.client_id, secret, scope="openid offline_access", redirect_uri=CALLBACK)
    url, _ = client.create_authorization_url(server.url("/oauth/authorize"))
    back = browser.authorize(url)
    assert "code" in query_of(back), back.headers.get("Location")
    return client, client.fetch_token(server.url("/oauth/token"), authorization_response=back.headers["Location"])


def offline_app(name: str):
    return make_application(
        type="web",
        name=name,
        redirect_uris=CALLBACK,
        allowed_scopes=list(Scope.objects.filter(name__in=["openid", "offline_access"])),
        trusted=True,
    )


def test_password_sign_in_gives_amr_pwd_in_the_code_and_refreshed_id_tokens(server, browser, user):
    application, secret = offline_app("Password App")
    browser.sign_in(user.email)

    _, token = code_flow_tokens(server, browser, application, secret)
    claims = server.decode_id_token(token["id_token"], client_id=application.client_id)
    assert claims["amr"] == ["pwd"]

    refreshed = server.refresh(application, secret, token["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    claims = server.decode_id_token(refreshed.json()["id_token"], client_id=application.client_id)
    assert claims["amr"] == ["pwd"]
    assert "amr" in server.discovery()["claims_supported"]


def test_provider_sign_in_gives_amr_fed_in_the_code_and_refreshed_id_tokens(server, browser, user):
    application, secret = offline_app("GitHub App")
    provider = make_provider(application, type="github")
    browser.sign_in(user.email)
    session_signed_in_with(browser, provider.pk)

    _, token = code_flow_tokens(server, browser, application, secret)
    assert server.decode_id_token(token["id_token"], client_id=application.client_id)["amr"] == ["fed"]

    refreshed = server.refresh(application, secret, token["refresh_token"])
    assert server.decode_id_token(refreshed.json()["id_token"], client_id=application.client_id)["amr"] == ["fed"]


def test_device_flow_id_token_carries_the_approving_sign_ins_amr(server, browser, user):
    application = native_app()
    started = start(server, application, scope="openid").json()
    assert approve(browser, user, started["user_code"]).status_code == 200

    rewind_last_poll(started["device_code"], 5)
    tokens = poll(server, application.client_id, started["device_code"])
    assert tokens.status_code == 200, tokens.text
    assert server.decode_id_token(tokens.json()["id_token"], client_id=application.client_id)["amr"] == ["pwd"]
