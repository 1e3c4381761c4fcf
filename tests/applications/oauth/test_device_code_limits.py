"""Typing user codes at /device is limited (issue 20): codes that name no device count per signed-in user and
per address; past a limit the page answers 429 with Retry-After and says when to try again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import get_device_grant_model

from tests.applications.factories import make_application
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def limits(settings):
    settings.LATCHKEY_DEVICE_CODE_FAILURES_PER_USER = 3
    settings.LATCHKEY_DEVICE_CODE_FAILURES_PER_IP = 5
    settings.LATCHKEY_DEVICE_CODE_FAILURE_WINDOW_SECONDS = 900


def signed_in(ip: str = "198.51.100.1") -> Client:
    client = Client(REMOTE_ADDR=ip)
    client.force_login(UserFactory())
    return client


def pending_device(user_code: str = "BCDFGHJK") -> None:
    get_device_grant_model().objects.create(
        client_id=make_application(type="native")[0].client_id,
        device_code="d" * 40,
        user_code=user_code,
        scope="openid",
        expires=timezone.now() + timedelta(minutes=10),
    )


def test_wrong_codes_get_400_then_429_and_even_the_right_code_waits():
    pending_device()
    client = signed_in()
    assert [client.post("/device", {"user_code": "ZZZZ-ZZZZ"}).status_code for _ in range(3)] == [400, 400, 400]

    limited = client.post("/device", {"user_code": "BCDF-GHJK"})

    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 900
    assert "Too many codes that did not match any device" in limited.content.decode()
    confirm = client.post("/device/confirm", {"user_code": "BCDFGHJK", "action": "approve"})
    assert confirm.status_code == 429  # the confirm step is limited alike


def test_another_user_at_another_address_is_not_limited():
    pending_device()
    guesser = signed_in("203.0.113.66")
    for _ in range(3):
        guesser.post("/device", {"user_code": "ZZZZ-ZZZZ"})

    assert signed_in("198.51.100.1").post("/device", {"user_code": "BCDF-GHJK"}).status_code == 200


def test_many_users_guessing_from_one_address_are_limited_there():
    for _ in range(5):
        signed_in().post("/device", {"user_code": "ZZZZ-ZZZZ"})
    assert signed_in().post("/device", {"user_code": "ZZZZ-ZZZZ"}).status_code == 429


def test_an_expired_or_used_code_is_no_guess():
    client = signed_in()
    assert [client.post("/device", {"user_code": "ZZZZ-ZZZZ"}).status_code for _ in range(2)] == [400, 400]
    get_device_grant_model().objects.create(
        client_id=make_application(type="native")[0].client_id,
        device_code="e" * 40,
        user_code="BCDFGHJK",
        scope="openid",
        expires=timezone.now() - timedelta(minutes=1),
    )
    assert [client.post("/device", {"user_code": "BCDF-GHJK"}).status_code for _ in range(3)] == [400, 400, 400]
