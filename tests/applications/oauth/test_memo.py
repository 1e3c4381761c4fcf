"""applications.oauth.memo in one process: what it keeps, when it forgets, when it is off.

tests/applications/oauth/test_memo_processes.py runs the same rules across processes.
"""

from __future__ import annotations

import time

import pytest
from django.db import transaction

from applications import services
from applications.models import Scope
from applications.oauth import memo
from tests.applications.factories import ScopeFactory, m2m_default_scope, make_application

pytestmark = pytest.mark.django_db


def token_request(client, application, secret, scope="default:call"):
    return client.post(
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": scope},
        HTTP_AUTHORIZATION=basic(application.client_id, secret),
    )


def basic(client_id: str, secret: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_kept_scopes_are_read_once(client, django_assert_num_queries):
    application, secret = make_application(type="m2m")
    assert token_request(client, application, secret).status_code == 200

    # The client's row (its secret and is_active are read on every request) and the token's INSERT.
    with django_assert_num_queries(2):
        assert token_request(client, application, secret).status_code == 200


def test_auto_with_a_per_process_cache_keeps_nothing(settings, django_assert_num_queries):
    settings.LATCHKEY_PROCESS_MEMO = "auto"  # the test settings' cache is LocMemCache

    assert memo.enabled() is False
    with django_assert_num_queries(2):
        memo.remembered("catalogue", lambda: list(Scope.objects.all()))
        memo.remembered("catalogue", lambda: list(Scope.objects.all()))


def test_auto_with_a_shared_cache_is_on(settings):
    settings.LATCHKEY_PROCESS_MEMO = "auto"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://x"}}

    assert memo.enabled() is True


def test_an_unreachable_cache_sends_every_read_to_the_database(monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(memo, "cache_get", lambda key, default=None: None)
    monkeypatch.setattr(memo, "cache_add", lambda key, value, timeout: False)

    with django_assert_num_queries(2):
        memo.remembered("catalogue", lambda: list(Scope.objects.all()))
        memo.remembered("catalogue", lambda: list(Scope.objects.all()))


def test_the_shared_generation_is_asked_for_at_most_every_check_interval(monkeypatch):
    memo._current_generation()  # a generation exists (the first ever asked for is started, a second GET)
    asked = []
    real_get = memo.cache_get
    monkeypatch.setattr(memo, "cache_get", lambda key, default=None: asked.append(key) or real_get(key, default))
    now = [1000.0]
    monkeypatch.setattr(memo.time, "monotonic", lambda: now[0])

    memo.remembered("answer", lambda: 1)
    memo.remembered("answer", lambda: 2)
    assert len(asked) == 1
    now[0] += memo.CHECK_SECONDS + 0.1
    memo.remembered("answer", lambda: 3)
    assert len(asked) == 2


def test_a_new_generation_from_another_process_empties_the_memo_at_the_next_check(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(memo.time, "monotonic", lambda: now[0])
    assert memo.remembered("answer", lambda: "old") == "old"

    memo.cache_set(memo.GENERATION_KEY, "another process's", timeout=60)  # its committed change

    assert memo.remembered("answer", lambda: "new") == "old"  # until this process asks again
    now[0] += memo.CHECK_SECONDS
    assert memo.remembered("answer", lambda: "new") == "new"


def test_rows_loaded_while_a_change_commits_are_not_kept(django_assert_num_queries):
    application, _ = make_application(type="m2m")

    def load_then_another_process_commits():
        loaded = application.name
        memo._start_generation()
        return loaded

    assert memo.remembered("name", load_then_another_process_commits) == application.name
    with django_assert_num_queries(0):
        assert memo.remembered("name", lambda: "read again") == "read again"


def test_the_memo_ends_after_its_maximum_age(monkeypatch):
    memo.remembered("answer", lambda: 1)
    later = time.monotonic() + memo.MAX_AGE_SECONDS + 1
    monkeypatch.setattr(memo.time, "monotonic", lambda: later)

    assert memo.remembered("answer", lambda: 2) == 2


def test_a_saved_row_empties_this_processs_memo_before_its_transaction_commits():
    application, _ = make_application(type="m2m")
    assert memo.remembered(("available", application.pk), lambda: "old") == "old"

    with transaction.atomic():
        ScopeFactory(name="new:scope")
        assert memo.remembered(("available", application.pk), lambda: "new") == "new"


def test_a_rotated_secret_stops_working_at_once_and_the_new_one_works(client, django_capture_on_commit_callbacks):
    application, old_secret = make_application(type="m2m")
    assert token_request(client, application, old_secret).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        new_secret = services.application_rotate_secret(actor=None, application=application)

    assert token_request(client, application, old_secret).json()["error"] == "invalid_client"
    assert token_request(client, application, new_secret).status_code == 200


def test_a_scope_taken_from_the_client_is_refused_at_once(client, django_capture_on_commit_callbacks):
    default, extra = m2m_default_scope(), ScopeFactory(name="extra:call")
    application, secret = make_application(type="m2m", allowed_scopes=[default, extra])
    assert token_request(client, application, secret, "extra:call").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        services.application_update(actor=None, application=application, allowed_scopes=[default])

    assert token_request(client, application, secret, "extra:call").json()["error"] == "invalid_scope"
