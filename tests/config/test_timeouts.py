"""Every wait on a dependency is bounded: a database or cache that never answers costs seconds, not a worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from redis.exceptions import TimeoutError as RedisTimeoutError

from tests.conftest import REDIS_TIMEOUTS

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_PROBE = (
    "import json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings.base';"
    "from django.conf import settings;"
    "print(json.dumps({'db': settings.DATABASES['default'].get('OPTIONS', {}), 'cache': settings.CACHES['default']}))"
)


def settings_with(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CACHE_"))}
    result = subprocess.run(
        [sys.executable, "-c", SETTINGS_PROBE],
        cwd=ROOT,
        env={**clean, "DJANGO_DEBUG": "true", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_postgresql_and_redis_waits_are_bounded_by_default():
    loaded = settings_with(DATABASE_URL="postgres://u:p@db.example.com:5432/latchkey", CACHE_URL="redis://r:6379/1")

    assert loaded["db"] == {"connect_timeout": 5, "options": "-c statement_timeout=15000"}
    assert loaded["cache"]["OPTIONS"] == REDIS_TIMEOUTS


def test_timeouts_come_from_the_environment():
    loaded = settings_with(
        DATABASE_URL="postgres://u:p@db.example.com:5432/latchkey",
        DATABASE_CONNECT_TIMEOUT="3",
        DATABASE_STATEMENT_TIMEOUT="2.5",
        CACHE_URL="redis://r:6379/1",
        CACHE_CONNECT_TIMEOUT="0.25",
        CACHE_SOCKET_TIMEOUT="1",
    )

    assert loaded["db"] == {"connect_timeout": 3, "options": "-c statement_timeout=2500"}
    assert loaded["cache"]["OPTIONS"] == {"socket_connect_timeout": 0.25, "socket_timeout": 1.0}


def test_sqlite_and_local_memory_get_no_postgresql_or_redis_options():
    loaded = settings_with()

    assert "statement_timeout" not in json.dumps(loaded["db"])
    assert "OPTIONS" not in loaded["cache"] or "socket_timeout" not in loaded["cache"]["OPTIONS"]


@pytest.mark.django_db
def test_postgresql_session_runs_with_the_statement_timeout():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (DATABASE_URL=postgres://…)")
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "15s"


def test_a_cache_that_never_answers_costs_a_call_its_socket_timeout(silent_cache_url):
    cache = RedisCache(silent_cache_url, {"OPTIONS": REDIS_TIMEOUTS})  # the defaults checked above

    started = time.monotonic()
    with pytest.raises(RedisTimeoutError):
        cache.get("latchkey:probe")

    assert time.monotonic() - started < 2
