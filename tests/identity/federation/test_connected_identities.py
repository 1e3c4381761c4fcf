"""The account page lists the person's connected identities and removes one, never the last way to sign in."""

from __future__ import annotations

import pytest
from allauth.socialaccount.models import SocialAccount

from identity.models import AuditEvent
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory
from tests.identity.federation.factories import make_provider

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
