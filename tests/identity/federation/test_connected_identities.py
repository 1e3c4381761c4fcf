"""The account page lists the person's connected identities, connects another (allauth's connect flow, bound
to a provider's application like a sign-in) and removes one, never the last way to sign in."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.socialaccount.models import SocialAccount
from django.test import Client

from applications.events.models import Event
from consent.models import Consent
from identity.models import AuditEvent
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory
from tests.identity.federation.factories import make_provider
from tests.identity.federation.test_sign_in_with_provider import callback_url, github_routes, install
from tests.identity.federation.upstream_fake import state_of

pytestmark = pytest.mark.django_db


def connect(user, provider: str, uid: str) -> SocialAccount:
    return SocialAccount.objects.create(user=user, provider=provider, uid=uid, extra_data={})


def disconnect_url(account) -> str:
    return f"/account/identities/{account.pk}/disconnect"


def test_account_page_lists_connected_identities_by_provider_name(client):
    user = UserFactory()
    application, _ = make_application()
    oidc = make_provider(application, type="oidc", display_name="Corp SSO")
    from identity.federation.adapter import allauth_provider_id

    connect(user, "github", "1")
    connect(user, allauth_provider_id(oidc), "2")
    client.force_login(user)
    page = client.get("/account/").content.decode()
    assert "Disconnect GitHub" in page and "Disconnect Corp SSO" in page


def test_disconnecting_an_identity_when_a_password_remains(client):
    user = UserFactory()  # has a password
    account = connect(user, "github", "1")
    client.force_login(user)
    response = client.post(disconnect_url(account))
    assert response.status_code == 302 and response["Location"] == "/account/"
    assert not SocialAccount.objects.filter(pk=account.pk).exists()
    assert AuditEvent.objects.filter(action="identity.unlinked", target_type="user").count() == 1
    [event] = Event.objects.filter(type="identity.unlinked")
    assert event.payload == {"user_id": str(user.public_id), "provider": "github"}


def test_disconnecting_a_generic_oidc_identity_names_the_provider_type(client):
    user = UserFactory()
    application, _ = make_application()
    from identity.federation.adapter import allauth_provider_id

    account = connect(user, allauth_provider_id(make_provider(application, type="oidc")), "2")
    client.force_login(user)
    assert client.post(disconnect_url(account)).status_code == 302
    [event] = Event.objects.filter(type="identity.unlinked")
    assert event.payload["provider"] == "oidc"


def test_an_identity_that_cannot_be_disconnected_records_no_event(client):
    user = UserFactory()
    user.set_unusable_password()
    user.save()
    account = connect(user, "github", "1")
    client.force_login(user)
    assert client.post(disconnect_url(account)).status_code == 409
    assert not Event.objects.exists()


def test_the_last_way_to_sign_in_cannot_be_disconnected(client):
    user = UserFactory()
    user.set_unusable_password()
    user.save()
    account = connect(user, "github", "1")
    client.force_login(user)
    response = client.post(disconnect_url(account))
    assert response.status_code == 409
    assert "only way to sign in" in response.content.decode()
    assert SocialAccount.objects.filter(pk=account.pk).exists()


def test_without_a_password_one_of_two_identities_may_go_but_not_the_second(client):
    user = UserFactory()
    user.set_unusable_password()
    user.save()
    first, second = connect(user, "github", "1"), connect(user, "google", "2")
    client.force_login(user)
    assert client.post(disconnect_url(first)).status_code == 302
    assert client.post(disconnect_url(second)).status_code == 409


def test_another_persons_identity_is_a_404(client):
    someone_else = connect(UserFactory(), "github", "9")
    client.force_login(UserFactory())
    assert client.post(disconnect_url(someone_else)).status_code == 404
    assert SocialAccount.objects.filter(pk=someone_else.pk).exists()


def test_disconnect_needs_post(client):
    user = UserFactory()
    account = connect(user, "github", "1")
    client.force_login(user)
    assert client.get(disconnect_url(account)).status_code == 405


def test_allauths_connections_page_is_the_account_page(client):
    client.force_login(UserFactory())
    response = client.get("/account/3rdparty/")
    assert response.status_code == 302 and response["Location"] == "/account/"


def test_the_admin_offers_no_plain_text_social_applications_or_tokens(admin_client):
    assert admin_client.get("/admin/socialaccount/socialapp/").status_code == 404
    assert admin_client.get("/admin/socialaccount/socialtoken/").status_code == 404
    assert admin_client.get("/admin/socialaccount/socialaccount/").status_code == 200


# --- connecting another identity -------------------------------------------------------------------


def consented_app_with_github(user, **provider_fields):
    application, _ = make_application()
    Consent.objects.create(user=user, application=application, scopes=["openid"])
    return application, make_provider(application, type="github", **provider_fields)


def connect_url(provider) -> str:
    return f"/account/identities/connect/{provider.pk}"


def finish_connect(client, provider, **data):
    """POST the account page's Connect button, then come back from the (faked) provider."""
    started = client.post(connect_url(provider), data)
    assert started.status_code == 302, started.content.decode()[:500]
    return started, client.get(
        callback_url(provider), {"code": "upstream-code", "state": state_of(started["Location"])}
    )


