"""The documented production environment passes `manage.py check --deploy`, and its commands work as written."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
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


def readme_block(heading: str) -> str:
    """The first ```sh block after `heading` in the README."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split(heading, 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.skipif(not (shutil.which("bash") and shutil.which("curl") and shutil.which("jq")), reason="bash, curl, jq")
def test_the_two_server_example_works_as_written(tmp_path):
    """The README's two-server commands, run by bash with the documented production environment.

    Only the database (a SQLite file both servers share), the cache and the ports differ; the hosts,
    the https redirect and the proxy settings are the README's.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "LATCHKEY_", "LOG_"))}
    env.update(production_environment())
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CACHE_URL="locmemcache://",
        WEB_CONCURRENCY="1",
        DJANGO_SETTINGS_MODULE="config.settings.base",
    )
    migrate = [line for line in readme_block("### Install, migrate").splitlines() if " migrate " in line]
    script = "\n".join(["set -e", *migrate, readme_block("### Several app servers")])
    for documented in ("127.0.0.1:8001", "127.0.0.1:8002"):
        script = script.replace(documented, f"127.0.0.1:{free_port()}")

    shell = subprocess.Popen(
        ["bash", "-c", script],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the servers join its process group, stopped below whatever happens
    )
    try:
        stdout, stderr = shell.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGTERM)

    assert shell.returncode == 0, stderr[-3000:]
    assert "jq: error" not in stderr
    # curl prints the bodies without a newline: read each introspection answer where it starts.
    decoder = json.JSONDecoder()
    introspections = [decoder.raw_decode(stdout, match.start())[0] for match in re.finditer(r'\{"active"', stdout)]
    assert [answer["active"] for answer in introspections] == [True, False]
    assert introspections[0]["scope"] == "two:read"
