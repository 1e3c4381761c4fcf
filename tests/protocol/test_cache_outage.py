"""The shared cache down: its port closed, or a listener that accepts and never answers.

The cache is an optimisation (config.cache): every flow keeps working from the database, each request
within the cache timeouts (0.5 s a call, tests/config/test_timeouts.py), and an operator sees one
warning line per outage, never a traceback.
"""

from __future__ import annotations

import logging
import time

from tests.protocol.test_device import approve, native_app, poll, rewind_last_poll, start

# Loose: a request pays at most a few cache timeouts of 0.5 s, never a hung worker.
REQUEST_BOUND_SECONDS = 5


def timed(call):
    started = time.monotonic()
    response = call()
    elapsed = time.monotonic() - started
    assert elapsed < REQUEST_BOUND_SECONDS, f"{elapsed:.1f} s"
    return response


def test_device_flow_with_the_cache_down_issues_tokens_without_auth_time(server, browser, user, cache_down, caplog):
    application = native_app()
    started = timed(lambda: start(server, application)).json()

    with caplog.at_level(logging.WARNING, logger="config.cache"):
        done = timed(lambda: approve(browser, user, started["user_code"]))
    assert done.status_code == 200 and "Device connected" in done.text
    assert "its ID token carries no auth_time" in caplog.text

    rewind_last_poll(started["device_code"], 5)
    tokens = timed(lambda: poll(server, application.client_id, started["device_code"]))
    assert tokens.status_code == 200, tokens.text
    claims = server.decode_id_token(tokens.json()["id_token"], client_id=application.client_id)
    assert "auth_time" not in claims  # best effort: the sign-in time was only ever kept in the cache
