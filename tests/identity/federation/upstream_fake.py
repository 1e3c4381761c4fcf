"""A recorded upstream: answers the guarded HTTP layer (config.outbound.fetch) from JSON fixtures."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt

from config import outbound

FIXTURES = Path(__file__).parent / "upstream"


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


def unsigned_id_token(claims: dict) -> str:
    """An ID token as the token endpoint returns it (its signature is not checked when it came over TLS
    straight from the token endpoint, OIDC Core §3.1.3.7, which is how allauth reads it)."""
    return jwt.encode({"exp": int(time.time()) + 300, "iat": int(time.time()), **claims}, "k" * 32, algorithm="HS256")


class Upstream:
    """Routes (METHOD, URL without query) to (status, body); records every request it was sent."""

    def __init__(self, routes: dict[tuple[str, str], object]) -> None:
        self.routes = routes
        self.calls: list[tuple[str, str, dict, object]] = []

    def fetch(self, method, url, *, headers=None, data=None):
        self.calls.append((method, url, dict(headers or {}), data))
        key = (method.upper(), url.split("?")[0])
        if key not in self.routes:
            raise outbound.OutboundUnavailable(f"no route for {key}", url=url)
        answer = self.routes[key]
        if isinstance(answer, Exception):
            raise answer
        status, body = answer if isinstance(answer, tuple) else (200, answer)
        content = json.dumps(body).encode()
        return outbound.OutboundResponse(
            status_code=status, url=url, headers={"Content-Type": "application/json"}, content=content
        )

    def form_of(self, url: str) -> dict[str, str]:
        """The form body sent to `url` (the token request)."""
        for method, called, _headers, data in self.calls:
            if called.split("?")[0] == url and method == "POST":
                body = data.decode() if isinstance(data, bytes) else data
                return {k: v[0] for k, v in parse_qs(body).items()}
        raise AssertionError(f"nothing was POSTed to {url}")


def state_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["state"][0]


def next_for(application) -> str:
    query = {
        "client_id": application.client_id,
        "response_type": "code",
        "redirect_uri": application.redirect_uri_list[0],
        "scope": "openid",
    }
    return "/oauth/authorize?" + urlencode(query)
