"""`make bench` still works: its smoke round (1 s per endpoint) runs end to end and prints the table
and the ceilings of the core.

Needs wrk and a PostgreSQL server (BENCH_PG_URL, default postgres@127.0.0.1:5432). Skipped on a
machine without them, but never in CI (CI=true): there a missing one fails the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench import run

pytestmark = pytest.mark.bench
ROOT = Path(__file__).resolve().parent.parent
# Not make bench's 18200-18203; per process (four ports each), so two suites can run side by side.
PORT = str(18210 + os.getpid() % 40 * 4)


def missing_tool() -> str | None:
    if not shutil.which("wrk"):
        return "wrk is not installed (apt-get install wrk)"
    pg_url = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
    try:
        run.pg_version(pg_url)
    except Exception as exc:  # noqa: BLE001  (any failure to connect means: no PostgreSQL here)
        return f"PostgreSQL is not reachable at {pg_url}: {exc}"
    return None


@pytest.fixture
def bench_tools():
    problem = missing_tool()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{problem}; CI must run the bench's smoke round")
        pytest.skip(problem)


def row_of(table: list[str], endpoint: str) -> list[str]:
    line = next(line for line in table if line.startswith(f"| {endpoint} "))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_smoke_round_completes_and_prints_every_endpoint(bench_tools):
    if os.environ.get("DATABASE_URL"):
        # The bench makes its own databases, whatever the suite runs on: once per CI run is enough.
        pytest.skip("runs in the SQLite pass of the suite only")
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--smoke", "--port", PORT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    lines = done.stdout.splitlines()
    assert any(line.startswith("| endpoint ") and "Latchkey req/s" in line and "DOT req/s" in line for line in lines)
    for endpoint in run.ENDPOINTS:
        _, ours, _, _, our_errors, theirs, _, _, their_errors, ratio = row_of(lines, endpoint)
        assert float(ours) > 0, f"Latchkey served no {endpoint} request:\n{done.stdout}\n{done.stderr[-4000:]}"
        assert our_errors == "0", f"Latchkey {endpoint} errors:\n{done.stdout}"
        assert their_errors == "0", f"DOT {endpoint} errors:\n{done.stdout}"
    # Without a client secret to hash, DOT answers within the second too (its PBKDF2 endpoints may not).
    for endpoint in ("userinfo", "discovery", "jwks"):
        assert float(row_of(lines, endpoint)[5]) > 0
    assert "postgresql:" in done.stdout and "gunicorn:" in done.stdout
    # The ceilings of the core, measured the same way, follow the table.
    for label, _ in run.CEILINGS:
        line = next(line for line in lines if line.strip().startswith(f"{label}:"))
        assert float(line.split(":", 1)[1].split()[0]) > 0 and line.endswith(" 0 errors"), line
    # and each server's figures as a share of the Django ceiling of the same round
    for server in ("Latchkey", "DOT"):
        line = next(line for line in lines if line.strip().startswith(f"{server}: client_credentials "))
        assert all(f"{endpoint} " in line for endpoint in run.ENDPOINTS) and line.endswith(" %"), line
