"""The production server: granian serving `config.wsgi:application`, configured from the environment.

    .venv/bin/python -m config.serve          # what `make serve` and a supervisor (systemd, a container) run

Why granian: on one core it serves a Django view about twice as fast as gunicorn's gthread workers,
a bare WSGI function three to seven times as fast, Latchkey's discovery and JWKS 1.5-1.8 times
(docs/benchmarks.md, "Fifth round"); its HTTP work is done in Rust threads, outside the GIL. What an
operator tunes comes from the environment:

  LATCHKEY_BIND               one address: 127.0.0.1:8000 (default), 0.0.0.0:8000, [::]:8000, unix:/run/latchkey.sock
  WEB_CONCURRENCY             worker processes (default: the CPU count, granian's advice)
  LATCHKEY_THREADS            Python threads per worker (granian's WSGI "blocking threads", default 8)
  LATCHKEY_GRACEFUL_TIMEOUT   seconds a stopping worker gets to finish its requests before it is killed (30)
  LATCHKEY_ACCESS_LOG         true: granian's own access line too (default off: Latchkey logs each request)
  LATCHKEY_SERVER_LOG_LEVEL   granian's own messages: debug, info (default), warning, error
  PROMETHEUS_MULTIPROC_DIR    where the workers' metric files go (default: a private temporary directory)

Every thread of a worker holds its own persistent database connection, so one server opens at most
WEB_CONCURRENCY × LATCHKEY_THREADS connections to PostgreSQL: keep that, summed over the app servers
plus the events worker and the commands you run, under PostgreSQL's `max_connections` (100 by default).
Granian's own default would be 512 threads per worker.

Granian has no request timeout: DATABASE_STATEMENT_TIMEOUT, DATABASE_CONNECT_TIMEOUT and the cache
timeouts bound every wait a request can make (config/settings/base.py).

Signals: SIGTERM or SIGINT stops the server (each worker finishes the requests in flight, for at most
LATCHKEY_GRACEFUL_TIMEOUT seconds); SIGHUP replaces the workers one by one with fresh ones, which load
the code and templates from disk again (a release without dropping the listening socket). Workers are
started with `spawn`, not `fork`, so the main process never holds application modules a new worker
would inherit instead of the new code.
"""

from __future__ import annotations

import copy
import glob
import multiprocessing
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

TARGET = "config.wsgi:application"
DEFAULT_BIND = "127.0.0.1:8000"
DEFAULT_THREADS = 8
DEFAULT_GRACEFUL_TIMEOUT = 30
_METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# Granian's access line, without the query string (it can carry codes and tokens); JSON through our formatter.
ACCESS_LOG_FORMAT = '%(addr)s "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).2fms'


@dataclass(frozen=True)
class ServerConfig:
    address: str | None
    port: int
    uds: Path | None
    workers: int
    threads: int
    graceful_timeout: int
    access_log: bool
    log_level: str


class ConfigurationError(ValueError):
    pass


def _positive(environ: dict[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise ConfigurationError(f"{name} must be at least 1, not {value}")
    return value


def parse_bind(bind: str) -> tuple[str | None, int, Path | None]:
    """(host, port, None) for host:port or [v6]:port; (None, 0, path) for unix:/path."""
    bind = bind.strip()
    if "," in bind:
        raise ConfigurationError("LATCHKEY_BIND takes one address (granian listens on one); run a server per address")
    if bind.startswith("unix:"):
        return None, 0, Path(bind.removeprefix("unix:"))
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigurationError(f"LATCHKEY_BIND must be host:port or unix:/path, not {bind!r}")
    return host.strip("[]"), int(port), None


def server_config(environ: dict[str, str] | None = None) -> ServerConfig:
    environ = os.environ if environ is None else environ
    address, port, uds = parse_bind(environ.get("LATCHKEY_BIND") or DEFAULT_BIND)
    return ServerConfig(
        address=address,
        port=port,
        uds=uds,
        workers=_positive(environ, "WEB_CONCURRENCY", os.cpu_count() or 1),
        threads=_positive(environ, "LATCHKEY_THREADS", DEFAULT_THREADS),
        graceful_timeout=_positive(environ, "LATCHKEY_GRACEFUL_TIMEOUT", DEFAULT_GRACEFUL_TIMEOUT),
        access_log=environ.get("LATCHKEY_ACCESS_LOG", "").strip().lower() in ("1", "true", "yes", "on"),
        log_level=(environ.get("LATCHKEY_SERVER_LOG_LEVEL") or "info").strip().lower(),
    )


def logging_config(django_logging: dict) -> dict:
    """Django's LOGGING with granian's two loggers sent to the same handler (JSON, request id, redaction).

    Granian applies it in the main process and again in each worker before the application loads.
    """
    config = copy.deepcopy(django_logging)
    loggers = config.setdefault("loggers", {})
    loggers["_granian"] = {"handlers": [], "propagate": True}  # granian sets the level (LATCHKEY_SERVER_LOG_LEVEL)
    loggers["granian.access"] = {"handlers": [], "level": "INFO", "propagate": True}
    return config


def _metrics_directory() -> str | None:
    """Give the workers one directory for their metric files, empty at start; the one we made, to remove.

    Without it each worker would count alone and /metrics would show whichever worker answered. A
    directory set by the operator is emptied of the last run's files (Prometheus sees a counter reset,
    as after any restart). Our metrics are counters and histograms only, so a worker that exits needs no
    `mark_process_dead` (that drops live gauges): its counts stay counted.
    """
    directory = os.environ.get(_METRICS_DIR_VARIABLE)
    if directory:
        os.makedirs(directory, exist_ok=True)
        for stale in glob.glob(os.path.join(directory, "*.db")):
            os.remove(stale)
        return None
    directory = tempfile.mkdtemp(prefix="latchkey-metrics-")
    os.environ[_METRICS_DIR_VARIABLE] = directory
    return directory


def build_server(config: ServerConfig):
    from django.conf import settings
    from granian import Granian
    from granian.constants import Interfaces

    return Granian(
        TARGET,
        address=config.address or "127.0.0.1",
        port=config.port,
        uds=config.uds,
        interface=Interfaces.WSGI,
        workers=config.workers,
        blocking_threads=config.threads,
        runtime_threads=1,  # network I/O in Rust; granian's advice: more helps HTTP/2 and websockets only
        workers_kill_timeout=config.graceful_timeout,
        respawn_failed_workers=True,  # a worker that dies unexpectedly is replaced, as gunicorn did
        log_level=config.log_level,
        log_dictconfig=logging_config(settings.LOGGING),
        log_access=config.access_log,
        log_access_format=ACCESS_LOG_FORMAT,
    )


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    try:
        config = server_config()
    except ConfigurationError as error:
        print(f"config.serve: {error}", file=sys.stderr)
        return 2
    # A fresh interpreter per worker: SIGHUP's new workers load the new code, and nothing the main
    # process imported (settings, to read LOGGING) leaks into them. Granian supports fork and spawn.
    multiprocessing.set_start_method("spawn", force=True)
    created = _metrics_directory()
    try:
        server = build_server(config)  # imports the settings: a missing DJANGO_SECRET_KEY fails here, once
        from granian.server.common import logger

        logger.info(
            "latchkey: %s worker(s) × %s thread(s) = at most %s database connections",
            config.workers,
            config.threads,
            config.workers * config.threads,
        )
        server.serve()
    finally:
        if created:
            shutil.rmtree(created, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
