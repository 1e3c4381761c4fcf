"""Failed password sign-ins (identity.sign_in_limits): locked per account and address, only slowed per
account, limited per address; 429 with Retry-After and a page saying what to do; no enumeration."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.identity.factories import UserFactory
from tests.protocol.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def limits(settings):
    settings.LATCHKEY_SIGN_IN_FAILURES_PER_ACCOUNT_AND_IP = 3
    settings.LATCHKEY_SIGN_IN_FAILURES_PER_ACCOUNT_PER_MINUTE = 5
    settings.LATCHKEY_SIGN_IN_FAILURES_PER_IP = 8
    settings.LATCHKEY_SIGN_IN_LOCKOUT_SECONDS = 900


def sign_in(client, email: str, password: str = "wrong", ip: str = "198.51.100.1"):
    return client.post("/login", {"username": email, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.parametrize("email", ["target@example.com", "nobody@example.com"])
def test_repeated_failures_lock_this_address_out_for_that_account_with_429(client, email):
    UserFactory(email="target@example.com")
    assert [sign_in(client, email).status_code for _ in range(3)] == [200, 200, 200]

    locked = sign_in(client, email, PASSWORD)  # even the right password: refused unchecked

    assert locked.status_code == 429
    assert 1 <= int(locked["Retry-After"]) <= 900
    page = locked.content.decode()
    assert 'data-testid="login-throttled"' in page and "reset your password" in page
    assert "_auth_user_id" not in client.session


def test_the_person_elsewhere_still_signs_in(client):
    user = UserFactory(email="target@example.com")
    for _ in range(3):
        sign_in(client, user.email, ip="203.0.113.66")  # the attacker's address

    response = sign_in(Client(), user.email, PASSWORD, ip="198.51.100.1")

    assert response.status_code == 302


def test_failures_from_many_addresses_only_slow_the_account_for_the_minute(client):
    user = UserFactory(email="target@example.com")
    for n in range(5):
        sign_in(client, user.email, ip=f"203.0.113.{n}")

    slowed = sign_in(Client(), user.email, PASSWORD, ip="198.51.100.1")

    assert slowed.status_code == 429 and int(slowed["Retry-After"]) <= 60


def test_one_address_failing_for_many_accounts_is_limited(client):
    for n in range(8):
        sign_in(client, f"someone{n}@example.com")
    assert sign_in(client, "another@example.com").status_code == 429


def test_a_successful_sign_in_counts_no_failure(client):
    user = UserFactory(email="target@example.com")
    for _ in range(4):
        assert sign_in(Client(), user.email, PASSWORD).status_code == 302
    assert sign_in(client, user.email).status_code == 200  # a first failure, not a lockout


def test_password_reset_past_allauths_limit_gets_the_branded_429_page(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {"reset_password": "20/m/ip,2/m/key"}
    answers = [client.post("/account/password/reset/", {"email": "ada@example.com"}) for _ in range(3)]

    assert [a.status_code for a in answers[:2]] == [302, 302]
    assert answers[2].status_code == 429
    page = answers[2].content.decode()
    assert 'data-testid="too-many-requests"' in page and "wait a minute" in page


def test_the_lockout_of_an_account_is_one_event_for_webhooks(client):
    from applications.events.models import Event

    user = UserFactory(email="target@example.com")
    for _ in range(5):  # three failures lock; the refused attempts after that count nothing
        sign_in(client, user.email)
    for _ in range(3):
        sign_in(client, "nobody@example.com", ip="198.51.100.2")

    (event,) = Event.objects.filter(type="user.sign_in_locked")
    assert event.payload["user_id"] == str(user.public_id)
    assert event.payload["until"] > event.occurred_at.isoformat()
