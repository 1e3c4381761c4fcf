"""config.ratelimit: fixed windows in the shared cache, the address behind trusted proxies, and the cache down."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from config.ratelimit import Limit, client_ip, count

LIMIT = Limit("test", 3, 60)


def test_count_is_over_the_limit_after_limit_events_and_says_until_when():
    now = 1_000_040.0  # 20 s into a 60 s window (they start at multiples of 60)
    assert [count(LIMIT, "k", now=now) for _ in range(3)] == [None, None, None]
    assert count(LIMIT, "k", now=now) == 40
    assert count(LIMIT, "other", now=now) is None  # another key counts apart
    assert count(LIMIT, "k", now=now + 40) is None  # a new window


@pytest.mark.parametrize(
    ("trusted", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.1"),  # no proxy configured: the header is anyone's to send
        (1, "198.51.100.7, 203.0.113.9", "203.0.113.9"),  # what the one trusted proxy saw
        (2, "198.51.100.7, 203.0.113.9", "198.51.100.7"),
        (2, "203.0.113.9", "10.0.0.1"),  # fewer hops than proxies: not trusted
    ],
)
def test_client_ip_uses_forwarded_for_only_behind_configured_proxies(settings, trusted, forwarded, expected):
    settings.LATCHKEY_TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


@pytest.mark.parametrize(("mode", "expected"), [("open", None), ("closed", 40)])
def test_cache_down_lets_through_or_refuses_per_the_setting(settings, cache_down, mode, expected):
    settings.LATCHKEY_RATE_LIMITS_WHEN_CACHE_DOWN = mode
    assert count(LIMIT, "k", now=1_000_040.0) == expected
