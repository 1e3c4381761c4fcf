"""config.cache: the shared cache as an optimisation. Down or silent, it answers the default, fast."""

from __future__ import annotations

import logging
import time

import pytest
from django.core.cache import caches

from config import cache as shared_cache
from tests.conftest import CLOSED_PORT_CACHE_URL


def warnings(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_cache_reads_and_writes_through_a_working_cache():
    assert shared_cache.cache_set("latchkey:test", "value", timeout=10) is True
    assert shared_cache.cache_get("latchkey:test") == "value"
    assert shared_cache.cache_add("latchkey:test", "other", timeout=10) is False
    assert shared_cache.cache_delete("latchkey:test") is True
    assert shared_cache.cache_get("latchkey:test", "missing") == "missing"


def test_cache_get_many_answers_the_keys_found_in_one_call():
    shared_cache.cache_set("latchkey:test:a", "A", timeout=10)

    assert shared_cache.cache_get_many(["latchkey:test:a", "latchkey:test:missing"]) == {"latchkey:test:a": "A"}


def test_cache_down_get_many_answers_nothing(cache_down):
    assert shared_cache.cache_get_many(["latchkey:test:a"]) == {}


def test_cache_down_reads_answer_the_default_within_the_timeouts_and_warn_once(cache_down, caplog):
    started = time.monotonic()
    with caplog.at_level(logging.INFO, logger="config.cache"):
        answers = [shared_cache.cache_get("latchkey:test", "default") for _ in range(5)]
        added = shared_cache.cache_add("latchkey:test", "value", timeout=10)
        stored = shared_cache.cache_set("latchkey:test", "value", timeout=10)

    assert answers == ["default"] * 5
    assert (added, stored) == (False, False)
    assert time.monotonic() - started < 2  # one timeout at most: later calls skip the cache
    (warning,) = warnings(caplog)
    assert warning.getMessage().startswith(
        f"cache unreachable ({'ConnectionError' if cache_down == 'refused' else 'TimeoutError'})"
    )
    assert warning.exc_info is None
    assert "127.0.0.1" not in warning.getMessage()


def test_cache_down_a_named_write_failure_is_its_own_warning_line(use_cache, caplog):
    use_cache(CLOSED_PORT_CACHE_URL)
    with caplog.at_level(logging.WARNING, logger="config.cache"):
        shared_cache.cache_get("latchkey:test")  # the outage begins: later calls skip the cache for a while
        stored = shared_cache.cache_set("latchkey:test", "value", timeout=10, failure="the thing was not refreshed")
        deleted = shared_cache.cache_delete("latchkey:test", failure="the other thing was not dropped")

    assert (stored, deleted) == (False, False)
    assert [record.getMessage() for record in warnings(caplog)] == [
        "cache unreachable (ConnectionError): serving from the database, trying again every 5 s",
        "cache unreachable (ConnectionError): the thing was not refreshed",
        "cache unreachable (ConnectionError): the other thing was not dropped",
    ]


def test_cache_is_tried_again_after_the_retry_delay_and_says_it_is_back(use_cache, monkeypatch, caplog):
    use_cache(CLOSED_PORT_CACHE_URL)
    monkeypatch.setattr(shared_cache, "RETRY_SECONDS", 0)
    assert shared_cache.cache_get("latchkey:test", "default") == "default"

    caplog.clear()
    monkeypatch.setattr(caches["default"], "get", lambda key, default=None: "answered")
    with caplog.at_level(logging.INFO, logger="config.cache"):
        assert shared_cache.cache_get("latchkey:test") == "answered"

    assert [record.getMessage() for record in caplog.records] == ["cache answers again"]


def test_cache_errors_other_than_an_outage_are_bugs_and_raise(monkeypatch):
    monkeypatch.setattr(caches["default"], "get", lambda key, default=None: 1 / 0)

    with pytest.raises(ZeroDivisionError):
        shared_cache.cache_get("latchkey:test")
