"""gunicorn settings for Latchkey: `gunicorn -c gunicorn.conf.py` (what `make serve` runs).

Everything an operator tunes comes from the environment: LATCHKEY_BIND, WEB_CONCURRENCY,
GUNICORN_TIMEOUT, GUNICORN_ACCESS_LOG, PROMETHEUS_MULTIPROC_DIR (see README, "Running in production").
Sync workers: each handles one request at a time with its own persistent database connection.
"""

from __future__ import annotations

import glob
import multiprocessing
import os
import shutil
import tempfile

wsgi_app = "config.wsgi:application"
proc_name = "latchkey"

# Comma-separated addresses: 127.0.0.1:8000, 0.0.0.0:8000, unix:/run/latchkey.sock
bind = [address.strip() for address in os.environ.get("LATCHKEY_BIND", "127.0.0.1:8000").split(",") if address]

# 2 × CPU + 1 (gunicorn's advice for sync workers), at most 16: each worker holds a database connection.
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * multiprocessing.cpu_count() + 1, 16))
worker_class = "sync"
# Not preloaded: each worker imports the app after fork, so it opens its own database connections and
# prometheus_client sees PROMETHEUS_MULTIPROC_DIR (set in on_starting) before it creates any metric.
preload_app = False

# A request taking longer than this is killed (the worker restarts); on SIGTERM, workers get
# graceful_timeout seconds to finish the requests in flight.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5  # seconds an idle keep-alive connection from the proxy stays open

# Latchkey writes its own JSON line per request (config.logs); gunicorn's access log is off unless
# GUNICORN_ACCESS_LOG names a file or "-". Its error log (start, stop, worker deaths) goes to stderr.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# gunicorn's control socket (gunicornc) defaults to one path per user, which two servers on one host would
# fight over: off unless GUNICORN_CONTROL_SOCKET names a path.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]

# Worker heartbeats in memory rather than on a (possibly slow, container overlay) disk; gunicorn creates
# its files there with mkstemp.
if os.path.isdir("/dev/shm"):  # noqa: S108
    worker_tmp_dir = "/dev/shm"  # noqa: S108

_METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
_created_metrics_dir: list[str] = []


def on_starting(server) -> None:
    """Give the workers one directory for their metric files, empty at start.

    Without PROMETHEUS_MULTIPROC_DIR each worker would count alone, and /metrics would show whichever
    worker answered. A directory given by the operator is emptied of the last run's files (Prometheus
    sees a counter reset, as after any restart); otherwise a private temporary one is made.
    """
    directory = os.environ.get(_METRICS_DIR_VARIABLE)
    if directory:
        os.makedirs(directory, exist_ok=True)
        for stale in glob.glob(os.path.join(directory, "*.db")):
            os.remove(stale)
    else:
        directory = tempfile.mkdtemp(prefix="latchkey-metrics-")
        _created_metrics_dir.append(directory)
        os.environ[_METRICS_DIR_VARIABLE] = directory
    server.log.info("prometheus metrics directory: %s", directory)


def child_exit(server, worker) -> None:
    """A worker died or was replaced: drop its live-gauge files (its counters stay counted)."""
    from prometheus_client import multiprocess  # after on_starting set the directory

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    for directory in _created_metrics_dir:
        shutil.rmtree(directory, ignore_errors=True)
