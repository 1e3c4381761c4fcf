"""Usage after a scripted series through the real endpoints: sign-ins, tokens, failures, then a flush."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from unittest import mock
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client

from applications.models import Scope
from applications.usage import counters
from identity import services as identity_services
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db

CALLBACK = "https://rp.example.com/callback"
PASSWORD = "correct horse battery staple"
VERIFIER = "v" * 43
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def basic(application, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()


def authorize_path(application) -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).decode().rstrip("=")
    query = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": CALLBACK,
        "scope": "openid offline_access",
        "state": "s1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return "/oauth/authorize?" + urlencode(query)


def code_from(response) -> str:
    assert response.status_code == 302, response.content
    assert response["Location"].startswith(CALLBACK), response["Location"]
    return parse_qs(urlsplit(response["Location"]).query)["code"][0]


def sign_in(browser: Client, application, email: str, password: str = PASSWORD):
    return browser.post("/login", {"username": email, "password": password, "next": authorize_path(application)})


def exchange(application, secret: str, code: str):
    return Client().post(
        "/oauth/token",
        {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": VERIFIER},
        HTTP_AUTHORIZATION=basic(application, secret),
    )


def client_credentials(application, secret: str):
    return Client().post(
        "/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(application, secret)
    )


@pytest.fixture
def shop():
    scopes = list(Scope.objects.filter(name__in=["openid", "offline_access"]))
    return make_application(type="web", name="Shop", redirect_uris=CALLBACK, trusted=True, allowed_scopes=scopes)


@pytest.fixture
def machines():
    return make_application(type="m2m", name="Machines")


def test_a_scripted_day_of_sign_ins_and_tokens_is_what_the_api_reports(
    reader, shop, machines, django_capture_on_commit_callbacks
):
    (app, secret), (m2m, m2m_secret) = shop, machines
    alice, bob = UserFactory(email="alice@example.com"), UserFactory(email="bob@example.com")
    alice_browser, bob_browser = Client(), Client()

    # Sign-ins are counted when their transaction commits (the test's never does: run them at the end).
    with django_capture_on_commit_callbacks(execute=True):
        # Alice signs in with her password and the app gets a code, tokens, then a refreshed pair.
        assert sign_in(alice_browser, app, alice.email).status_code == 302
        first = exchange(app, secret, code_from(alice_browser.get(authorize_path(app))))
        assert first.status_code == 200
        refreshed = Client().post(
            "/oauth/token",
            {"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]},
            HTTP_AUTHORIZATION=basic(app, secret),
        )
        assert refreshed.status_code == 200
        # Later, by single sign-on: no password asked, another code.
        second_code = code_from(alice_browser.get(authorize_path(app)))
        assert exchange(app, secret, second_code).status_code == 200
        # The code again: refused (a token error of the app).
        assert exchange(app, secret, second_code).json()["error"] == "invalid_grant"

        # Bob mistypes his password on the app's sign-in page, then signs in.
        wrong = sign_in(bob_browser, app, bob.email, password="wrong")
        assert wrong.status_code == 200
        assert sign_in(bob_browser, app, bob.email).status_code == 302
        assert exchange(app, secret, code_from(bob_browser.get(authorize_path(app)))).status_code == 200

        # A machine client: one token, then a wrong secret; and a client that does not exist.
        assert client_credentials(m2m, m2m_secret).status_code == 200
        assert client_credentials(m2m, "not-the-secret").status_code == 401
        assert (
            Client().post("/oauth/token", {"grant_type": "client_credentials", "client_id": "nobody"}).status_code
            == 401
        )
        # A failed sign-in on no application's page counts for none.
        assert Client().post("/login", {"username": alice.email, "password": "wrong"}).status_code == 200

    assert counters.flush() is True

    today = str(datetime.now(UTC).date())
    response = reader.get(f"/api/applications/{app.pk}/usage", {"from": today, "to": today})
    assert response.status_code == 200
    assert response.json()["days"] == [
        {
            "day": today,
            "sign_ins": 3,
            "unique_users": 2,
            "tokens": {"authorization_code": 3, "refresh_token": 1, "client_credentials": 0, "device_code": 0},
            "tokens_total": 4,
            "sign_in_failures": 1,
            "token_errors": 1,
        }
    ]
    assert response.json()["monthly_active_users"] == 2

    [machine_day] = reader.get(f"/api/applications/{m2m.pk}/usage", {"from": today, "to": today}).json()["days"]
    assert (machine_day["tokens"]["client_credentials"], machine_day["token_errors"]) == (1, 1)
    assert (machine_day["sign_ins"], machine_day["unique_users"]) == (0, 0)

    everything = reader.get("/api/usage", {"from": today, "to": today}).json()
    # The reader's own management token is a client-credentials token too.
    assert everything["totals"]["tokens"] == {
        "authorization_code": 3,
        "refresh_token": 1,
        "client_credentials": 2,
        "device_code": 0,
    }
    assert (everything["totals"]["sign_ins"], everything["totals"]["sign_in_failures"]) == (3, 1)
    assert everything["totals"]["token_errors"] == 2
    assert [(busy["name"], busy["sign_ins"], busy["tokens_total"]) for busy in everything["busiest_applications"]][
        :2
    ] == [("Shop", 3, 4), ("Machines", 0, 1)]


def test_a_device_polling_before_approval_is_no_token_error():
    native, _ = make_application(type="native", allowed_scopes=list(Scope.objects.filter(name="openid")))
    started = Client().post(
        "/oauth/device",
        urlencode({"client_id": native.client_id, "scope": "openid"}),
        content_type="application/x-www-form-urlencoded",
    )
    assert started.status_code == 200, started.content

    poll = Client().post(
        "/oauth/token",
        {"grant_type": DEVICE_GRANT, "device_code": started.json()["device_code"], "client_id": native.client_id},
    )
    wrong = Client().post(
        "/oauth/token", {"grant_type": DEVICE_GRANT, "device_code": "nope", "client_id": native.client_id}
    )

    assert poll.json()["error"] == "authorization_pending"
    assert wrong.status_code == 400
    assert counters.pending()[0] == {(native.pk, datetime.now(UTC).date(), "token_errors"): 1}


def test_counting_adds_no_query_to_the_token_endpoint(machines, django_assert_max_num_queries):
    m2m, secret = machines
    assert client_credentials(m2m, secret).status_code == 200  # warm: compiled queries, keys

    # The client, the scopes it may hold, the token's INSERT: as before usage was counted.
    with django_assert_max_num_queries(3):
        assert client_credentials(m2m, secret).status_code == 200

    assert sum(counters.pending()[0].values()) == 2


def authorize(browser: Client, application):
    return browser.get(authorize_path(application))


def test_a_sign_in_whose_transaction_rolls_back_is_not_counted(shop, django_capture_on_commit_callbacks):
    """The code and its sign-in commit together (save_authorization_code); a count made before the commit
    would outlive the rollback."""
    app, _ = shop
    browser = Client()
    browser.force_login(UserFactory())
    real = identity_services.user_signed_in

    def then_fail(**kwargs):
        real(**kwargs)
        raise RuntimeError("the database went away")

    with (
        django_capture_on_commit_callbacks(execute=True),
        mock.patch("applications.oauth.validator.user_signed_in", then_fail),
        pytest.raises(RuntimeError),
    ):
        authorize(browser, app)

    assert counters.pending() == ({}, set())


def test_a_committed_sign_in_counts_once(shop, django_capture_on_commit_callbacks):
    app, _ = shop
    alice = UserFactory()
    browser = Client()
    browser.force_login(alice)

    with django_capture_on_commit_callbacks(execute=True):
        code_from(authorize(browser, app))

    today = datetime.now(UTC).date()
    assert counters.pending() == ({(app.pk, today, "sign_ins"): 1}, {(app.pk, today, alice.pk)})
