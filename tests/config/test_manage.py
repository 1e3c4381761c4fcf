"""`manage.py` without a usable configuration says what to set in one line, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "LATCHKEY_", "LOG_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", [["keys", "list"], ["migrate", "--check"], ["check"]])
def test_a_command_without_debug_or_secret_key_prints_one_line_naming_the_variable(command):
    result = manage(*command)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    assert "DJANGO_DEBUG=true" in result.stderr
    assert result.stdout == ""


def test_an_invalid_setting_is_one_line_too():
    result = manage("check", DJANGO_DEBUG="true", LOG_FORMAT="xml")

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "LOG_FORMAT='xml'" in result.stderr


def test_a_configured_command_still_runs():
    result = manage("check", DJANGO_DEBUG="true")

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
