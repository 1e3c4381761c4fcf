"""`make bench` still works: its smoke round (1 s per endpoint) runs end to end under gunicorn and
granian and prints a table per server, the four ceilings of the core and the shares of both Django ceilings.

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
# Not make bench's 18200-18205 nor restart_under_load's 18290s; per process (six ports each), so two
# suites can run side by side.
PORT = str(18400 + os.getpid() % 50 * 6)


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


def table_of(lines: list[str], server: str) -> list[str]:
    """The lines of the table printed under `under <server>:`."""
    start = lines.index(f"under {server}:") + 1
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


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
    for server in run.SERVERS:
        table = table_of(lines, server)
        assert table[0].startswith("| endpoint ") and "Latchkey req/s" in table[0] and "DOT req/s" in table[0]
        for endpoint in run.ENDPOINTS:
            _, ours, _, _, our_errors, theirs, _, _, their_errors, ratio = row_of(table, endpoint)
            assert float(ours) > 0, f"Latchkey served no {endpoint} request:\n{done.stdout}\n{done.stderr[-4000:]}"
            assert our_errors == "0", f"Latchkey ({server}) {endpoint} errors:\n{done.stdout}"
            assert their_errors == "0", f"DOT ({server}) {endpoint} errors:\n{done.stdout}"
        # Without a client secret to hash, DOT answers within the second too (its PBKDF2 endpoints may not).
        for endpoint in ("userinfo", "discovery", "jwks"):
            assert float(row_of(table, endpoint)[5]) > 0
    for fact in ("postgresql:", "gunicorn:", "granian:", "load average:"):
        assert fact in done.stdout
    # The ceilings of the core under both servers, measured the same way, follow the tables.
    for label, _, _ in run.CEILINGS:
        line = next(line for line in lines if line.strip().startswith(f"{label}:"))
        assert float(line.split(":", 1)[1].split()[0]) > 0 and line.endswith(" 0 errors"), line
    # and each project's figures under each server as a share of both Django ceilings of the same round
    for ceiling in ("gunicorn", "granian"):
        start = next(i for i, line in enumerate(lines) if line.startswith(f"share of the {ceiling} Django ceiling"))
        for project in ("Latchkey", "DOT"):
            for server in run.SERVERS:
                line = next(line for line in lines[start:] if line.startswith(f"  {project} ({server}): "))
                assert all(f"{endpoint} " in line for endpoint in run.ENDPOINTS) and line.endswith(" %"), line
