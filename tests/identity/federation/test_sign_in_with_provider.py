"""Signing in with an application's providers (allauth.socialaccount behind identity.federation.adapter).

Only the HTTP layer is faked (config.outbound.fetch answers from recorded upstream responses in
upstream/); allauth, our adapter, the guarded session, the session state and the pages are real.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount, SocialApp
from django.urls import reverse

from applications.events.models import Event
from config import outbound
from identity.auth_time import SIGN_IN_METHOD_SESSION_KEY
from identity.federation.adapter import allauth_provider_id, login_url
from identity.models import AuditEvent, User
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory
from tests.identity.federation.factories import SECRET, make_provider
from tests.identity.federation.upstream_fake import Upstream, fixture, next_for, state_of, unsigned_id_token

pytestmark = pytest.mark.django_db

GITHUB_TOKEN = "https://github.com/login/oauth/access_token"
GOOGLE_TOKEN = "https://oauth2.googleapis.com/token"
MICROSOFT_TOKEN = "https://login.microsoftonline.com/common/oauth2/v2.0/token"
IDP = "https://idp.example.com"


@pytest.fixture(autouse=True)
def open_registration(settings):
    settings.LATCHKEY_REGISTRATION = "open"


def install(monkeypatch, routes) -> Upstream:
    upstream = Upstream(routes)
    monkeypatch.setattr(outbound, "fetch", upstream.fetch)
    return upstream


def callback_url(provider) -> str:
    if provider.type == "oidc":
        return reverse("openid_connect_callback", kwargs={"provider_id": allauth_provider_id(provider)})
    return reverse(f"{provider.type}_callback")


def start(client, provider, application):
    response = client.post(login_url(provider), {"next": next_for(application), "process": "login"})
    assert response.status_code == 302, response.content.decode()[:500]
    return response


def sign_in(client, provider, application, **callback_params):
    state = state_of(start(client, provider, application)["Location"])
    return client.get(callback_url(provider), {"code": "upstream-code", "state": state, **callback_params})


def github_routes():
    return {
        ("POST", GITHUB_TOKEN): fixture("github_token.json"),
        ("GET", "https://api.github.com/user"): fixture("github_user.json"),
        ("GET", "https://api.github.com/user/emails"): fixture("github_emails.json"),
    }


def google_routes(**claims):
    id_token = unsigned_id_token({**fixture("google_claims.json"), **claims})
    return {("POST", GOOGLE_TOKEN): {"access_token": "ya29.a0", "expires_in": 3599, "id_token": id_token}}


def microsoft_routes():
    return {
        ("POST", MICROSOFT_TOKEN): {"access_token": "eyJ0eXAi", "expires_in": 3599, "token_type": "Bearer"},
        ("GET", "https://graph.microsoft.com/v1.0/me"): fixture("microsoft_me.json"),
    }


def oidc_routes(*, userinfo=None):
    return {
        ("GET", f"{IDP}/.well-known/openid-configuration"): fixture("oidc_discovery.json"),
        ("POST", f"{IDP}/token"): {
            "access_token": "at-1",
            "token_type": "Bearer",
            "id_token": unsigned_id_token({"iss": IDP, "aud": "oidc-client-id", "sub": "248289761001"}),
        },
        ("GET", f"{IDP}/userinfo"): userinfo or fixture("oidc_userinfo.json"),
    }


# --- the sign-in page ------------------------------------------------------------------------------


def test_sign_in_page_offers_a_button_per_enabled_provider_posting_to_its_login_with_next(client):
    application, _ = make_application()
    github = make_provider(application, type="github")
    make_provider(application, type="google", enabled=False)
    response = client.get("/login", {"next": next_for(application)})
    page = response.content.decode()
    assert "Continue with GitHub" in page and "Google" not in page
    assert f'action="{login_url(github)}"' in page
    assert 'name="csrfmiddlewaretoken"' in page.split(f'action="{login_url(github)}"')[1].split("</form>")[0]
    assert "https://github.com" in response["Content-Security-Policy"].split("form-action")[1].split(";")[0]


def test_sign_in_page_without_password_shows_only_the_buttons(client):
    application, _ = make_application()
    github = make_provider(application, type="github")
    type(application).objects.filter(pk=application.pk).update(auth_methods=[str(github.pk)])  # no "password"
    page = client.get("/login", {"next": next_for(application)}).content.decode()
    assert "Continue with GitHub" in page
    assert 'data-testid="login-form"' not in page and 'data-testid="login-unavailable"' not in page


def test_sign_in_page_offers_only_the_providers_the_app_accepts(client):
    """auth_methods lists one of two enabled providers: one button, and direct_sign_in cannot reach the other."""
    application, _ = make_application()
    github = make_provider(application, type="github")
    make_provider(application, type="google")
    type(application).objects.filter(pk=application.pk).update(auth_methods=["password", str(github.pk)])

    page = client.get("/login", {"next": next_for(application)}).content.decode()
    direct = client.get("/login", {"next": next_for(application) + "&direct_sign_in=google"})

    assert "Continue with GitHub" in page and "Continue with Google" not in page
    assert direct.status_code == 200  # the page with its choices, not a redirect to Google


def test_continue_with_redirects_to_the_provider_with_the_apps_client_id_and_binds_the_login(client):
    application, _ = make_application()
    make_provider(application, type="github", client_id="app-a-github")
    response = start(client, application.providers.get(), application)
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "https://github.com/login/oauth/authorize"
    assert parse_qs(location.query)["client_id"] == ["app-a-github"]
    assert SocialApp.objects.count() == 0  # credentials never land in allauth's plain-text table


def test_direct_sign_in_in_the_authorization_request_goes_straight_to_the_provider(client):
    application, _ = make_application()
    provider = make_provider(application, type="github")
    for value in ("github", str(provider.pk)):
        response = client.get("/login", {"next": next_for(application) + f"&direct_sign_in={value}"})
        assert response.status_code == 302
        assert response["Location"].startswith("https://github.com/login/oauth/authorize?")


def test_direct_sign_in_naming_no_provider_of_the_app_shows_the_page(client):
    application, _ = make_application()
    make_provider(application, type="github")
    response = client.get("/login", {"next": next_for(application) + "&direct_sign_in=google"})
    assert response.status_code == 200 and "Continue with GitHub" in response.content.decode()


# --- two tabs, two apps ----------------------------------------------------------------------------


def test_callback_uses_the_credentials_of_the_login_it_finishes_not_the_latest_app(client, monkeypatch):
    upstream = install(monkeypatch, github_routes())
    app_a, _ = make_application()
    app_b, _ = make_application()
    provider_a = make_provider(app_a, type="github", client_id="a-client")
    provider_b = make_provider(app_b, type="github", client_id="b-client", client_secret="b-secret")
    state_a = state_of(start(client, provider_a, app_a)["Location"])
    start(client, provider_b, app_b)  # a second tab, another app, started later

    response = client.get(reverse("github_callback"), {"code": "c", "state": state_a})

    assert response.status_code == 302
    assert response["Location"] == next_for(app_a)
    form = upstream.form_of(GITHUB_TOKEN)
    assert (form["client_id"], form["client_secret"]) == ("a-client", SECRET)
    assert client.session[SIGN_IN_METHOD_SESSION_KEY] | {"id": "…"} == {
        "method": "provider",
        "provider_id": provider_a.pk,
        "factors": [],
        "id": "…",
    }


# --- accounts from each provider type --------------------------------------------------------------


def test_github_first_sign_in_creates_the_user_from_the_verified_primary_email(client, monkeypatch):
    install(monkeypatch, github_routes())
    application, _ = make_application()
    provider = make_provider(application, type="github")
    response = sign_in(client, provider, application)
    assert response.status_code == 302 and response["Location"] == next_for(application)
    user = User.objects.get(email="ada@github.example")
    assert (user.email_verified, user.name, user.picture) == (
        True,
        "Ada Octo",
        "https://avatars.githubusercontent.com/u/583231?v=4",
    )
    assert not user.has_usable_password()
    assert SocialAccount.objects.get(user=user).uid == "583231"
    # GitHub's other, unverified address is not added to the account.
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified")) == [
        ("ada@github.example", True)
    ]
    assert client.session["_auth_user_id"] == str(user.pk)


def test_google_verified_email_links_to_the_existing_account(client, monkeypatch):
    install(monkeypatch, google_routes())
    existing = UserFactory(email="grace@gmail.example")
    application, _ = make_application()
    provider = make_provider(application, type="google")
    response = sign_in(client, provider, application)
    assert response.status_code == 302 and response["Location"] == next_for(application)
    assert client.session["_auth_user_id"] == str(existing.pk)
    assert SocialAccount.objects.get(user=existing).uid == "110169484474386276334"
    linked = AuditEvent.objects.get(action="identity.linked")
    assert (linked.actor_label, linked.target_type, linked.target_id) == (existing.email, "user", str(existing.pk))


def test_google_new_user_gets_sub_email_verified_name_picture(client, monkeypatch):
    install(monkeypatch, google_routes())
    application, _ = make_application()
    sign_in(client, make_provider(application, type="google"), application)
    user = User.objects.get(email="grace@gmail.example")
    assert (user.email_verified, user.name, user.picture) == (
        True,
        "Grace Hopper",
        "https://lh3.googleusercontent.com/a/grace",
    )
    assert SocialAccount.objects.get(user=user).uid == "110169484474386276334"


def test_google_unverified_email_is_not_linked_and_the_person_signs_in_first(client, monkeypatch):
    install(monkeypatch, google_routes(email_verified=False))
    existing = UserFactory(email="grace@gmail.example")
    application, _ = make_application()
    response = sign_in(client, make_provider(application, type="google"), application)
    page = response.content.decode()
    assert response.status_code == 403
    assert 'data-code="link_refused"' in page and "Please sign in to that account another way" in page
    assert "_auth_user_id" not in client.session
    assert not SocialAccount.objects.filter(user=existing).exists()


def test_microsoft_email_is_never_trusted_to_link(client, monkeypatch):
    install(monkeypatch, microsoft_routes())
    existing = UserFactory(email="megan@contoso.example")
    application, _ = make_application()
    response = sign_in(client, make_provider(application, type="microsoft"), application)
    assert response.status_code == 403 and 'data-code="link_refused"' in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not SocialAccount.objects.filter(user=existing).exists()


def test_microsoft_new_user_email_is_not_verified(client, monkeypatch):
    install(monkeypatch, microsoft_routes())
    application, _ = make_application()
    response = sign_in(client, make_provider(application, type="microsoft"), application)
    assert response.status_code == 302
    user = User.objects.get(email="megan@contoso.example")
    assert (user.email_verified, user.name) == (False, "Megan Bowen")
    assert SocialAccount.objects.get(user=user).uid == "87d349ed-44d7-43e1-9a83-5f2406dee5bd"


def test_oidc_claim_mapping_gives_sub_email_verified_name_picture(client, monkeypatch):
    upstream = install(monkeypatch, oidc_routes())
    application, _ = make_application()
    provider = make_provider(
        application,
        type="oidc",
        claim_mapping={"email": "upn", "email_verified": "mail_confirmed", "name": "display_name", "picture": "avatar"},
    )
    response = sign_in(client, provider, application)
    assert response.status_code == 302 and response["Location"] == next_for(application)
    user = User.objects.get(email="jane.doe@corp.example")
    assert (user.email_verified, user.name, user.picture) == (
        True,
        "Jane Doe",
        "https://idp.example.com/avatars/jane.png",
    )
    assert SocialAccount.objects.get(user=user).uid == "248289761001"
    # The unmapped, unverified `email` claim (someone-else@…) becomes none of the account's addresses.
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified")) == [
        ("jane.doe@corp.example", True)
    ]
    assert all(url.startswith(IDP) for _m, url, _h, _d in upstream.calls)  # every request via the guard


def test_registration_closed_creates_no_account(client, monkeypatch, settings):
    settings.LATCHKEY_REGISTRATION = "closed"
    install(monkeypatch, github_routes())
    application, _ = make_application()
    response = sign_in(client, make_provider(application, type="github"), application)
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert not User.objects.filter(email="ada@github.example").exists()


def test_a_known_identity_signs_in_again_without_registration(client, monkeypatch, settings):
    install(monkeypatch, github_routes())
    application, _ = make_application()
    provider = make_provider(application, type="github")
    sign_in(client, provider, application)
    client.logout()
    settings.LATCHKEY_REGISTRATION = "closed"
    response = sign_in(client, provider, application)
    assert response.status_code == 302 and client.session["_auth_user_id"]


# --- upstream errors: a branded page, never a 500 --------------------------------------------------


def test_denied_at_the_provider_shows_the_branded_page_with_a_way_back(client, monkeypatch):
    application, _ = make_application()
    provider = make_provider(application, type="github")
    response = sign_in(client, provider, application, error="access_denied")
    page = response.content.decode()
    assert response.status_code == 400 and 'data-code="cancelled"' in page
    assert "Choose another way to sign in" in page and "?next=/oauth/authorize%3Fclient_id%3D" in page


def test_unknown_state_shows_the_branded_page(client):
    application, _ = make_application()
    make_provider(application, type="github")
    response = client.get(reverse("github_callback"), {"code": "c", "state": "not-a-stashed-state"})
    assert response.status_code == 400 and 'data-code="state"' in response.content.decode()


def test_unknown_state_at_an_oidc_callback_shows_the_branded_page(client):
    application, _ = make_application()
    provider = make_provider(application, type="oidc")
    response = client.get(callback_url(provider), {"code": "c", "state": "not-a-stashed-state"})
    assert response.status_code == 400 and 'data-code="state"' in response.content.decode()


def test_provider_disabled_between_start_and_callback_shows_the_branded_page(client):
    application, _ = make_application()
    provider = make_provider(application, type="github")
    state = state_of(start(client, provider, application)["Location"])
    type(provider).objects.filter(pk=provider.pk).update(enabled=False)
    response = client.get(callback_url(provider), {"code": "c", "state": state})
    assert response.status_code == 400 and 'data-code="state"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_upstream_down_at_the_token_endpoint_shows_the_branded_page(client, monkeypatch):
    install(monkeypatch, {("POST", GITHUB_TOKEN): outbound.OutboundUnavailable("github.com did not answer in time.")})
    application, _ = make_application()
    response = sign_in(client, make_provider(application, type="github"), application)
    assert response.status_code == 502 and 'data-code="unavailable"' in response.content.decode()


def test_oidc_discovery_refused_by_the_guard_when_starting_shows_the_branded_page(client, settings):
    application, _ = make_application()
    settings.LATCHKEY_OUTBOUND_ALLOW_PRIVATE = True
    provider = make_provider(application, type="oidc", issuer="http://127.0.0.1:9")  # nothing listens there
    settings.LATCHKEY_OUTBOUND_ALLOW_PRIVATE = False  # now refused by the guard, without a request
    response = client.post(login_url(provider), {"next": next_for(application), "process": "login"})
    assert response.status_code == 502 and 'data-code="unavailable"' in response.content.decode()


# --- audit: identity.linked, per application --------------------------------------------------------


def linked_events(user) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="identity.linked", target_type="user", target_id=str(user.pk)))


def test_a_verified_email_linked_to_an_existing_account_records_identity_linked(client, monkeypatch):
    install(monkeypatch, google_routes())
    existing = UserFactory(email="grace@gmail.example")
    application, _ = make_application()
    provider = make_provider(application, type="google")
    sign_in(client, provider, application)
    [event] = linked_events(existing)
    assert (event.actor_id, event.target_label) == (str(existing.public_id), "grace@gmail.example")
    assert {field: change["new"] for field, change in event.changes.items()} == {
        "provider": "google",
        "uid": "110169484474386276334",
        "client_id": application.client_id,
        "provider_id": provider.pk,
    }
    assert SECRET not in json.dumps(event.changes)
    [outbox] = Event.objects.filter(type="identity.linked")
    assert outbox.application is None  # deployment-wide; the application is named by client_id
    assert outbox.payload == {
        "user_id": str(existing.public_id),
        "provider": "google",
        "provider_id": provider.pk,
        "client_id": application.client_id,
    }
    assert "110169484474386276334" not in json.dumps(outbox.payload)  # the upstream uid stays in the audit log


def test_a_new_account_from_a_provider_records_registered_and_identity_linked(client, monkeypatch):
    install(monkeypatch, github_routes())
    application, _ = make_application()
    sign_in(client, make_provider(application, type="github"), application)
    user = User.objects.get(email="ada@github.example")
    assert AuditEvent.objects.filter(action="user.registered", target_id=str(user.pk)).count() == 1
    [event] = linked_events(user)
    assert event.changes["client_id"]["new"] == application.client_id
    assert event.changes["uid"]["new"] == "583231"
    [registered] = Event.objects.filter(type="user.registered")
    assert registered.payload == {"user_id": str(user.public_id), "client_id": application.client_id}
    [linked] = Event.objects.filter(type="identity.linked")
    assert (linked.payload["user_id"], linked.payload["provider"]) == (str(user.public_id), "github")


def test_signing_in_again_with_a_known_identity_links_nothing_new(client, monkeypatch):
    install(monkeypatch, github_routes())
    application, _ = make_application()
    provider = make_provider(application, type="github")
    sign_in(client, provider, application)
    client.logout()
    sign_in(client, provider, application)
    assert AuditEvent.objects.filter(action="identity.linked").count() == 1
    assert Event.objects.filter(type="identity.linked").count() == 1
