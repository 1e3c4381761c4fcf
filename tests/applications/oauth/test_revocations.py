"""Not-before entries (applications.oauth.revocations): which tokens an entry revokes, and what it costs to ask."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from applications import policies
from applications.models import TokenRevocation
from applications.oauth import revocations
from applications.oauth.revocations import not_before_record, token_revoked

pytestmark = pytest.mark.django_db

REVOKED_AT = datetime(2026, 12, 2, 10, 0, 5, 300_000, tzinfo=UTC)
BEFORE = datetime(2026, 12, 2, 10, 0, 4, tzinfo=UTC)  # the iat of a token issued a second earlier


@pytest.fixture
def user_sub() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def client_id() -> str:
    return f"client-{uuid.uuid4().hex}"


@pytest.fixture(autouse=True)
def _now_after_revocation(monkeypatch):
    """The entries below are alive: "now" is a minute after them."""
    monkeypatch.setattr(timezone, "now", lambda: REVOKED_AT + timedelta(minutes=1))


def test_token_revoked_without_entries_is_false(user_sub, client_id):
    assert token_revoked(subject=user_sub, client_id=client_id, issued_at=BEFORE) is False


@pytest.mark.parametrize(
    ("entry", "asked", "revoked"),
    [
        pytest.param(("sub", "client"), ("sub", "client"), True, id="user-at-app"),
        pytest.param(("sub", "client"), ("sub", "other"), False, id="user-at-app-other-app"),
        pytest.param(("sub", "client"), ("other", "client"), False, id="user-at-app-other-user"),
        pytest.param(("sub", "client"), (None, "client"), False, id="user-at-app-client-token"),
        pytest.param(("sub", ""), ("sub", "client"), True, id="user-everywhere"),
        pytest.param(("sub", ""), ("sub", "other"), True, id="user-everywhere-other-app"),
        pytest.param(("sub", ""), ("other", "client"), False, id="user-everywhere-other-user"),
        pytest.param(("", "client"), ("sub", "client"), True, id="app-user-token"),
        pytest.param(("", "client"), (None, "client"), True, id="app-client-token"),
        pytest.param(("", "client"), ("sub", "other"), False, id="app-other-app"),
    ],
)
def test_token_revoked_follows_what_the_entry_names(user_sub, client_id, entry, asked, revoked):
    names = {"sub": user_sub, "client": client_id, "other": f"other-{uuid.uuid4().hex}", "": "", None: None}
    not_before_record(subject=names[entry[0]], client_id=names[entry[1]], reason="test", at=REVOKED_AT)

    assert token_revoked(subject=names[asked[0]], client_id=names[asked[1]], issued_at=BEFORE) is revoked


@pytest.mark.parametrize(
    ("issued_at", "revoked"),
    [
        pytest.param(BEFORE, True, id="second-before"),
        pytest.param(REVOKED_AT.replace(microsecond=0), True, id="same-second-iat"),
        pytest.param(REVOKED_AT - timedelta(microseconds=1), True, id="same-second-exact-before"),
        pytest.param(REVOKED_AT + timedelta(microseconds=1), True, id="same-second-exact-after"),
        pytest.param(REVOKED_AT.replace(microsecond=0) + timedelta(seconds=1), False, id="next-second"),
    ],
)
def test_token_revoked_counts_a_token_of_the_entrys_second_as_revoked(user_sub, client_id, issued_at, revoked):
    # JWT iat is whole seconds: a token issued before the revocation in that second has the same iat as one after.
    not_before_record(subject=user_sub, client_id=client_id, reason="test", at=REVOKED_AT)

    assert token_revoked(subject=user_sub, client_id=client_id, issued_at=issued_at) is revoked


def test_token_revoked_ignores_an_expired_entry(monkeypatch, user_sub, client_id):
    not_before_record(subject=user_sub, client_id=client_id, reason="test", at=REVOKED_AT)
    revocations._memo.clear()  # a process that never asked before the entry expired
    later = REVOKED_AT + timedelta(seconds=policies.ACCESS_TOKEN_TTL_MAX + 1)
    monkeypatch.setattr(timezone, "now", lambda: later)

    assert token_revoked(subject=user_sub, client_id=client_id, issued_at=BEFORE) is False


def test_not_before_record_lives_as_long_as_the_longest_access_token(user_sub, client_id):
    not_before_record(subject=user_sub, client_id=client_id, reason="signed_out", at=REVOKED_AT)

    entry = TokenRevocation.objects.get(subject=user_sub)
    assert (entry.client_id, entry.reason, entry.revoked_at) == (client_id, "signed_out", REVOKED_AT)
    assert entry.expires_at == REVOKED_AT + timedelta(seconds=policies.ACCESS_TOKEN_TTL_MAX)


def test_not_before_record_naming_nothing_is_refused():
    with pytest.raises(ValueError):
        not_before_record(reason="test")


def test_token_revoked_asked_again_costs_no_query(django_assert_num_queries, user_sub, client_id):
    with django_assert_num_queries(1):
        token_revoked(subject=user_sub, client_id=client_id, issued_at=BEFORE)
    with django_assert_num_queries(0):
        assert token_revoked(subject=user_sub, client_id=client_id, issued_at=BEFORE) is False


def test_token_revoked_remembered_no_sees_a_new_entry(user_sub, client_id):
    assert token_revoked(subject=user_sub, client_id=client_id, issued_at=BEFORE) is False

    not_before_record(subject="", client_id=client_id, reason="test", at=REVOKED_AT)

    assert token_revoked(subject=user_sub, client_id=client_id, issued_at=BEFORE) is True


def test_token_revoked_remembered_no_sees_an_entry_once_another_process_announces_it(user_sub, client_id):
    assert token_revoked(subject=user_sub, client_id=client_id, issued_at=BEFORE) is False
    # Another process's entry: its row, then (after its commit) the new generation in the shared cache.
    TokenRevocation.objects.create(
        subject=user_sub, client_id="", revoked_at=REVOKED_AT, expires_at=REVOKED_AT + timedelta(days=1), reason="x"
    )
    assert token_revoked(subject=user_sub, client_id=client_id, issued_at=BEFORE) is False  # not yet announced

    revocations._start_generations([revocations._generation_key("subject", user_sub)])

    assert token_revoked(subject=user_sub, client_id=client_id, issued_at=BEFORE) is True


def test_token_revoked_with_the_cache_down_asks_the_database(cache_down, user_sub, client_id):
    not_before_record(subject=user_sub, client_id="", reason="test", at=REVOKED_AT)

    assert token_revoked(subject=user_sub, client_id=client_id, issued_at=BEFORE) is True
    assert token_revoked(subject=user_sub, client_id=f"{client_id}-2", issued_at=BEFORE) is True


# -- two processes sharing the database and Redis, as two app servers do ---------------------------

_ASKER = """
import json, sys
from datetime import datetime
import django
django.setup()
from django.db import connection
from django.test.utils import CaptureQueriesContext
from applications.oauth.revocations import token_revoked
for line in sys.stdin:
    subject, client_id, issued_at = json.loads(line)
    with CaptureQueriesContext(connection) as queries:
        revoked = token_revoked(subject=subject, client_id=client_id, issued_at=datetime.fromisoformat(issued_at))
    print(json.dumps([revoked, len(queries)]), flush=True)
