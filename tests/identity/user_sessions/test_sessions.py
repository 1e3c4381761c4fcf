"""A person's sessions on the account page: listed with device, time and applications; ended one by one (and
what they handed out revoked), or all at once."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client

from applications.models import Scope
from identity.models import AuditEvent
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory
from tests.identity.mfa.helpers import sign_in

pytestmark = pytest.mark.django_db

CALLBACK = "https://rp.example.com/callback"
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.0 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def person():
    return UserFactory(email="ada@example.com")


def browser(user_agent: str, ip: str) -> Client:
    return Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)


def app(name: str):
    scopes = Scope.objects.filter(name__in=["openid", "offline_access"])
    return make_application(type="web", name=name, redirect_uris=CALLBACK, trusted=True, allowed_scopes=list(scopes))


def refresh_token_from(client: Client, application, secret: str) -> str:
    query = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": CALLBACK,
        "scope": "openid offline_access",
    }
    response = client.get("/oauth/authorize?" + urlencode(query))
    code = parse_qs(urlsplit(response["Location"]).query)["code"][0]
    token = Client().post(
        "/oauth/token",
        {"grant_type": "authorization_code", "redirect_uri": CALLBACK, "code": code},
        HTTP_AUTHORIZATION=basic(application, secret),
    )
    assert token.status_code == 200, token.content
    return token.json()["refresh_token"]


def basic(application, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()


def refreshes(application, secret: str, refresh_token: str) -> int:
    response = Client().post(
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        HTTP_AUTHORIZATION=basic(application, secret),
    )
    return response.status_code


def session_ids(page: str) -> list[str]:
    import re

    return re.findall(r'data-testid="session-end-(\d+)"', page)


def test_account_page_lists_each_session_with_its_device_time_and_applications(person):
    laptop, phone = browser(FIREFOX_LINUX, "198.51.100.7"), browser(SAFARI_IPHONE, "203.0.113.9")
    sign_in(laptop, person)
    sign_in(phone, person)
    portal, secret = app("Team Portal")
    refresh_token_from(phone, portal, secret)

    page = laptop.get("/account/").content.decode()

    assert page.count('data-testid="account-session"') == 2
    assert "<strong>Firefox on Linux</strong> (this device), from 198.51.100.7" in page
    assert "<strong>Safari on iOS</strong>, from 203.0.113.9" in page
    assert "Applications: Team Portal." in page
    assert page.index("Safari on iOS") < page.index("Applications: Team Portal.")


def test_ending_another_session_signs_it_out_and_revokes_what_it_handed_out(person):
    laptop, phone = browser(FIREFOX_LINUX, "198.51.100.7"), browser(SAFARI_IPHONE, "203.0.113.9")
    sign_in(laptop, person)
    portal, secret = app("Team Portal")
    laptop_token = refresh_token_from(laptop, portal, secret)
    sign_in(phone, person)
    phone_token = refresh_token_from(phone, portal, secret)
    phone_session = session_ids(laptop.get("/account/").content.decode())[0]  # newest first: the phone

    response = laptop.post(f"/account/sessions/{phone_session}/end")

    assert response.status_code == 302 and response["Location"] == "/account/"
    assert phone.get("/account/")["Location"].startswith("/login")  # the phone is signed out
    assert refreshes(portal, secret, phone_token) == 400  # and its tokens revoked
    assert laptop.get("/account/").status_code == 200  # the laptop is not
    assert refreshes(portal, secret, laptop_token) == 200
    (audit,) = AuditEvent.objects.filter(action="user.session_ended")
    assert audit.changes == {"session": {"old": "Safari on iOS from 203.0.113.9", "new": None}}


def test_ending_this_session_signs_out_here(person):
    laptop = browser(FIREFOX_LINUX, "198.51.100.7")
    sign_in(laptop, person)
    (this,) = session_ids(laptop.get("/account/").content.decode())

    response = laptop.post(f"/account/sessions/{this}/end")

    assert response["Location"] == "/login"
    assert "_auth_user_id" not in laptop.session


def test_another_persons_session_cannot_be_ended(person):
    other = browser(FIREFOX_LINUX, "198.51.100.8")
    sign_in(other, UserFactory(email="mallory@example.com"))
    (theirs,) = session_ids(other.get("/account/").content.decode())
    laptop = browser(FIREFOX_LINUX, "198.51.100.7")
    sign_in(laptop, person)

    assert laptop.post(f"/account/sessions/{theirs}/end").status_code == 404
    assert other.get("/account/").status_code == 200
    assert laptop.get(f"/account/sessions/{theirs}/end").status_code == 405  # never by a link


def test_sign_out_everywhere_ends_every_session_and_every_refresh_token(person):
    laptop, phone = browser(FIREFOX_LINUX, "198.51.100.7"), browser(SAFARI_IPHONE, "203.0.113.9")
    sign_in(laptop, person)
    sign_in(phone, person)
    portal, portal_secret = app("Team Portal")
    wiki, wiki_secret = app("Wiki")
    tokens = [(portal, portal_secret, refresh_token_from(laptop, portal, portal_secret))]
    tokens.append((wiki, wiki_secret, refresh_token_from(phone, wiki, wiki_secret)))

    response = phone.post("/account/sessions/end-all")

    assert response["Location"] == "/login"
    for client in (laptop, phone):
        assert client.get("/account/")["Location"].startswith("/login")
    assert [refreshes(*token) for token in tokens] == [400, 400]
    assert AuditEvent.objects.filter(action="user.signed_out_everywhere", target_id=str(person.pk)).count() == 1


def test_admin_sees_a_users_sessions_and_signs_them_out_everywhere(person, admin_client):
    phone = browser(SAFARI_IPHONE, "203.0.113.9")
    sign_in(phone, person)
    portal, secret = app("Team Portal")
    token = refresh_token_from(phone, portal, secret)

    page = admin_client.get(f"/admin/identity/user/{person.pk}/change/").content.decode()
    assert "Safari on iOS from 203.0.113.9" in page and "(Team Portal)" in page

    response = admin_client.post(
        "/admin/identity/user/", {"action": "sign_out_everywhere", "_selected_action": [person.pk]}, follow=True
    )

    assert "1 session(s) ended" in response.content.decode()
    assert phone.get("/account/")["Location"].startswith("/login")
    assert refreshes(portal, secret, token) == 400
    (audit,) = AuditEvent.objects.filter(action="user.signed_out_everywhere")
    assert audit.actor_label != person.email  # the admin did it


def test_management_api_lists_ends_and_signs_out_a_users_sessions(person, writer, management_api):
    laptop, phone = browser(FIREFOX_LINUX, "198.51.100.7"), browser(SAFARI_IPHONE, "203.0.113.9")
    sign_in(laptop, person)
    sign_in(phone, person)
    reader = management_api("management:read")

    listed = reader.get(f"/api/users/{person.pk}/sessions")

    assert listed.status_code == 200
    assert [(s["device"], s["ip"]) for s in listed.json()] == [
        ("Safari on iOS", "203.0.113.9"),
        ("Firefox on Linux", "198.51.100.7"),
    ]
    phone_session = listed.json()[0]["id"]
    assert reader.delete(f"/api/users/{person.pk}/sessions/{phone_session}").status_code == 403
    assert writer.delete(f"/api/users/{person.pk}/sessions/{phone_session}").status_code == 204
    assert writer.delete(f"/api/users/{person.pk}/sessions/{phone_session}").status_code == 404
    assert phone.get("/account/")["Location"].startswith("/login")
    ended = writer.post(f"/api/users/{person.pk}/sign-out-everywhere")
    assert ended.status_code == 200 and ended.json() == {"sessions_ended": 1}
    assert laptop.get("/account/")["Location"].startswith("/login")
    assert writer.post(f"/api/users/{person.pk}/second-factors/reset").json() == {"second_factors_removed": 0}


def test_management_api_answers_a_malformed_session_id_with_its_json_404(person, writer):
    response = writer.delete(f"/api/users/{person.pk}/sessions/%0A%C3%9B")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize("count", [1, 3])
def test_listing_sessions_costs_a_fixed_number_of_queries_per_session(
    person, reader, count, django_assert_max_num_queries
):
    # Each session costs four reads: allauth's purge (does its store exist, and does it still hold this user:
    # the store and the user) and its sign-in id from the store; the applications of all of them are one read.
    browsers = [browser(FIREFOX_LINUX, f"198.51.100.{n}") for n in range(count)]
    for each in browsers:
        sign_in(each, person)

    with django_assert_max_num_queries(6 + 4 * count):
        listed = reader.get(f"/api/users/{person.pk}/sessions")
    with django_assert_max_num_queries(8 + 4 * count):
        page = browsers[0].get("/account/")

    assert len(listed.json()) == count
    assert len(session_ids(page.content.decode())) == count
