"""The signed-in user's account home (/account/): who they are, their authorised apps, sign out."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db

ACCOUNT = "/account/"


@pytest.fixture
def user():
    return UserFactory(email="ada@example.com", name="Ada Lovelace")


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def test_account_url_name_is_account():
    assert reverse("identity:account") == ACCOUNT


def test_account_shows_the_users_name_and_email(signed_in):
    response = signed_in.get(ACCOUNT)

    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Your account</h1>" in page
    assert "Ada Lovelace" in page
    assert "ada@example.com" in page


def test_account_without_a_name_shows_the_email_only(client):
    client.force_login(UserFactory(email="nameless@example.com", name=""))

    page = client.get(ACCOUNT).content.decode()

    assert "nameless@example.com" in page
    assert "Name" not in page


def test_account_links_to_the_authorised_apps(signed_in):
    page = signed_in.get(ACCOUNT).content.decode()

    assert re.search(r'<a href="/account/apps"[^>]*>Authorised apps</a>', page)


def test_account_signs_out_with_a_post_form_carrying_csrf(signed_in):
    page = signed_in.get(ACCOUNT).content.decode()

    form = re.search(r'<form method="post" action="/logout">\s*<input type="hidden" name="csrfmiddlewaretoken"', page)
    assert form is not None
    assert re.search(r'<button type="submit"[^>]*>Sign out</button>', page)


def test_signing_out_from_the_account_page_ends_the_session(signed_in):
    response = signed_in.post("/logout")

    assert response.status_code == 200
    assert "You are signed out" in response.content.decode()
    assert signed_in.get(ACCOUNT).status_code == 302


def test_account_is_branded_and_locked_down_like_the_other_pages(signed_in, settings):
    response = signed_in.get(ACCOUNT)

    page = response.content.decode()
    assert 'data-testid="brand-name">Latchkey<' in page
    assert response["X-Frame-Options"] == "DENY"
    assert "script-src 'none'" in response["Content-Security-Policy"]
    assert "<script" not in page


def test_account_anonymous_is_sent_to_sign_in(client):
    response = client.get(ACCOUNT)

    assert response.status_code == 302
    assert response["Location"] == "/login?next=/account/"


def test_account_inactive_user_is_treated_as_signed_out(client, user):
    client.force_login(user)
    user.is_active = False
    user.save()

    response = client.get(ACCOUNT)

    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")


def test_account_post_is_not_allowed(signed_in):
    assert signed_in.post(ACCOUNT).status_code == 405


def test_account_page_costs_few_queries(signed_in, django_assert_max_num_queries):
    # + 1: the providers it offers to connect; + 2: its second factors (and whether it may add one); + 1: its
    # sessions (and, per session, a read of its store; then the applications they signed in to: none here)
    with django_assert_max_num_queries(7):
        assert signed_in.get(ACCOUNT).status_code == 200


def test_authorised_apps_page_links_back_to_the_account(signed_in):
    page = signed_in.get("/account/apps").content.decode()

    assert '<a href="/account/">Your account</a>' in page
