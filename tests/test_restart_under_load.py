"""bench/restart_under_load.py: loopback only, bounded, and it counts what clients saw."""

from __future__ import annotations

import json

import pytest
import requests
from django.db import connection

from bench import restart_under_load


@pytest.mark.parametrize("url", ["postgres://postgres@db.example.com:5432/x", "postgres://postgres@10.0.0.5/x"])
def test_a_database_on_another_machine_is_refused(url, capsys):
    with pytest.raises(SystemExit):
        restart_under_load.parse_args(["--database-url", url])
    assert "must be on this machine" in capsys.readouterr().err


def test_the_duration_is_bounded(capsys):
    with pytest.raises(SystemExit):
        restart_under_load.parse_args(["--database-url", "postgres://127.0.0.1/x", "--duration", "600"])
    options = restart_under_load.parse_args(["--database-url", "postgres://127.0.0.1/x"])
    assert (options.duration, options.restart_at) == (30.0, 10.0)


def answer(status: int, content_type: str, body: bytes, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code, response._content = status, body
    response.headers.update({"Content-Type": content_type, **headers})
    return response


def test_failures_are_told_apart_by_status_and_body():
    kind_of = restart_under_load.kind_of
    unavailable = answer(503, "application/json", b'{"error": "temporarily_unavailable"}', **{"Retry-After": "5"})
    assert kind_of(unavailable, None) == "503 JSON temporarily_unavailable, Retry-After"
    assert kind_of(answer(500, "text/html; charset=utf-8", b"<h1>Server Error</h1>"), None) == "500 HTML"
    assert kind_of(answer(500, "application/json", b'{"error": "server_error"}'), None) == "500 JSON server_error"
    assert kind_of(None, requests.ConnectionError()) == "no answer (ConnectionError)"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="runs the production server against PostgreSQL")
def test_a_short_run_without_a_restart_issues_tokens_and_loses_none(tmp_path):
    s = connection.settings_dict
    url = f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    figures_file = tmp_path / "figures.json"
    argv = ["--database-url", url, "--duration", "2", "--clients", "2", "--workers", "1", "--threads", "2"]
    argv += ["--port", "18297"]
    code = restart_under_load.main([*argv, "--restart-command", "true", "--json", str(figures_file)])
    figures = json.loads(figures_file.read_text())
    assert code == 0
    assert figures["issued"] > 0
    assert (figures["failed"], figures["lost"]) == (0, 0)
    assert figures["introspection"] == {"True": figures["issued"]}
