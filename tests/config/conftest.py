"""Dependencies that fail the way an operator sees them: a cache at a closed port, a cache that never answers."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

# Nothing listens on port 1 of the loopback: a connection is refused at once.
CLOSED_PORT_CACHE_URL = "redis://127.0.0.1:1/0"


@pytest.fixture
def silent_listener() -> Iterator[tuple[str, int]]:
    """A TCP server that accepts every connection and never answers: a hung Redis, as a client sees it."""
    server = socket.create_server(("127.0.0.1", 0), backlog=64)
    server.settimeout(0.1)  # the loop notices the end of the test
    held: list[socket.socket] = []
    stopping = threading.Event()

    def accept_and_hold() -> None:
        while not stopping.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(connection)

    thread = threading.Thread(target=accept_and_hold, daemon=True)
    thread.start()
    yield server.getsockname()
    stopping.set()
    thread.join(timeout=2)
    server.close()
    for connection in held:
        connection.close()


@pytest.fixture
def silent_cache_url(silent_listener) -> str:
    host, port = silent_listener
    return f"redis://{host}:{port}/0"