"""


@pytest.fixture
def two_servers(tmp_path, real_redis):
    """manage(...) runs a command as one server; ask(...) asks a long-lived other server (its own memo)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "LATCHKEY_", "LOG_"))}
    env.update(
        DJANGO_SECRET_KEY="k" * 50,
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CACHE_URL="redis://127.0.0.1:6379/15",
    )
    root = Path(__file__).resolve().parents[3]

    def manage(*args: str) -> None:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=root, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr

    manage("migrate", "--noinput", "--verbosity", "0")
    asker = subprocess.Popen(
        [sys.executable, "-c", _ASKER], cwd=root, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )

    def ask(subject: str, client_id: str, issued_at: datetime) -> tuple[bool, int]:
        asker.stdin.write(json.dumps([subject, client_id, issued_at.isoformat()]) + "\n")
        asker.stdin.flush()
        revoked, queries = json.loads(asker.stdout.readline())
        return revoked, queries

    yield manage, ask
    asker.stdin.close()
    asker.wait(timeout=30)


def test_token_revoked_on_another_server_sees_an_entry_at_once_and_asks_once(two_servers, user_sub, client_id):
    manage, ask = two_servers
    issued = datetime.now(UTC) - timedelta(seconds=5)
    assert ask(user_sub, client_id, issued) == (False, 1)
    assert ask(user_sub, client_id, issued) == (False, 0)  # remembered

    manage(
        "shell",
        "-c",
        "from applications.oauth.revocations import not_before_record; "
        f"not_before_record(subject={user_sub!r}, reason='signed_out')",
    )

    assert ask(user_sub, client_id, issued) == (True, 1)
    assert ask(user_sub, client_id, issued) == (True, 0)
    assert ask(user_sub, client_id, datetime.now(UTC) + timedelta(seconds=2)) == (False, 0)  # a later token
