"""The documented production environment passes `manage.py check --deploy` without a warning."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def production_environment() -> dict[str, str]:
    """The `export NAME=value` lines of the README's "Running in production" section."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Running in production", 1)[1].split("\n## ", 1)[0]
    exported = dict(re.findall(r"^export ([A-Z_]+)=(\S*)", section, flags=re.MULTILINE))
    # The README generates the secret key in the shell; any long random value stands in for it here.
    assert exported.pop("DJANGO_SECRET_KEY").startswith("$(")
    exported["DJANGO_SECRET_KEY"] = "k" + os.urandom(40).hex()
    return exported


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "LATCHKEY_"))}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings.base", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_documented_production_environment_passes_check_deploy():
    env = production_environment()
    assert {"DATABASE_URL", "CACHE_URL", "LATCHKEY_ISSUER", "DJANGO_SECURE_SSL_REDIRECT"} <= set(env)

    result = check_deploy(env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    ("variable", "warning"),
    [
        ("DJANGO_SECURE_SSL_REDIRECT", "security.W008"),
        ("DJANGO_SECURE_HSTS_SECONDS", "security.W004"),
    ],
)
def test_check_deploy_warns_when_a_documented_setting_is_missing(variable, warning):
    env = production_environment()
    del env[variable]

    result = check_deploy(env)

    assert result.returncode != 0
    assert warning in result.stderr + result.stdout


def test_every_documented_production_variable_is_in_env_example():
    example = (ROOT / ".env.example").read_text()
    missing = [name for name in production_environment() if not re.search(rf"^#? ?{name}=", example, re.MULTILINE)]
    assert missing == []
