"""Settings and system checks: the start-up guarantees an operator relies on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import checks

from config import checks as latchkey_checks

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


def test_debug_off_without_secret_key_fails_at_start_up_with_a_clear_message():
    result = run_manage("check", DJANGO_SETTINGS_MODULE="config.settings.base")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_debug_off_with_secret_key_starts():
    result = run_manage("check", DJANGO_SETTINGS_MODULE="config.settings.base", DJANGO_SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr


def test_debug_on_without_secret_key_starts_for_development():
    result = run_manage("check", DJANGO_SETTINGS_MODULE="config.settings.base", DJANGO_DEBUG="true")
    assert result.returncode == 0, result.stderr


def test_database_url_selects_postgresql():
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings.base';"
        "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env = {**clean, "DJANGO_DEBUG": "true"}
    sqlite = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    pg = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**env, "DATABASE_URL": "postgres://u:p@db.example.com:5432/latchkey"},
    )
    assert sqlite.stdout.strip() == "django.db.backends.sqlite3"
    # Django's backend, subclassed to wait for a server that is starting up (config/postgresql).
    assert pg.stdout.strip() == "config.postgresql"


def test_system_checks_pass_with_the_shipped_settings():
    assert [m.id for m in checks.run_checks() if m.id.startswith("latchkey.")] == []


def test_client_secret_hasher_must_not_be_first(settings):
    settings.PASSWORD_HASHERS = [
        "applications.secrets.ClientSecretHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    ids = [m.id for m in latchkey_checks.check_client_secret_hasher(None)]
    assert ids == ["latchkey.E002"]


def test_client_secret_hasher_must_be_listed(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    ids = [m.id for m in latchkey_checks.check_client_secret_hasher(None)]
    assert ids == ["latchkey.E001"]


@pytest.mark.parametrize(
    ("issuer", "debug", "expected"),
    [
        ("http://127.0.0.1:8000", False, []),
        ("https://id.example.com", False, []),
        ("id.example.com", False, ["latchkey.E003"]),
        ("https://id.example.com/?x=1", False, ["latchkey.E003"]),
        ("http://id.example.com", False, ["latchkey.E004"]),
        ("http://id.example.com", True, []),
    ],
)
def test_issuer_check(settings, issuer, debug, expected):
    settings.LATCHKEY_ISSUER = issuer
    settings.DEBUG = debug
    assert [m.id for m in latchkey_checks.check_issuer(None)] == expected


def test_deploy_checks_show_every_rfc9700_gate_on():
    messages = [m for m in checks.run_checks(include_deployment_checks=True) if m.id.startswith("oauth2_provider.")]
    assert messages == []
