"""Which application a page is for, read from the authorization request in progress."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.test import RequestFactory
from django.utils import timezone
from oauth2_provider.models import get_device_grant_model

from branding.selectors import request_application
from branding.services import branding_for
from tests.applications.factories import make_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def rf():
    return RequestFactory()


@pytest.fixture
def app():
    return make_application(type="web", name="Streamline")[0]


@pytest.fixture
def other():
    return make_application(type="web", name="Other")[0]


def authorize_path(application) -> str:
    return "/oauth/authorize?" + urlencode({"response_type": "code", "client_id": application.client_id})


def fake_hint(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2ln"


def test_request_application_from_client_id_query(rf, app):
    assert request_application(rf.get("/oauth/authorize", {"client_id": app.client_id})) == app


def test_request_application_from_consent_form_post(rf, app):
    assert request_application(rf.post("/oauth/authorize", {"client_id": app.client_id})) == app


def test_request_application_from_local_next_to_authorize(rf, app):
    assert request_application(rf.get("/login", {"next": authorize_path(app)})) == app


def test_request_application_from_next_in_login_form_post(rf, app):
    assert request_application(rf.post("/login", {"next": authorize_path(app)})) == app


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example.com/oauth/authorize?client_id={id}", "//evil.example.com/oauth/authorize?client_id={id}"],
)
def test_request_application_ignores_next_to_another_host(rf, app, next_url):
    assert request_application(rf.get("/login", {"next": next_url.format(id=app.client_id)})) is None


def test_request_application_next_decides_over_a_stray_client_id(rf, app, other):
    """Where the user is sent decides: a client_id beside `next` cannot lend its sign-in methods."""
    request = rf.post("/login", {"next": authorize_path(app), "client_id": other.client_id})
    assert request_application(request) == app


def test_request_application_next_to_another_page_is_no_application(rf, app):
    assert request_application(rf.get("/login", {"next": "/account/apps", "client_id": app.client_id})) is None


def test_request_application_from_id_token_hint_audience(rf, app):
    hint = fake_hint({"aud": app.client_id, "sub": "x"})
    assert request_application(rf.get("/oauth/logout", {"id_token_hint": hint})) == app


def test_request_application_from_id_token_hint_authorized_party_among_audiences(rf, app):
    hint = fake_hint({"aud": ["https://api.example.com", app.client_id], "azp": app.client_id})
    assert request_application(rf.get("/oauth/logout", {"id_token_hint": hint})) == app


@pytest.mark.parametrize("hint", ["junk", "a.b.c", "a.bnVsbA.c", fake_hint({"aud": 3}), "x" * 9000])
def test_request_application_malformed_hint_is_no_application(rf, hint):
    assert request_application(rf.get("/oauth/logout", {"id_token_hint": hint})) is None


@pytest.mark.parametrize("client_id", ["unknown", "a\x00b", "x" * 101])
def test_request_application_unknown_or_impossible_client_id_is_none(rf, client_id):
    assert request_application(rf.get("/oauth/authorize", {"client_id": client_id})) is None


def test_request_application_from_device_user_code(rf):
    native = make_application(type="native", name="TV app")[0]
    get_device_grant_model().objects.create(
        client_id=native.client_id,
        device_code="d" * 40,
        user_code="BCDFGHJK",
        scope="openid",
        expires=timezone.now() + timedelta(minutes=10),
    )
    assert request_application(rf.get("/device", {"user_code": "bcdf-ghjk"})) == native
    assert request_application(rf.post("/device/confirm", {"user_code": "BCDFGHJK"})) == native
    assert request_application(rf.get("/login", {"next": "/device?user_code=BCDF-GHJK"})) == native
    assert request_application(rf.get("/oauth/authorize", {"user_code": "BCDFGHJK"})) is None  # only /device


def test_request_application_expired_device_code_is_none(rf):
    native = make_application(type="native")[0]
    get_device_grant_model().objects.create(
        client_id=native.client_id,
        device_code="e" * 40,
        user_code="BCDFGHJK",
        scope="openid",
        expires=timezone.now() - timedelta(seconds=1),
    )
    assert request_application(rf.get("/device", {"user_code": "BCDFGHJK"})) is None


def test_request_application_set_by_the_view_wins_and_costs_no_query(rf, app, other, django_assert_num_queries):
    request = rf.get("/oauth/authorize", {"client_id": other.client_id})
    request.latchkey_application = app
    with django_assert_num_queries(0):
        assert request_application(request) == app


def test_request_application_read_once_per_request(rf, app, django_assert_num_queries):
    request = rf.get("/oauth/authorize", {"client_id": app.client_id})
    with django_assert_num_queries(1):  # the application with its branding, joined
        request_application(request)
        request_application(request)
        branding_for(request_application(request))
