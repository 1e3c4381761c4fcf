"""A real webhook receiver: an HTTP server on 127.0.0.1 that verifies every request it gets."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: dict | None  # the parsed body when a secret verified it
    error: str = ""


@dataclass
class Receiver:
    """Answers `statuses` in turn (then `default_status`); `hang` holds each answer until released."""

    secrets: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    default_status: int = 200
    location: str = ""
    requests: list[Received] = field(default_factory=list)
    connections: int = 0
    hang: threading.Event | None = None
    hanging: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def ids(self) -> list[str]:
        return [r.headers.get("webhook-id", "") for r in self.requests]

    def verify(self, body: bytes, headers: dict[str, str]) -> tuple[dict | None, str]:
        error = "no secret"
        for secret in self.secrets:
            try:
                return StandardWebhook(secret).verify(body, headers), ""
            except WebhookVerificationError as exc:
                error = str(exc)
        return None, error


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def get_request(self):
        self.receiver.connections += 1
        return super().get_request()


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        receiver: Receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {k.lower(): v for k, v in self.headers.items()}
        verified, error = receiver.verify(body, headers)
        receiver.requests.append(Received(self.path, headers, body, verified, error))
        if receiver.hang is not None:
            receiver.hanging.set()
            receiver.hang.wait(60)
        status = receiver.statuses.pop(0) if receiver.statuses else receiver.default_status
        self.send_response(status)
        if receiver.location:
            self.send_header("Location", receiver.location)
        answer = f"answer {status}".encode()
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    settings.LATCHKEY_OUTBOUND_ALLOW_PRIVATE = True
    state = Receiver()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.receiver = state
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    if state.hang is not None:
        state.hang.set()
    server.shutdown()
    server.server_close()
