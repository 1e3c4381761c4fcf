"""Registration, verification or a reset begun from an application's sign-in page ends in its pending
authorization request, and the emails wear that application's brand (issue 16, item 8).

The application is read from the `next` authorization request's client_id, never from the session.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from django.core import mail

from applications.models import Scope
from identity.models import User
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase 42"
CALLBACK = "https://web.example.com/callback"


def web_app(name: str):
    scopes = list(Scope.objects.filter(name__in=["openid", "profile"]))
    return make_application(
        type="web",
        name=name,
        redirect_uris=CALLBACK,
        allowed_scopes=scopes,
        trusted=True,
        branding={"primary_color": "#0F766E"},
    )[0]


def authorize_path(application) -> str:
    query = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": CALLBACK,
        "scope": "openid profile",
        "state": "s1",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    return "/oauth/authorize?" + urlencode(query)


def link_in(message) -> str:
    return re.search(r"https?://[^/\s]+(/\S+)", message.body).group(1)


@pytest.fixture
def open_registration(settings):
    settings.LATCHKEY_REGISTRATION = "open"


def test_register_from_an_apps_sign_in_page_continues_its_authorization(client, open_registration):
    application = web_app("Streamline")
    pending = authorize_path(application)
    sign_in_page = client.get("/login", {"next": pending}).content.decode()
    register_link = re.search(r'href="([^"]+)" data-testid="login-register"', sign_in_page).group(1)
    register_link = register_link.replace("&amp;", "&")

    page = client.get(register_link)
    response = client.post(
        register_link, {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD, "next": pending}
    )

    assert "Create an account for Streamline" in page.content.decode()
    assert response.status_code == 302
    assert response["Location"] == pending
    code_redirect = client.get(pending)
    assert code_redirect.status_code == 302 and code_redirect["Location"].startswith(CALLBACK + "?code=")


def test_verification_email_wears_the_apps_brand_and_its_link_returns_to_the_request(client, open_registration):
    application = web_app("Streamline")
    pending = authorize_path(application)

    client.post(
        "/account/signup/", {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD, "next": pending}
    )
    message = mail.outbox[0]
    client.logout()
    path = link_in(message)
    response = client.post(path)

    assert message.subject.startswith("[Streamline] ")
    assert "Hello from Streamline!" in message.body
    assert User.objects.get(email="new@example.com").email_verified is True
    assert response.status_code == 302
    assert response["Location"] == pending


def test_password_reset_from_an_apps_sign_in_page_returns_to_the_request(client):
    application = web_app("Streamline")
    pending = authorize_path(application)
    user = UserFactory(email="ada@example.com")

    requested = client.post("/account/password/reset/", {"email": user.email, "next": pending})
    assert requested["Location"] == "/account/password/reset/done/?" + urlencode({"next": pending})
    assert 'data-testid="reset-sent"' in client.get(requested["Location"]).content.decode()
    message = mail.outbox[0]
    page = client.get(link_in(message), follow=True)
    action = re.search(r'<form method="post" action="([^"]+)" data-testid="reset-key-form"', page.content.decode())
    response = client.post(
        action.group(1).replace("&amp;", "&"), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    assert message.subject.startswith("[Streamline] ")
    assert "Hello from Streamline!" in message.body
    assert response.status_code == 302
    assert response["Location"] == pending
    # Signed out, the authorization request sends the person to sign in with the new password, and on.
    sign_in = client.get(pending)
    assert sign_in["Location"].startswith("/login?next=")
    done = client.post("/login", {"username": user.email, "password": NEW_PASSWORD, "next": pending})
    assert done["Location"] == pending


def test_next_to_another_site_is_dropped_from_the_links(client, open_registration):
    client.post(
        "/account/signup/",
        {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD, "next": "https://evil.example/"},
    )
    message = mail.outbox[0]
    assert "evil.example" not in message.body
    assert message.subject.startswith("[Latchkey] ")


def test_email_brand_comes_from_next_not_from_a_stray_client_id(client, open_registration):
    application = web_app("Streamline")
    other = web_app("Other app")

    client.post(
        "/account/signup/?client_id=" + other.client_id,
        {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD, "next": authorize_path(application)},
    )

    assert mail.outbox[0].subject.startswith("[Streamline] ")
