"""The production server (`python -m config.serve`, what `make serve` runs): granian configured from the
environment, one JSON log line per request, a clean stop on SIGTERM."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from config import serve
from config.settings.base import LOGGING

ROOT = Path(__file__).resolve().parents[2]


def test_server_config_defaults_bound_the_database_connections():
    config = serve.server_config({})

    assert (config.address, config.port, config.uds) == ("127.0.0.1", 8000, None)
    assert config.workers == os.cpu_count()
    assert config.threads == 8  # granian's own default would be 512 threads per worker
    assert (config.graceful_timeout, config.access_log, config.log_level) == (30, False, "info")


def test_server_config_reads_every_variable():
    config = serve.server_config(
        {
            "LATCHKEY_BIND": "[::]:9000",
            "WEB_CONCURRENCY": "3",
            "LATCHKEY_THREADS": "4",
            "LATCHKEY_GRACEFUL_TIMEOUT": "12",
            "LATCHKEY_ACCESS_LOG": "true",
            "LATCHKEY_SERVER_LOG_LEVEL": "WARNING",
        }
    )

    assert (config.address, config.port, config.workers, config.threads) == ("::", 9000, 3, 4)
    assert (config.graceful_timeout, config.access_log, config.log_level) == (12, True, "warning")
    assert serve.server_config({"LATCHKEY_BIND": "unix:/run/latchkey.sock"}).uds == Path("/run/latchkey.sock")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"LATCHKEY_BIND": "127.0.0.1:8001,127.0.0.1:8002"}, "one address"),
        ({"LATCHKEY_BIND": "localhost"}, "host:port or unix:/path"),
        ({"LATCHKEY_THREADS": "0"}, "LATCHKEY_THREADS must be at least 1"),
        ({"WEB_CONCURRENCY": "many"}, "WEB_CONCURRENCY must be a whole number"),
    ],
)
def test_server_config_with_a_bad_value_is_refused(environ, message):
    with pytest.raises(serve.ConfigurationError, match=message):
        serve.server_config(environ)


def test_granian_logs_through_the_json_handler_with_redaction():
    config = serve.logging_config(LOGGING)

    for name in ("_granian", "granian.access"):
        assert config["loggers"][name]["handlers"] == [] and config["loggers"][name]["propagate"] is True
    assert config["root"] == LOGGING["root"]
    assert "redact" in config["handlers"]["console"]["filters"]
    assert "query_string" not in serve.ACCESS_LOG_FORMAT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def server_env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    """Production settings (DEBUG off, JSON logs) against a SQLite file of this test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "LATCHKEY_", "LOG_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="k" + os.urandom(40).hex(),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        LATCHKEY_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
        LATCHKEY_THREADS="2",
        **extra,
    )
    return env


def healthz_over_unix_socket(path: Path) -> int:
    """GET /healthz through a Unix socket (what a proxy on the same host does): the status code."""
    with socket.socket(socket.AF_UNIX) as client:
        client.settimeout(10)
        client.connect(str(path))
        client.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1]) if answer else 0


@contextlib.contextmanager
def running_server(env: dict[str, str], log_path: Path):
    """`python -m config.serve` until it answers /healthz; its process group (workers included) killed
    afterwards if the test left it running."""
    bind = env["LATCHKEY_BIND"]
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "config.serve"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            with contextlib.suppress(OSError):
                if bind.startswith("unix:"):
                    healthz_over_unix_socket(Path(bind.removeprefix("unix:")))
                else:
                    requests.get(f"http://{bind}/healthz", timeout=5)
                break
            time.sleep(0.2)
        yield server, f"http://{bind}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def test_the_production_server_answers_logs_json_per_request_and_stops_on_sigterm(tmp_path):
    env = server_env(tmp_path, free_port(), LATCHKEY_ACCESS_LOG="true", PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "m"))
    log_path = tmp_path / "server.log"
    with running_server(env, log_path) as (server, base):
        response = requests.get(f"{base}/healthz?code=never-logged-code", timeout=5)
        assert response.status_code == 200 and response.json() == {"status": "ok"}
        request_id = response.headers["X-Request-ID"]

        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=40) == 0

    output = log_path.read_text()
    lines = json_lines(output)
    assert "never-logged-code" not in output
    # Latchkey's own request line (the access log), with the request id the client got back
    line = next(line for line in lines if line["logger"] == "latchkey.request" and line["request_id"] == request_id)
    assert (line["path"], line["status"]) == ("/healthz", 200)
    assert len([line for line in lines if line["logger"] == "latchkey.request"]) == 2  # the probe's and this one
    # granian's own access line and its messages are JSON through the same handler too
    access = [line["message"] for line in lines if line["logger"] == "granian.access"]
    assert len(access) == 2 and all('"GET /healthz HTTP/1.1" 200' in message for message in access)
    messages = [line["message"] for line in lines if line["logger"].startswith("_granian")]
    assert "latchkey: 1 worker(s) × 2 thread(s) = at most 2 database connections" in messages
    assert "Granian shutdown completed, see ya!" in messages
    # the workers stopped with it, and the metrics directory given was kept for the next start
    workers = [int(pid) for pid in re.findall(r"Spawning worker-\d+ with PID: (\d+)", output)]
    assert workers and not any(pid_alive(pid) for pid in workers)
    assert (tmp_path / "m").is_dir()


def test_sighup_on_a_unix_socket_replaces_the_workers_while_every_request_is_answered(tmp_path):
    """On a Unix socket every worker accepts from one listening socket, so replacing one drops nothing.

    (On TCP, Linux gives each worker its own socket: without `net.ipv4.tcp_migrate_req=1` the
    connections queued on the old worker's are reset; the README says so.)
    """
    sock, log_path = tmp_path / "latchkey.sock", tmp_path / "server.log"
    env = server_env(tmp_path, 0) | {"LATCHKEY_BIND": f"unix:{sock}"}
    with running_server(env, log_path) as (server, _):
        server.send_signal(signal.SIGHUP)
        statuses, deadline = [], time.monotonic() + 30
        while "Stopped old worker-1" not in log_path.read_text():
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            statuses.append(healthz_over_unix_socket(sock))
            time.sleep(0.02)
        statuses.append(healthz_over_unix_socket(sock))
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=40)

    assert set(statuses) == {200} and len(statuses) > 10
    assert len(re.findall(r"Spawning worker-1 with PID", log_path.read_text())) == 2