def test_account_page_offers_connect_for_a_consented_apps_providers(client):
    user = UserFactory()
    _, github = consented_app_with_github(user)
    other_app, _ = make_application()
    make_provider(other_app, type="google")  # not consented to: not offered
    client.force_login(user)
    response = client.get("/account/")
    page = response.content.decode()
    assert "Connect GitHub" in page and "Connect Google" not in page
    form = page.split(f'action="{connect_url(github)}"')[1].split("</form>")[0]
    assert 'method="post"' in page.split(f'action="{connect_url(github)}"')[0].rsplit("<form", 1)[1]
    assert 'name="csrfmiddlewaretoken"' in form
    assert "https://github.com" in response["Content-Security-Policy"].split("form-action")[1].split(";")[0]


def test_account_page_offers_the_providers_of_the_app_in_client_id(client):
    user = UserFactory()
    application, _ = make_application()
    make_provider(application, type="github")
    client.force_login(user)
    assert "Connect GitHub" not in client.get("/account/").content.decode()
    assert "Connect GitHub" in client.get("/account/", {"client_id": application.client_id}).content.decode()
    assert client.get("/account/", {"client_id": "no-such-app"}).status_code == 200


def test_connecting_adds_the_identity_to_the_signed_in_user_and_returns_to_the_account_page(client, monkeypatch):
    upstream = install(monkeypatch, github_routes())
    user = UserFactory(email="someone@example.com")  # not GitHub's address: connecting does not need it
    _, github = consented_app_with_github(user, client_id="app-github")
    client.force_login(user)
    started, finished = finish_connect(client, github)
    assert parse_qs(urlsplit(started["Location"]).query)["client_id"] == ["app-github"]
    assert upstream.form_of("https://github.com/login/oauth/access_token")["client_id"] == "app-github"
    assert finished.status_code == 302 and finished["Location"] == "/account/"
    assert SocialAccount.objects.get(user=user).uid == "583231"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert AuditEvent.objects.filter(action="identity.linked", target_type="user", target_id=str(user.pk)).count() == 1
    assert "Disconnect GitHub" in client.get("/account/").content.decode()


def test_an_identity_connected_to_someone_else_is_refused_and_not_moved(client, monkeypatch):
    install(monkeypatch, github_routes())
    owner = UserFactory()
    theirs = connect(owner, "github", "583231")
    user = UserFactory()
    _, github = consented_app_with_github(user)
    client.force_login(user)
    _, finished = finish_connect(client, github)
    assert finished.status_code == 409
    assert "already connected to another account" in finished.content.decode()
    assert SocialAccount.objects.get(pk=theirs.pk).user == owner
    assert not SocialAccount.objects.filter(user=user).exists()
    assert client.session["_auth_user_id"] == str(user.pk)


def test_connect_offers_only_what_the_page_offers(client):
    user = UserFactory()
    application, _ = make_application()
    github = make_provider(application, type="github")  # no consent, no client_id
    client.force_login(user)
    assert client.post(connect_url(github)).status_code == 404
    assert client.post(connect_url(github), {"client_id": application.client_id}).status_code == 302


def test_connect_needs_a_signed_in_post_with_csrf(client):
    user = UserFactory()
    _, github = consented_app_with_github(user)
    anonymous = client.post(connect_url(github))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.get(connect_url(github)).status_code == 405
    assert browser.post(connect_url(github)).status_code == 403
    page = browser.get("/account/").content.decode()
    token = (
        page.split(f'action="{connect_url(github)}"')[1].split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    )
    started = browser.post(connect_url(github), {"csrfmiddlewaretoken": token})
    assert started.status_code == 302 and started["Location"].startswith("https://github.com/")
