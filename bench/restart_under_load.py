"""Restart PostgreSQL under client-credentials load and count what clients saw.

    .venv/bin/python -m bench.restart_under_load --database-url postgres://postgres@127.0.0.1:5432/latchkey_scratch

Migrates the database it is given (use a scratch one: an m2m application and its tokens are added),
starts the production server (config/serve.py: granian, persistent connections) on 127.0.0.1, runs `--clients` threads
asking /oauth/token for client-credentials tokens for `--duration` seconds, runs `--restart-command`
(by default `pg_ctlcluster --skip-systemctl-redirect <version> main restart`) a third of the way in,
then introspects every token issued and reports:

  issued     200 answers with an access token
  failed     every other answer, by kind: 503 temporarily_unavailable JSON (what a client should see
             while the database restarts), other JSON, HTML (a client library cannot read it), no answer
  late       failures that began after the restart command had returned (the database was back)
  lost       issued tokens that no longer introspect active afterwards (nothing committed may be lost)

Loopback only: the server binds 127.0.0.1 and the database must be on this machine (a loopback host
or a Unix socket), since the command restarts the local server. The restart interrupts everyone using
that PostgreSQL server: keep runs short and rare. Exits 1 if any answer was HTML, late or lost.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOOPBACK = {"127.0.0.1", "localhost", "::1", ""}
MAX_DURATION = 120
SCOPE = "restart:probe"


def log(message: str) -> None:
    print(f"[restart {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="a scratch database")
    parser.add_argument(
        "--duration", type=float, default=30.0, help=f"seconds of load (default 30, max {MAX_DURATION})"
    )
    parser.add_argument("--clients", type=int, default=6, help="parallel clients (default 6)")
    parser.add_argument("--workers", type=int, default=4, help="server worker processes (default 4)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    parser.add_argument("--port", type=int, default=18290, help="the server's port on 127.0.0.1 (default 18290)")
    parser.add_argument("--restart-at", type=float, default=None, help="seconds into the load (default a third)")
    parser.add_argument(
        "--restart-command",
        default=None,
        help="default: pg_ctlcluster --skip-systemctl-redirect <the server's major version> main restart",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--server-log", type=Path, default=None, help="keep the server's log (its WARNING lines) here")
    options = parser.parse_args(argv)
    if not options.database_url:
        parser.error("--database-url (or DATABASE_URL) is required")
    host = urlsplit(options.database_url).hostname or ""
    if host not in LOOPBACK and not host.startswith("/"):
        parser.error(f"the database must be on this machine (loopback or a Unix socket), not {host!r}")
    if not 0 < options.duration <= MAX_DURATION:
        parser.error(f"--duration must be between 0 and {MAX_DURATION} seconds")
    if options.restart_at is None:
        options.restart_at = options.duration / 3
    return options


# --- the server ------------------------------------------------------------------------------------


def server_env(options: argparse.Namespace) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": options.database_url,
        "DATABASE_CONN_MAX_AGE": "60",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "LATCHKEY_ISSUER": f"http://127.0.0.1:{options.port}",
        "LATCHKEY_BIND": f"127.0.0.1:{options.port}",
        "WEB_CONCURRENCY": str(options.workers),
        "LATCHKEY_THREADS": str(options.threads),
        "LOG_FORMAT": "json",
        "LATCHKEY_LOG_LEVEL": "WARNING",  # the failures, not a line per request
        "PYTHONPATH": str(ROOT),
    }


def manage(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"[restart] manage.py {' '.join(args[:2])} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def prepare(env: dict) -> tuple[str, str]:
    """Migrations, a scope and an m2m application of this run; its client_id and secret."""
    manage(env, "migrate", "--noinput", "-v", "0")
    run = secrets.token_hex(4)
    manage(env, "resource", "create", "--identifier", f"https://restart-{run}.invalid", "--name", f"Restart {run}",
           "--scope", f"{SCOPE}-{run}=Restart probe")  # fmt: skip
    app = json.loads(
        manage(
            env,
            "app",
            "create",
            "--name",
            f"Restart probe {run}",
            "--type",
            "m2m",
            "--scope",
            f"{SCOPE}-{run}",
            "--json",
        )  # fmt: skip
    )
    return app["client_id"], app["client_secret"]


def start_server(env: dict, port: int, logfile: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "config.serve"]
    handle = logfile.open("w")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"[restart] the server exited:\n{logfile.read_text()}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except requests.RequestException:
            pass
        time.sleep(0.25)
    process.terminate()
    sys.exit(f"[restart] the server did not get ready within 60 s:\n{logfile.read_text()}")


def stop_server(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def default_restart_command(database_url: str) -> list[str]:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version.split(".")[0], "main", "restart"]


# --- the load --------------------------------------------------------------------------------------


@dataclass
class Tally:
    tokens: list[str] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)
    late: Counter = field(default_factory=Counter)
    first_failure: float | None = None
    last_failure: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def kind_of(response: requests.Response | None, error: Exception | None) -> str:
    if response is None:
        return f"no answer ({type(error).__name__})"
    content_type = response.headers.get("Content-Type", "")
    if content_type.startswith("application/json"):
        try:
            code = response.json().get("error", "?")
        except ValueError:
            code = "unparsable"
        retry = ", Retry-After" if response.status_code == 503 and response.headers.get("Retry-After") else ""
        return f"{response.status_code} JSON {code}{retry}"
    if content_type.startswith("text/html"):
        return f"{response.status_code} HTML"
    return f"{response.status_code} {content_type or 'no Content-Type'}"


def client_loop(url: str, auth: tuple[str, str], stop_at: float, tally: Tally, restarted: dict) -> None:
    session = requests.Session()
    while time.monotonic() < stop_at:
        response = error = None
        try:
            response = session.post(url, data={"grant_type": "client_credentials"}, auth=auth, timeout=15)
        except requests.RequestException as exc:
            error = exc
            session = requests.Session()
        now = time.monotonic()
        with tally.lock:
            if response is not None and response.status_code == 200:
                tally.tokens.append(response.json()["access_token"])
                continue
            kind = kind_of(response, error)
            tally.failures[kind] += 1
            tally.first_failure = tally.first_failure or now
            tally.last_failure = now
            if restarted.get("done") is not None and now > restarted["done"]:
                tally.late[kind] += 1
        time.sleep(0.05)  # a failing client backs off a little instead of spinning


def restart_later(command: list[str], delay: float, restarted: dict) -> None:
    time.sleep(delay)
    restarted["start"] = time.monotonic()
    log(f"restarting: {shlex.join(command)}")
    done = subprocess.run(command, capture_output=True, text=True, timeout=90)
    restarted["done"] = time.monotonic()
    restarted["returncode"] = done.returncode
    log(f"restart returned {done.returncode} after {restarted['done'] - restarted['start']:.1f} s "
        f"{done.stderr.strip()[:200]}")  # fmt: skip


def lost_tokens(base: str, auth: tuple[str, str], tokens: list[str], clients: int) -> tuple[int, Counter]:
    """Introspect every issued token (retrying a non-200 a few times): those not active are lost."""

    def active(token: str) -> bool | str:
        for _ in range(5):
            try:
                response = requests.post(f"{base}/oauth/introspect", data={"token": token}, auth=auth, timeout=15)
            except requests.RequestException:
                time.sleep(0.5)
                continue
            if response.status_code == 200:
                return bool(response.json().get("active"))
            time.sleep(0.5)
        return "unanswered"

    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = Counter(pool.map(active, tokens))
    return results[False], results


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    command = shlex.split(options.restart_command) if options.restart_command else None
    command = command or default_restart_command(options.database_url)
    env = server_env(options)
    base = f"http://127.0.0.1:{options.port}"
    log("migrating and registering a client")
    auth = prepare(env)
    with tempfile.TemporaryDirectory(prefix="latchkey-restart-") as tmp:
        logfile = Path(tmp) / "server.log"
        process = start_server(env, options.port, logfile)
        try:
            tally, restarted = Tally(), {}
            log(f"{options.clients} clients for {options.duration:.0f} s, restart at {options.restart_at:.0f} s")
            started = time.monotonic()
            stop_at = started + options.duration
            restarter = threading.Thread(target=restart_later, args=(command, options.restart_at, restarted))
            restarter.start()
            with ThreadPoolExecutor(max_workers=options.clients) as pool:
                for _ in range(options.clients):
                    pool.submit(client_loop, f"{base}/oauth/token", auth, stop_at, tally, restarted)
            restarter.join()
            log(f"introspecting {len(tally.tokens)} tokens")
            lost, introspected = lost_tokens(base, auth, tally.tokens, options.clients)
        finally:
            stop_server(process)
        server_log = logfile.read_text()
    if options.server_log:
        options.server_log.write_text(server_log)
    failed = sum(tally.failures.values())
    figures = {
        "duration_s": options.duration,
        "clients": options.clients,
        "workers": options.workers,
        "threads": options.threads,
        "restart_command": shlex.join(command),
        "restart_returncode": restarted.get("returncode"),
        "restart_seconds": round(restarted["done"] - restarted["start"], 2) if "done" in restarted else None,
        "issued": len(tally.tokens),
        "failed": failed,
        "failed_by_kind": dict(tally.failures),
        "late": sum(tally.late.values()),
        "late_by_kind": dict(tally.late),
        "failure_window_s": round(tally.last_failure - tally.first_failure, 2) if failed else 0,
        "failures_began_after_restart_start_s": (
            round(tally.first_failure - restarted["start"], 2) if failed and "start" in restarted else None
        ),
        "lost": lost,
        "introspection": {str(k): v for k, v in introspected.items()},
        "server_tracebacks": sum(1 for line in server_log.splitlines() if '"exc_info"' in line),
    }
    print(json.dumps(figures, indent=2))
    if options.json:
        options.json.write_text(json.dumps(figures, indent=2) + "\n")
    html = sum(n for kind, n in tally.failures.items() if "HTML" in kind)
    return 1 if html or figures["late"] or lost or restarted.get("returncode") else 0


if __name__ == "__main__":
    sys.exit(main())
